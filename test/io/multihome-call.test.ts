/**
 * A whole call between two pptp-ts processes with real raw GRE sockets and TUN devices, the server on a
 * multi-homed host (network namespaces, root).
 *
 * The server namespace holds 10.205.0.1 and 10.205.0.3 on one veth and its route to the client prefers 10.205.0.3;
 * `pptp-ts server` listens on 0.0.0.0 with one unbound GRE socket. `pptp-ts connect 10.205.0.1` in the client
 * namespace accepts GRE only from the address it dialled, as pptp-linux does. The call must come up, carry a
 * ping, and every GRE packet reaching the client namespace must come from 10.205.0.1 (a second raw GRE socket
 * there sees a copy of each).
 */
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

import { joinWithVeth, Netns, privilegedSkip, Worker } from "./netns.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const DIALLED = "10.205.0.1";
const PREFERRED = "10.205.0.3";
const CLIENT = "10.205.0.2";

interface Proc {
  child: ChildProcess;
  out: () => string;
}

function run(ns: Netns, args: string[]): Proc {
  const child = spawn("ip", ["netns", "exec", ns.name, process.execPath, CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  return { child, out: () => text };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function stop(p: Proc | undefined): Promise<void> {
  if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise((r) => p.child.once("close", r));
  p.child.kill("SIGTERM");
  const t = setTimeout(() => p.child.kill("SIGKILL"), 5000);
  await gone;
  clearTimeout(t);
}

describe("pptp-ts server on a multi-homed host ← pptp-ts connect (namespaces, real GRE and TUN)", { skip: privilegedSkip("a multi-homed server and client in network namespaces") }, () => {
  let server: Netns;
  let client: Netns;
  let dir: string;
  before(() => {
    server = Netns.create();
    client = Netns.create();
    joinWithVeth(server, DIALLED, client, CLIENT, 24);
    const dev = server.ip("-o", "addr", "show", "to", DIALLED).split(/\s+/)[1];
    server.ip("addr", "add", `${PREFERRED}/24`, "dev", dev);
    server.ip("route", "add", `${CLIENT}/32`, "dev", dev, "src", PREFERRED);
    dir = mkdtempSync(join(tmpdir(), "pptpts-multihome-call-"));
    writeFileSync(
      join(dir, "pptp-ts.conf"),
      "[server]\nlisten = 0.0.0.0\ntun-name = mhsrv0\n[ppp]\nlocal-address = 192.168.77.1\npool = 192.168.77.10-192.168.77.20\nusers = chap-secrets\n[log]\ndebug = events, errors\n",
    );
    writeFileSync(join(dir, "chap-secrets"), "alice * pw-multihome *\n");
    writeFileSync(join(dir, "pw"), "pw-multihome\n");
  });
  after(() => {
    server?.destroy();
    client?.destroy();
  });

  test("the call dialled to one address comes up and every GRE packet the client sees comes from that address", async () => {
    assert.match(server.ip("-o", "route", "get", CLIENT), new RegExp(`src ${PREFERRED.replace(/\./g, "\\.")}\\b`), "the kernel prefers the other address");
    let srv: Proc | undefined;
    let cli: Proc | undefined;
    const observer = new Worker(client, "gre-observe", { expect: 20 });
    try {
      await observer.waitFor("ready", 10000);
      srv = run(server, ["server", "-c", join(dir, "pptp-ts.conf")]);
      assert.ok(await until(() => /listening on/.test(srv!.out()), 10000), `server did not start:\n${srv.out()}`);
      cli = run(client, ["connect", DIALLED, "--user", "alice", "--password-file", join(dir, "pw"), "--tun-name", "mhcli0", "--max-failures", "1"]);
      const up = await until(() => /connected to/.test(cli!.out()) || cli!.child.exitCode !== null, 20000);
      const logs = `client:\n${cli.out()}\nserver:\n${srv.out()}`;
      assert.ok(up && /connected to 10\.205\.0\.1/.test(cli.out()), `the call did not come up\n${logs}`);
      const ping = execFileSync("ip", ["netns", "exec", client.name, "ping", "-c", "2", "-W", "3", "192.168.77.1"], { encoding: "utf8" });
      assert.match(ping, /2 packets transmitted, 2 received/, logs);
      const exit = await observer.exit(15000);
      const seen = (exit.messages.find((m) => m.event === "result") as unknown as { seen: { src: string; dst: string }[] }).seen;
      assert.ok(seen.length >= 10, `GRE packets seen in the client namespace: ${seen.length}\n${logs}`);
      assert.deepEqual([...new Set(seen.map((s) => `${s.src}>${s.dst}`))], [`${DIALLED}>${CLIENT}`], logs);
    } finally {
      observer.kill();
      await stop(cli);
      await stop(srv);
    }
  });
});
