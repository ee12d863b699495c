/**
 * AAA end to end through the real processes (root: network namespaces, TUN, raw GRE): `pptp-ts server -c FILE` in
 * one namespace with Debian's FreeRADIUS on its loopback, `pptp-ts connect` in another, joined by a veth.
 *
 *  - accounting survives kill -9: records spooled while RADIUS accounting is unreachable reach FreeRADIUS's detail
 *    file exactly once, in order, with Acct-Delay-Time counting the wait, after a restart on the same spool; then a
 *    clean session's Stop carries the octets the client's TUN counted and Acct-Terminate-Cause User-Request;
 *  - RADIUS reply attributes: Framed-IP-Address, Framed-Pool → [pools], Framed-Route, Session-Timeout;
 *  - failures: wrong password → 691 at the client; RADIUS unreachable with "radius, local" → the local user gets
 *    in, logged; with "radius" alone → refused within the configured deadline;
 *  - RFC 5176 with radclient: Disconnect-Request by User-Name (ACK, session ends), unknown user (NAK, Error-Cause
 *    503), CoA-Request with Session-Timeout (CoA-ACK, the session ends then).
 *
 * Acct-Interim-Update is not covered here: the server sends one at most every 60 s whatever RADIUS asks (a floor
 * for Acct-Interim-Interval as for the config key), which does not fit a test of seconds: the floor is pinned in
 * test/server/accounting-hooks.test.ts, the Interim-Update through the server in test/runtime/server-aaa.test.ts.
 */
import { test, describe, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Netns, joinWithVeth, privilegedSkip } from "../io/netns.js";
import { requireOrSkip } from "../support/prerequisites.js";
import { freeradiusMissing, startFreeRadius, freeUdpPortPair, type FreeRadius } from "../support/freeradius.js";
import { startServer, dial, dialUp, until, stop, tunCounters, pingFrom, detailRecords, radclient, radclientMissing, type Proc } from "./aaa-support.js";

const SERVER = "10.206.0.1";
const CLIENT = "10.206.0.2";
const SECRET = "aaa-cli-secret";
const DAS_SECRET = "aaa-cli-das";
const LOCAL = "192.168.78.1";

const skip =
  privilegedSkip("the pptp-ts server and client processes in network namespaces") ||
  requireOrSkip("FreeRADIUS", freeradiusMissing()) ||
  requireOrSkip("radclient", radclientMissing());

describe("AAA through the real pptp-ts processes and FreeRADIUS (namespaces)", { skip, timeout: 120_000 }, () => {
  let sns: Netns;
  let cns: Netns;
  let fr: FreeRadius;
  let dir: string;
  /** Processes a test started: stopped after it whatever happened, so the next test finds the ports and TUNs free. */
  let procs: Proc[] = [];
  const track = <T extends Proc>(p: T): T => (procs.push(p), p);
  const killAll = async (): Promise<void> => {
    for (const p of procs.reverse()) await stop(p, "SIGKILL");
    procs = [];
  };
  afterEach(killAll);

  before(async () => {
    sns = Netns.create();
    cns = Netns.create();
    joinWithVeth(sns, SERVER, cns, CLIENT, 24);
    // No IPv6 on the client's TUN: the kernel's router solicitations would count in its tx bytes, yet PPTP's IPCP
    // carries IPv4 only, so the client rightly drops them and the server never counts them.
    for (const k of ["all", "default"]) execFileSync("ip", ["netns", "exec", cns.name, "sysctl", "-qw", `net.ipv6.conf.${k}.disable_ipv6=1`]);
    dir = mkdtempSync(join(tmpdir(), "pptpts-aaa-cli-"));
    writeFileSync(join(dir, "chap-secrets"), "localuser * local-pw *\n", { mode: 0o600 });
    fr = await startFreeRadius({
      secret: SECRET,
      netns: sns.name,
      users: [
        { name: "alice", password: "alice-pw" },
        { name: "fixed", password: "fixed-pw", reply: ["Framed-IP-Address = 192.168.78.77"] },
        { name: "pooled", password: "pooled-pw", reply: ['Framed-Pool = "office"'] },
        { name: "routed", password: "routed-pw", reply: ['Framed-Route = "10.77.0.0/24 0.0.0.0 1"'] },
        { name: "brief", password: "brief-pw", reply: ["Session-Timeout = 3"] },
        { name: "dasuser", password: "das-pw" },
        { name: "coauser", password: "coa-pw" },
      ],
    });
  });
  after(async () => {
    await killAll();
    await fr?.stop();
    sns?.destroy();
    cns?.destroy();
  });

  /** A server config: RADIUS auth (or `auth`), accounting to `acctPort` through `spool`, and optional sections. */
  function conf(o: { auth?: string; radiusPort?: number; acctPort?: number; spool?: string; deadline?: string; timeout?: string; retries?: number; extra?: string }): string {
    return [
      "[server]",
      `listen = ${SERVER}`,
      "tun-name = aaas0",
      "[ppp]",
      `local-address = ${LOCAL}`,
      "pool = 192.168.78.10-192.168.78.30",
      `users = ${join(dir, "chap-secrets")}`,
      "[limits]",
      "auth-delay = 0",
      "[log]",
      "debug = events, errors",
      "[aaa]",
      `auth = ${o.auth ?? "radius"}`,
      "[radius]",
      `servers = 127.0.0.1:${o.radiusPort ?? fr.authPort}`,
      `secret = "${SECRET}"`,
      `timeout = ${o.timeout ?? "300ms"}`,
      `retries = ${o.retries ?? 1}`,
      `deadline = ${o.deadline ?? "2"}`,
      "nas-identifier = aaa-cli",
      "[pools]",
      "office = 192.168.79.10-192.168.79.20",
      ...(o.acctPort !== undefined
        ? ["[accounting]", "enable = yes", `servers = 127.0.0.1:${o.acctPort}`, `spool = ${o.spool ?? join(dir, "acct.spool")}`, "timeout = 300ms", "retries = 1"]
        : []),
      o.extra ?? "",
      "",
    ].join("\n");
  }

  const records = () => detailRecords(fr.radacctDir);

  test("accounting across kill -9: spooled while RADIUS is away, delivered once, in order, delayed; then Start/Stop with the client's octets", async () => {
    const spool = join(dir, "killed.spool");
    const confFile = join(dir, "killed.conf");
    const deadAcct = await freeUdpPortPair();
    const before = records().length;
    // Run 1: accounting points at a port nobody answers on; the server is killed while a session is up.
    const srv1 = track(await startServer(sns, confFile, conf({ acctPort: deadAcct, spool })));
    const c1 = await dialUp(cns, SERVER, "alice", "alice-pw", srv1);
    track(c1.proc);
    assert.match(pingFrom(cns, LOCAL, 3, 200), /3 received/);
    const killedAt = Date.now();
    srv1.child.kill("SIGKILL");
    await srv1.exited;
    await stop(c1.proc, "SIGKILL");
    assert.ok(existsSync(spool), "the spool file exists");
    assert.equal(records().length, before, "nothing reached FreeRADIUS while its accounting port was wrong");
    const waitMs = 2500;
    await new Promise((r) => setTimeout(r, waitMs));

    // Run 2: same spool, accounting reaches FreeRADIUS: the spooled records arrive, then this run's Accounting-On.
    const srv2 = track(await startServer(sns, confFile, conf({ acctPort: fr.acctPort, spool })));
    assert.ok(await until(() => records().length >= before + 3, 8000), `expected 3 records, got:\n${JSON.stringify(records().slice(before), null, 1)}\n${srv2.out()}`);
    await new Promise((r) => setTimeout(r, 700)); // a duplicate would arrive now
    const got = records().slice(before);
    assert.deepEqual(
      got.map((r) => r["Acct-Status-Type"]),
      ["Accounting-On", "Start", "Accounting-On"],
      `in order, each once:\n${JSON.stringify(got, null, 1)}`,
    );
    const [on1, start1, on2] = got;
    assert.equal(start1["User-Name"], "alice");
    assert.equal(start1["Framed-IP-Address"], c1.address);
    const waited = (Date.now() - killedAt) / 1000;
    for (const r of [on1, start1]) {
      const d = Number(r["Acct-Delay-Time"]);
      assert.ok(d >= Math.floor(waitMs / 1000) && d <= Math.ceil(waited) + 2, `Acct-Delay-Time ${d} s for a record that waited ${waited.toFixed(1)} s`);
    }
    assert.ok(Number(on2["Acct-Delay-Time"] ?? "0") <= 1, "the new run's Accounting-On went at once");

    // A clean session on the restarted server: Start, traffic, hang-up → Stop with the client's counters.
    const c2 = await dialUp(cns, SERVER, "alice", "alice-pw", srv2);
    track(c2.proc);
    assert.match(pingFrom(cns, LOCAL, 5, 400), /5 received/);
    // And traffic one way only, so that swapped directions would show: 900-byte UDP datagrams to a closed port
    // (the server host answers each with a shorter ICMP port unreachable, or not at all when rate-limited).
    execFileSync("ip", ["netns", "exec", cns.name, "bash", "-c", `for i in 1 2 3; do head -c 900 /dev/zero > /dev/udp/${LOCAL}/9; done`]);
    await new Promise((r) => setTimeout(r, 300));
    const counted = tunCounters(cns, c2.tun);
    assert.ok(counted.txBytes > counted.rxBytes + 1000, `more went up than came down: ${JSON.stringify(counted)}`);
    await stop(c2.proc);
    assert.ok(await until(() => records().slice(before + 3).some((r) => r["Acct-Status-Type"] === "Stop"), 8000), `no Stop:\n${srv2.out()}`);
    const clean = records().slice(before + 3);
    assert.deepEqual(clean.map((r) => r["Acct-Status-Type"]), ["Start", "Stop"]);
    const [start2, stop2] = clean;
    assert.equal(stop2["Acct-Session-Id"], start2["Acct-Session-Id"]);
    assert.equal(stop2["Acct-Terminate-Cause"], "User-Request");
    assert.equal(Number(stop2["Acct-Input-Octets"]), counted.txBytes, `octets from the client = its TUN's tx bytes (${JSON.stringify(counted)})`);
    assert.equal(Number(stop2["Acct-Output-Octets"]), counted.rxBytes, "octets to the client = its TUN's rx bytes");
    assert.equal(Number(stop2["Acct-Input-Packets"]), counted.txPackets);
    assert.equal(Number(stop2["Acct-Output-Packets"]), counted.rxPackets);

    // A clean stop says Accounting-Off; a third run on the same spool resends nothing that was answered.
    await stop(srv2);
    assert.ok(await until(() => records().length >= before + 6, 3000));
    const srv3 = track(await startServer(sns, confFile, conf({ acctPort: fr.acctPort, spool })));
    assert.ok(await until(() => records().length >= before + 7, 5000), srv3.out());
    await new Promise((r) => setTimeout(r, 700));
    assert.deepEqual(records().slice(before + 5).map((r) => r["Acct-Status-Type"]), ["Accounting-Off", "Accounting-On"]);
  });

  describe("one server: RADIUS auth, accounting, Disconnect/CoA", () => {
    let srv: Proc;
    let dasPort: number;
    before(async () => {
      dasPort = (await freeUdpPortPair()) + 0;
      const das = ["[das]", "enable = yes", "listen = 127.0.0.1", `port = ${dasPort}`, "clients = 127.0.0.1", `secret = "${DAS_SECRET}"`].join("\n");
      srv = await startServer(sns, join(dir, "main.conf"), conf({ acctPort: fr.acctPort, spool: join(dir, "main.spool"), extra: das }));
    });
    after(async () => {
      await stop(srv);
    });

    /** The Stop record of `user`'s session once FreeRADIUS has it. */
    async function stopOf(user: string, ms = 6000) {
      const find = () => records().find((r) => r["Acct-Status-Type"] === "Stop" && r["User-Name"] === user);
      assert.ok(await until(() => find() !== undefined, ms), `no Stop for ${user}:\n${srv.out()}`);
      return find()!;
    }
    const ended = (c: { proc: Proc }) => () => /disconnected:/.test(c.proc.out()) || !c.proc.running();

    test("Framed-IP-Address from RADIUS is the client's address", async () => {
      const c = track((await dialUp(cns, SERVER, "fixed", "fixed-pw", srv)).proc);
      assert.match(c.out(), /connected to \S+: address 192\.168\.78\.77,/);
      await stop(c);
    });

    test("Framed-Pool names a [pools] pool: the address comes from it", async () => {
      const d = await dialUp(cns, SERVER, "pooled", "pooled-pw", srv);
      track(d.proc);
      const last = Number(d.address.split(".")[3]);
      assert.ok(d.address.startsWith("192.168.79.") && last >= 10 && last <= 20, `address ${d.address} is from pool office`);
      await stop(d.proc);
    });

    test("Framed-Route: the server routes the prefix to the client, and traffic for it arrives on the client's TUN", async () => {
      const d = await dialUp(cns, SERVER, "routed", "routed-pw", srv);
      track(d.proc);
      // The route is installed as the session comes up, a few ms after the client may already say "connected".
      const routed = () => /^10\.77\.0\.0\/24 dev aaas0\b/m.test(sns.ip("-4", "route", "show", "10.77.0.0/24"));
      assert.ok(await until(routed, 3000), `the server namespace routes the prefix into its TUN:\n${sns.ip("-4", "route")}\n${srv.out()}`);
      const rx0 = tunCounters(cns, d.tun).rxPackets;
      pingFrom(sns, "10.77.0.9", 3, 100); // nobody answers there; the echo requests must reach the client's TUN
      assert.ok(tunCounters(cns, d.tun).rxPackets >= rx0 + 3, "three echo requests for 10.77.0.9 reached the client");
      await stop(d.proc);
      assert.ok(await until(() => sns.ip("-4", "route", "show", "10.77.0.0/24").trim() === "", 5000), "the route goes with the session");
    });

    test("Session-Timeout = 3 ends the session after 3 s, Stop cause Session-Timeout", async () => {
      const d = await dialUp(cns, SERVER, "brief", "brief-pw", srv);
      track(d.proc);
      const upAt = Date.now();
      assert.ok(await until(ended(d), 8000), `session still up after 8 s:\n${srv.out()}`);
      const after = (Date.now() - upAt) / 1000;
      assert.ok(after >= 2.5 && after <= 6, `ended ${after.toFixed(1)} s after it came up`);
      assert.equal((await stopOf("brief"))["Acct-Terminate-Cause"], "Session-Timeout");
      await stop(d.proc);
    });

    test("wrong password: refused by RADIUS, the client reports error 691 and gives up", async () => {
      const { proc } = dial(cns, SERVER, "alice", "not-her-password");
      track(proc);
      assert.ok(await until(() => !proc.running(), 10_000), `client still running:\n${proc.out()}`);
      assert.equal(await proc.exited, 1, proc.out());
      assert.match(proc.out(), /\b691\b/);
      assert.doesNotMatch(proc.out(), /connected to/);
    });

    test("Disconnect-Request by User-Name: Disconnect-ACK, the client's session ends, Stop cause Admin-Reset", async () => {
      const d = await dialUp(cns, SERVER, "dasuser", "das-pw", srv);
      track(d.proc);
      const r = radclient(sns, `127.0.0.1:${dasPort}`, "disconnect", DAS_SECRET, 'User-Name = "dasuser"');
      assert.match(r.out, /Received Disconnect-ACK/, r.out + srv.out());
      assert.ok(await until(ended(d), 5000), `the client did not see the session end:\n${d.proc.out()}`);
      assert.equal((await stopOf("dasuser"))["Acct-Terminate-Cause"], "Admin-Reset");
      await stop(d.proc);
    });

    test("Disconnect-Request for nobody's session: Disconnect-NAK with Error-Cause 503", () => {
      const r = radclient(sns, `127.0.0.1:${dasPort}`, "disconnect", DAS_SECRET, 'User-Name = "nobody-here"');
      assert.match(r.out, /Received Disconnect-NAK/, r.out);
      assert.match(r.out, /Error-Cause = (Session-Context-Not-Found|503)\b/, r.out);
    });

    test("CoA-Request with Session-Timeout: CoA-ACK, and the session ends at the new timeout", async () => {
      const d = await dialUp(cns, SERVER, "coauser", "coa-pw", srv);
      track(d.proc);
      const upAt = Date.now();
      const r = radclient(sns, `127.0.0.1:${dasPort}`, "coa", DAS_SECRET, 'User-Name = "coauser"\nSession-Timeout = 3');
      assert.match(r.out, /Received CoA-ACK/, r.out + srv.out());
      assert.ok(await until(ended(d), 8000), `session still up:\n${srv.out()}`);
      const after = (Date.now() - upAt) / 1000;
      assert.ok(after >= 2.5 && after <= 6, `ended ${after.toFixed(1)} s after it came up`);
      assert.equal((await stopOf("coauser"))["Acct-Terminate-Cause"], "Session-Timeout");
      await stop(d.proc);
    });
  });

  test("RADIUS unreachable with auth = radius, local: the local user gets in, and the log says why", async () => {
    const dead = await freeUdpPortPair();
    const srv = track(await startServer(sns, join(dir, "fallback.conf"), conf({ auth: "radius, local", radiusPort: dead, deadline: "1" })));
    const d = await dialUp(cns, SERVER, "localuser", "local-pw", srv);
    track(d.proc);
    assert.match(srv.out(), /radius unreachable for user "localuser", asking local/);
    assert.match(srv.out(), /user "localuser" authenticated by local because radius was unreachable/);
    await stop(d.proc);
    await stop(srv);
  });

  test("RADIUS unreachable with auth = radius: refused (691) within the deadline", async (t) => {
    const dead = await freeUdpPortPair();
    const srv = track(await startServer(sns, join(dir, "radius-only.conf"), conf({ auth: "radius", radiusPort: dead, timeout: "1", retries: 5, deadline: "1500ms" })));
    const t0 = Date.now();
    const { proc } = dial(cns, SERVER, "alice", "alice-pw");
    track(proc);
    assert.ok(await until(() => !proc.running(), 10_000), `client still running:\n${proc.out()}`);
    const took = (Date.now() - t0) / 1000;
    assert.equal(await proc.exited, 1, proc.out());
    assert.match(proc.out(), /\b691\b/);
    // The client's own log times it: from LCP up (authentication starts) to the 691. Retransmissions alone would
    // wait 6 s (1 s × 6 sends): the deadline cuts that to 1.5 s, then the refusal is immediate — never the client's
    // own 30 s authentication bound.
    const at = (re: RegExp) => Date.parse(new RegExp(`^(\\S+) .*${re.source}`, "m").exec(proc.out())?.[1] ?? "NaN");
    const waited = at(/authentication failed \(691\)/) - at(/LCP up/);
    t.diagnostic(`refused ${(waited / 1000).toFixed(2)} s after LCP up, ${took.toFixed(2)} s after the client started`);
    assert.ok(waited >= 1400 && waited <= 2500, `refused ${waited} ms after authentication began (deadline 1500 ms)\n${proc.out()}\n${srv.out()}`);
    assert.match(srv.out(), /overall deadline 1500 ms reached/);
    await stop(srv);
  });
});
