/**
 * `pptp-ts capture` end to end (root: network namespaces, TUN, raw GRE; tshark): `pptp-ts server -c FILE` in one
 * namespace, two `pptp-ts connect` clients (alice, bob) in another, joined by a veth. While both ping the server's
 * tunnel address, `pptp-ts capture user alice -w X.pcap --count 6` writes a file in which tshark finds alice's three
 * echo requests and three replies with the tunnel addresses, and nothing of bob's; with --control the server's
 * LCP Echo-Requests and the client's replies are there. And the command refuses what it must: an existing file
 * (without --force), a symbolic link, a user other than root.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, statSync, symlinkSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Netns, joinWithVeth, privilegedSkip } from "../io/netns.js";
import { requireOrSkip, tsharkMissing } from "../support/prerequisites.js";
import { CLI, startServer, dialUp, stop, until, type Proc, type Dialled } from "../runtime/aaa-support.js";

const SERVER = "10.207.0.1";
const CLIENT = "10.207.0.2";
const LOCAL = "192.168.81.1";

const skip = privilegedSkip("the pptp-ts server and clients in network namespaces") || requireOrSkip("tshark", tsharkMissing());

/** Runs `pptp-ts capture ...` (in the host namespace: the control socket is a file) and resolves when it exits. */
function capture(args: readonly string[]): { out: () => string; exited: Promise<number | null>; kill: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [CLI, "capture", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr.on("data", (d: Buffer) => (text += d.toString()));
  return { out: () => text, exited: new Promise((r) => child.once("close", (code) => r(code))), kill: (sig) => child.kill(sig) };
}

function tshark(file: string, ...args: string[]): string {
  return execFileSync("tshark", ["-r", file, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

/** `count` pings from `ns` through the TUN device `dev` (bound to it: both clients' TUNs lead to LOCAL). */
function ping(ns: Netns, dev: string, count: number): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn("ip", ["netns", "exec", ns.name, "ping", "-n", "-I", dev, "-c", String(count), "-i", "0.3", "-W", "2", LOCAL], { stdio: ["ignore", "pipe", "pipe"] });
    let t = "";
    p.stdout.on("data", (d: Buffer) => (t += d.toString()));
    p.stderr.on("data", (d: Buffer) => (t += d.toString()));
    p.once("close", () => resolve(t));
  });
}

describe("pptp-ts capture against a running server (namespaces, tshark)", { skip, timeout: 120_000 }, () => {
  let sns: Netns;
  let cns: Netns;
  let dir: string;
  let sock: string;
  let server: Proc | undefined;
  let alice: Dialled;
  let bob: Dialled;

  before(async () => {
    sns = Netns.create();
    cns = Netns.create();
    joinWithVeth(sns, SERVER, cns, CLIENT, 24);
    for (const k of ["all", "default"]) execFileSync("ip", ["netns", "exec", cns.name, "sysctl", "-qw", `net.ipv6.conf.${k}.disable_ipv6=1`]);
    dir = mkdtempSync(join(tmpdir(), "pptpts-capture-"));
    chmodSync(dir, 0o755);
    sock = join(dir, "ctl.sock");
    writeFileSync(join(dir, "chap-secrets"), "alice * alice-pw *\nbob * bob-pw *\n", { mode: 0o600 });
    const conf = [
      "[server]",
      `listen = ${SERVER}`,
      "tun-name = caps0",
      `control-socket = ${sock}`,
      "[ppp]",
      `local-address = ${LOCAL}`,
      "pool = 192.168.81.10-192.168.81.30",
      `users = ${join(dir, "chap-secrets")}`,
      "[timers]",
      "lcp-echo-interval = 1", // LCP Echo-Requests every second: control frames for --control to show
      "[limits]",
      "auth-delay = 0",
      "",
    ].join("\n");
    server = await startServer(sns, join(dir, "pptp-ts.conf"), conf);
    alice = await dialUp(cns, SERVER, "alice", "alice-pw", server);
    bob = await dialUp(cns, SERVER, "bob", "bob-pw", server);
  });
  after(async () => {
    await stop(alice?.proc, "SIGKILL");
    await stop(bob?.proc, "SIGKILL");
    await stop(server);
    sns?.destroy();
    cns?.destroy();
  });

  test("--count 6 while alice and bob ping: alice's echo requests and replies with the tunnel addresses, nothing of bob's", async () => {
    const file = join(dir, "alice.pcap");
    const c = capture(["user", "alice", "-w", file, "--count", "6", "--socket", sock]);
    assert.ok(await until(() => /capturing session/.test(c.out()), 10_000), c.out());
    const [pa, pb] = await Promise.all([ping(cns, alice.tun, 3), ping(cns, bob.tun, 3)]);
    assert.match(pa, /3 received/, pa);
    assert.match(pb, /3 received/, pb);
    assert.equal(await c.exited, 0, c.out());
    console.log(`$ pptp-ts capture user alice -w alice.pcap --count 6\n${c.out()}`);
    assert.match(c.out(), new RegExp(`capturing session [0-9A-F]{16} \\(user alice, ${alice.address.replace(/\./g, "\\.")}\\)`));
    assert.match(c.out(), /alice\.pcap: 6 packets, \d+ bytes written; 0 dropped \(this reader fell behind\); stopped: --count reached/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const fields = tshark(file, "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type");
    console.log(`$ tshark -r alice.pcap -T fields -e ip.src -e ip.dst -e icmp.type\n${fields}`);
    const rows = fields.trim().split("\n").map((l) => l.split("\t"));
    assert.deepEqual(rows, [
      [alice.address, LOCAL, "8"],
      [LOCAL, alice.address, "0"],
      [alice.address, LOCAL, "8"],
      [LOCAL, alice.address, "0"],
      [alice.address, LOCAL, "8"],
      [LOCAL, alice.address, "0"],
    ]);
    assert.doesNotMatch(fields, new RegExp(bob.address.replace(/\./g, "\\.")));
    console.log(`$ tshark -r alice.pcap\n${tshark(file)}`);
    // direction: requests came from the client (received), replies went to it (sent)
    assert.deepEqual(tshark(file, "-T", "fields", "-e", "frame.p2p_dir").trim().split("\n"), ["1", "0", "1", "0", "1", "0"]);
  });

  test("Ctrl-C: the server ends the capture and its summary still comes; the file is complete", async () => {
    const file = join(dir, "ctrl-c.pcap");
    const c = capture(["address", alice.address, "-w", file, "--socket", sock]);
    assert.ok(await until(() => /capturing session/.test(c.out()), 10_000), c.out());
    assert.match(await ping(cns, alice.tun, 2), /2 received/);
    c.kill("SIGINT");
    assert.equal(await c.exited, 0, c.out());
    assert.match(c.out(), /ctrl-c\.pcap: 4 packets, \d+ bytes written; 0 dropped \(this reader fell behind\); stopped\n/);
    assert.equal(tshark(file, "-Y", "icmp").trim().split("\n").length, 4);
    assert.match(server!.out(), /user=alice: capture ended \(stopped\): 4 packets/);
  });

  test("--control --seconds 3: the server's LCP Echo-Requests and alice's replies; refused files and users", async () => {
    const file = join(dir, "alice-control.pcap");
    const c = capture(["user", "alice", "-w", file, "--control", "--seconds", "3", "--socket", sock]);
    assert.equal(await c.exited, 0, c.out());
    assert.match(c.out(), /alice-control\.pcap: \d+ packets, \d+ bytes written; 0 dropped .*; stopped: --seconds elapsed/);
    const lcp = tshark(file, "-Y", "lcp", "-T", "fields", "-e", "frame.p2p_dir", "-e", "_ws.col.Info");
    console.log(`$ tshark -r alice-control.pcap -Y lcp -T fields -e frame.p2p_dir -e _ws.col.Info\n${lcp}`);
    assert.match(lcp, /^0\tEcho Request/m, "sent by the server");
    assert.match(lcp, /^1\tEcho Reply/m, "received from alice");

    // an existing file is not overwritten without --force, and stays as it was
    const before = readFileSync(file);
    const again = capture(["user", "alice", "-w", file, "--count", "1", "--socket", sock]);
    assert.equal(await again.exited, 1);
    assert.match(again.out(), /alice-control\.pcap exists: not overwritten \(--force overwrites it\)/);
    assert.deepEqual(readFileSync(file), before);
    // a capture the server refuses leaves a --force target as it was, and creates nothing
    const refused = capture(["user", "carol", "-w", file, "--force", "--socket", sock]);
    assert.equal(await refused.exited, 1);
    assert.match(refused.out(), /no session matches user carol/);
    assert.deepEqual(readFileSync(file), before);
    const none = join(dir, "none.pcap");
    assert.equal(await capture(["user", "carol", "-w", none, "--socket", sock]).exited, 1);
    assert.throws(() => statSync(none), /ENOENT/);
    // never through a symbolic link, even with --force
    const link = join(dir, "link.pcap");
    symlinkSync("/etc/passwd-should-not-be-touched", link);
    const viaLink = capture(["user", "alice", "-w", link, "--force", "--socket", sock]);
    assert.equal(await viaLink.exited, 1);
    assert.match(viaLink.out(), /link\.pcap is a symbolic link: not written through/);
    // root only
    const nobody = spawnSync(process.execPath, [CLI, "capture", "user", "alice", "-w", join(dir, "n.pcap"), "--socket", sock], { uid: 65534, gid: 65534, encoding: "utf8" });
    assert.equal(nobody.status, 1, nobody.stderr);
    assert.match(nobody.stderr, /only root may capture/);
    // a mistyped option gets a suggestion
    const typo = spawnSync(process.execPath, [CLI, "capture", "user", "alice", "-w", join(dir, "t.pcap"), "--cuont", "3"], { encoding: "utf8" });
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /unknown option "--cuont"; did you mean "--count"\?/);
  });
});
