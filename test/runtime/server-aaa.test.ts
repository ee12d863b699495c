/**
 * The server's side of AAA over the real driver (loopback TCP, in-memory GRE and TUN, our client engine): the
 * AuthContext each verify() gets, the backend's SessionPolicy applied (address, named pool, Framed-Route, MTU,
 * timers, MPPE per user), max-sessions-per-user, the SessionDirectory, and the AccountingSink: On/Start/Interim/
 * Stop/Off with the cause mapped from the real reason and counters equal to the datagrams sent. Time limits and
 * interims run on a skewed clock (the server's `clock` option) and checkSessionTimers(), not on sleeps.
 */
import { udpDatagram } from "../support/ip-datagram.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rig, dial, waitFor, sleep, settings, type Rig, type Dialled } from "./server-rig.js";
import type { ServerConfig } from "../../src/config/config.js";
import { LocalUsers } from "../../src/aaa/local.js";
import { AddressPool } from "../../src/server/pool.js";
import type { AccountingSink, AuthContext, AuthRequest, AuthResult, Authenticator, SessionPolicy, SessionSnapshot, TerminateCause } from "../../src/aaa/types.js";
import type { CcpConfig } from "../../src/ppp/ccp.js";

/** LocalUsers, plus what a RADIUS server would say about each user (set per test). */
class PolicyAuth implements Authenticator {
  readonly contexts: (AuthContext | undefined)[] = [];
  readonly policies = new Map<string, SessionPolicy>();
  private readonly users = new LocalUsers(["alice", "bob", "carol", "dave"].map((user) => ({ user, password: `pw-${user}` })));
  async verify(req: AuthRequest, ctx?: AuthContext): Promise<AuthResult> {
    this.contexts.push(ctx);
    const r = await this.users.verify(req);
    const p = this.policies.get(req.user.replace(/^.*\\/, "").toLowerCase());
    return r.ok && p ? { ...r, session: p, backend: "test-backend" } : r;
  }
}

type Rec = { kind: "on" | "off" | "start" | "interim" | "stop"; snap?: SessionSnapshot; cause?: TerminateCause };
class RecordingSink implements AccountingSink {
  readonly recs: Rec[] = [];
  accountingOn(): void {
    this.recs.push({ kind: "on" });
  }
  start(s: SessionSnapshot): void {
    this.recs.push({ kind: "start", snap: s });
  }
  interim(s: SessionSnapshot): void {
    this.recs.push({ kind: "interim", snap: s });
  }
  stop(s: SessionSnapshot, cause: TerminateCause): void {
    this.recs.push({ kind: "stop", snap: s, cause });
  }
  async accountingOff(): Promise<void> {
    await sleep(5);
    this.recs.push({ kind: "off" });
  }
  of(kind: Rec["kind"], user?: string): Rec[] {
    return this.recs.filter((r) => r.kind === kind && (user === undefined || r.snap?.user?.toLowerCase().endsWith(user)));
  }
}

interface AaaRig extends Rig {
  auth: PolicyAuth;
  sink: RecordingSink;
  /** Moves the server's clock forward and runs its once-a-second housekeeping. */
  advance(ms: number): void;
}

async function aaaRig(over: Partial<ServerConfig> = {}, server: Partial<ServerConfig["server"]> = {}): Promise<AaaRig> {
  const auth = new PolicyAuth();
  const sink = new RecordingSink();
  let skew = 0;
  const s: ServerConfig = { ...settings, ...over, server: { ...settings.server, maxSessions: 8, ...server } };
  const r = await rig(s, undefined, {
    auth,
    accounting: sink,
    clock: () => performance.now() + skew,
    pool: new AddressPool([{ first: "192.168.50.10", last: "192.168.50.20" }]),
  });
  return {
    ...r,
    auth,
    sink,
    advance: (ms) => {
      skew += ms;
      r.server.checkSessionTimers();
    },
  };
}

const call = (user: string, from: string, r: Rig, ccp?: Omit<CcpConfig, "fsm">): Dialled => dial(r, from, user, `pw-${user.replace(/^.*\\/, "").toLowerCase()}`, ccp ? { ccp } : {});
const clientAddress = (d: Dialled): string | undefined => {
  const up = d.events.find((e) => e.type === "network-up");
  return up?.type === "network-up" ? up.ipcp.localAddress : undefined;
};
const downOf = (d: Dialled) => d.events.find((e) => e.type === "call-down") as { reason: string; code?: number } | undefined;


function clientSend(d: Dialled, pkt: Uint8Array): void {
  assert.ok(d.client.sendIp(d.now(), d.client.currentCallId!, pkt, 0, pkt.length), "client sent the datagram");
  d.service();
}

describe("server AAA: context, accounting and causes", () => {
  test("AuthContext per verify; On at listen, Start at network-up, Interim, one Stop whose counters are the datagrams sent; Off at close", { timeout: 30_000 }, async () => {
    const r = await aaaRig();
    try {
      assert.deepEqual(r.sink.recs.map((x) => x.kind), ["on"]);
      r.auth.policies.set("alice", { interimIntervalMs: 60_000, classes: [new Uint8Array([1, 2])] });
      const a = call("alice", "127.0.0.2", r);
      await waitFor(() => a.up());
      const ctx = r.auth.contexts[0]!;
      assert.match(ctx.sessionId, /^[0-9A-F]{16}$/);
      assert.equal(ctx.peerAddress, "127.0.0.2");
      assert.equal(ctx.localAddress, "127.0.0.1");
      const [start] = r.sink.of("start");
      assert.equal(start.snap!.sessionId, ctx.sessionId);
      assert.equal(start.snap!.callId, ctx.callId);
      assert.equal(start.snap!.user, "alice");
      assert.equal(start.snap!.framedAddress, clientAddress(a));
      assert.equal(start.snap!.mppe, "128-bit stateless");
      assert.deepEqual(start.snap!.policy?.classes, [new Uint8Array([1, 2])]);
      assert.ok(r.lines.some((l) => l.includes("test-backend says: interim-interval 60 s, class x1")), "the applied attributes are logged");

      // Three datagrams from the client (in), two to it (out).
      const me = clientAddress(a)!;
      for (const [i, len] of [100, 200, 300].entries()) clientSend(a, udpDatagram(len, me, "10.200.0.1", i));
      for (const [i, len] of [150, 250].entries()) r.tun.inject(udpDatagram(len, "10.200.0.1", me, 100 + i));
      await waitFor(() => r.tun.written.length === 3 && a.ipIn.length === 2);

      r.advance(59_000);
      assert.equal(r.sink.of("interim").length, 0, "no Interim before the interval");
      r.advance(2_000);
      const interims = r.sink.of("interim");
      assert.equal(interims.length, 1);
      assert.deepEqual([interims[0].snap!.inPackets, interims[0].snap!.inOctets, interims[0].snap!.outPackets, interims[0].snap!.outOctets], [3, 600, 2, 400]);
      assert.ok(interims[0].snap!.durationMs >= 61_000);

      // A graceful hang-up (the rig's hangUp() also cuts TCP at once, which may overtake the GRE goodbye).
      a.client.hangUp(a.now(), a.client.currentCallId!, "bye");
      a.service();
      await waitFor(() => r.sink.of("stop").length === 1);
      const stop = r.sink.of("stop")[0];
      assert.equal(stop.cause, "user-request", "the client's LCP Terminate-Request");
      assert.deepEqual([stop.snap!.inPackets, stop.snap!.inOctets, stop.snap!.outPackets, stop.snap!.outOctets], [3, 600, 2, 400]);
      assert.equal(stop.snap!.sessionId, ctx.sessionId);
      assert.ok(r.lines.some((l) => /session down: .*; cause user-request, \d+ s, in 600 octets \/ 3 packets, out 400 octets \/ 2 packets/.test(l)), "the session-down line");

      // A second session gets a new ID; close() sends its Stop (nas-reboot) and then Accounting-Off.
      const b = call("bob", "127.0.0.3", r);
      await waitFor(() => b.up());
      assert.notEqual(r.auth.contexts.at(-1)!.sessionId, ctx.sessionId);
      await r.stop();
      assert.deepEqual(r.sink.recs.map((x) => x.kind), ["on", "start", "interim", "stop", "start", "stop", "off"]);
      assert.equal(r.sink.recs[5].cause, "nas-reboot");
      assert.equal(r.sink.of("stop", "alice").length, 1, "exactly one Stop for alice");
    } finally {
      await r.stop();
    }
  });

  test("causes: TCP gone without goodbye is lost-carrier, a malformed control stream port-error", { timeout: 30_000 }, async () => {
    const r = await aaaRig();
    try {
      const a = call("alice", "127.0.0.2", r);
      const b = call("bob", "127.0.0.3", r);
      await waitFor(() => a.up() && b.up());
      a.sock.destroy();
      // 16 octets whose Magic Cookie is wrong (RFC 2637 §1.4): the server stops the control connection.
      b.sock.write(new Uint8Array([0, 16, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0, 1, 0, 0, 0, 0, 0, 0]));
      await waitFor(() => r.sink.of("stop").length === 2);
      assert.equal(r.sink.of("stop", "alice")[0].cause, "lost-carrier");
      assert.equal(r.sink.of("stop", "bob")[0].cause, "port-error");
    } finally {
      await r.stop();
    }
  });
});

describe("server AAA: the backend's session policy", () => {
  test("Framed-IP-Address (refused while in use), Framed-Pool, an unknown pool, and 'peer'", { timeout: 30_000 }, async () => {
    const r = await aaaRig({ pools: { office: [{ first: "10.60.0.10", last: "10.60.0.20" }] } });
    try {
      r.auth.policies.set("alice", { framedPool: "office", framedAddress: "pool" });
      r.auth.policies.set("bob", { framedAddress: "10.5.5.7" });
      r.auth.policies.set("carol", { framedAddress: "10.5.5.7" });
      r.auth.policies.set("dave", { framedPool: "nope" });
      const a = call("alice", "127.0.0.2", r);
      const b = call("bob", "127.0.0.3", r);
      await waitFor(() => a.up() && b.up());
      assert.equal(clientAddress(a), "10.60.0.10", "from the named pool");
      assert.equal(clientAddress(b), "10.5.5.7", "the backend's static address");
      const c = call("carol", "127.0.0.4", r);
      const d = call("dave", "127.0.0.5", r);
      await waitFor(() => c.down() && d.down());
      assert.ok(r.lines.some((l) => l.includes("static address 10.5.5.7 of carol is already in use (it comes from Framed-IP-Address)")));
      assert.ok(r.lines.some((l) => l.includes(`the authentication backend named pool "nope", which the config does not have ([pools] has office)`)));
      assert.ok(r.lines.some((l) => /user=dave .*session down: .*cause nas-request/.test(l)));
      assert.equal(r.sink.of("start").length, 2, "refused sessions start no accounting");
      r.auth.policies.set("carol", { framedAddress: "peer" });
      await waitFor(() => c.sock.closed);
      await sleep(350);
      const c2 = call("carol", "127.0.0.4", r);
      await waitFor(() => c2.up());
      assert.match(clientAddress(c2)!, /^192\.168\.50\.(1\d|20)$/, "'peer' is given a pool address");
    } finally {
      await r.stop();
    }
  });

  test("Framed-Route carries datagrams to the call, and goes with the session; Framed-MTU caps what we send", { timeout: 30_000 }, async () => {
    const r = await aaaRig();
    try {
      r.auth.policies.set("alice", { framedRoutes: ["10.77.0.0/24", "0.0.0.0/0"], framedMtu: 1000 });
      const a = call("alice", "127.0.0.2", r);
      await waitFor(() => a.up());
      assert.ok(r.lines.some((l) => l.includes("Framed-Route ignored: 0.0.0.0/0 (wider than a /8)")));
      assert.ok(r.lines.some((l) => l.includes("(datagrams up to 1000 octets)")), "Framed-MTU below the peer's MRU");
      r.tun.inject(udpDatagram(300, "10.200.0.1", "10.77.0.5", 1));
      await waitFor(() => a.ipIn.length === 1);
      assert.equal(a.ipIn[0][19], 5, "the datagram for the client's LAN reached the client");
      // 1200 octets without DF: fragmented to fit 1000 (the peer's MRU would allow 1396).
      r.tun.inject(udpDatagram(1200, "10.200.0.1", "10.77.0.6", 2, false));
      await waitFor(() => a.ipIn.length === 3);
      assert.ok(a.ipIn.slice(1).every((p) => p.length <= 1000), `fragments ${a.ipIn.slice(1).map((p) => p.length).join(", ")}`);
      a.hangUp();
      await waitFor(() => r.sink.of("stop").length === 1);
      const before = r.server.counters.tunNoRoute;
      r.tun.inject(udpDatagram(300, "10.200.0.1", "10.77.0.5", 3));
      await waitFor(() => r.server.counters.tunNoRoute === before + 1);
    } finally {
      await r.stop();
    }
  });

  test("Session-Timeout and Idle-Timeout from the backend end sessions with their causes", { timeout: 30_000 }, async () => {
    const r = await aaaRig();
    try {
      r.auth.policies.set("alice", { sessionTimeoutMs: 5_000 });
      r.auth.policies.set("bob", { idleTimeoutMs: 3_000 });
      const a = call("alice", "127.0.0.2", r);
      const b = call("bob", "127.0.0.3", r);
      await waitFor(() => a.up() && b.up());
      r.advance(2_000);
      assert.ok(!a.down() && !b.down());
      r.advance(4_000);
      await waitFor(() => r.sink.of("stop").length === 2);
      assert.equal(r.sink.of("stop", "alice")[0].cause, "session-timeout");
      assert.equal(r.sink.of("stop", "bob")[0].cause, "idle-timeout");
    } finally {
      await r.stop();
    }
  });

  test("MPPE per user: the backend requires it over a server that prefers it, and forbids it over one that requires it", { timeout: 30_000 }, async () => {
    const r = await aaaRig({ mppe: { policy: "prefer", strengths: [128], stateless: "prefer" } });
    try {
      r.auth.policies.set("alice", { mppe: { policy: "require" } });
      r.auth.policies.set("bob", { mppe: { policy: "deny" } });
      const a = call("alice", "127.0.0.2", r, { policy: "deny", stateless: "prefer" });
      const b = call("bob", "127.0.0.3", r, { policy: "prefer", strengths: [128], stateless: "prefer" });
      await waitFor(() => a.down() && b.up());
      assert.equal(downOf(a)?.code, 742, "a client that refuses encryption cannot meet the user's 'require'");
      assert.ok(r.lines.some((l) => /user=alice .*session down: .*client sees error 742.*cause user-error/.test(l)));
      assert.equal(r.sink.of("start", "bob")[0].snap!.mppe, "none", "encryption forbidden for bob although the client offered it");
    } finally {
      await r.stop();
    }
    const strict = await aaaRig();
    try {
      strict.auth.policies.set("bob", { mppe: { policy: "deny" } });
      const b = call("bob", "127.0.0.3", strict, { policy: "prefer", strengths: [128], stateless: "prefer" });
      await waitFor(() => b.up());
      assert.equal(strict.sink.of("start", "bob")[0].snap!.mppe, "none", "[mppe] policy require gives way to the backend's deny");
    } finally {
      await strict.stop();
    }
  });
});

describe("server AAA: one session per user and the session directory", () => {
  test("max-sessions-per-user with deny refuses the newcomer (names compare without domain and case)", { timeout: 30_000 }, async () => {
    const r = await aaaRig({}, { maxSessionsPerUser: 1, perUserPolicy: "deny" });
    try {
      const a = call("alice", "127.0.0.2", r);
      await waitFor(() => a.up());
      const a2 = call("CORP\\ALICE", "127.0.0.3", r);
      await waitFor(() => a2.down());
      assert.ok(r.lines.some((l) => l.includes("refused: user CORP\\ALICE already has 1 session") && l.includes("max-sessions-per-user 1, per-user-policy deny")));
      assert.ok(a.up() && !a.down(), "the first session stays");
      assert.equal(r.sink.of("start").length, 1);
      const b = call("bob", "127.0.0.4", r);
      await waitFor(() => b.up());
    } finally {
      await r.stop();
    }
  });

  test("max-sessions-per-user with replace clears the older session (admin-reset) and frees its static address first", { timeout: 30_000 }, async () => {
    const r = await aaaRig({}, { maxSessionsPerUser: 1, perUserPolicy: "replace" });
    try {
      r.auth.policies.set("alice", { framedAddress: "10.5.5.9" });
      const a = call("alice", "127.0.0.2", r);
      await waitFor(() => a.up());
      const a2 = call("Alice", "127.0.0.3", r);
      await waitFor(() => a2.up() && a.down());
      assert.equal(clientAddress(a2), "10.5.5.9", "the newcomer has the same static address");
      await waitFor(() => r.sink.of("stop").length === 1);
      assert.equal(r.sink.of("stop")[0].cause, "admin-reset");
      assert.equal(r.sink.of("stop")[0].snap!.peerAddress, "127.0.0.2");
    } finally {
      await r.stop();
    }
  });

  test("find, disconnect and changeTimeouts on live sessions", { timeout: 30_000 }, async () => {
    const r = await aaaRig();
    try {
      const a = call("alice", "127.0.0.2", r);
      const b = call("bob", "127.0.0.3", r);
      await waitFor(() => a.up() && b.up());
      const [sa] = r.server.find({ user: "ALICE" });
      assert.equal(sa.user, "alice");
      assert.equal(r.server.find({ framedAddress: clientAddress(b)! })[0].user, "bob");
      assert.equal(r.server.find({ user: "alice", framedAddress: clientAddress(b)! }).length, 0, "every given field must match");
      assert.equal(r.server.find({}).length, 2);
      assert.equal(r.server.disconnect("0000000000000000", "admin-reset", "no such session"), false);
      assert.equal(r.server.changeTimeouts("0000000000000000", { idleTimeoutMs: 1 }), false);

      assert.equal(r.server.changeTimeouts(sa.sessionId, { sessionTimeoutMs: 2_000 }), true);
      const sb = r.server.find({ user: "bob" })[0];
      assert.equal(r.server.disconnect(sb.sessionId, "admin-reset", "Disconnect-Request from 10.0.0.5"), true);
      await waitFor(() => b.down());
      assert.ok(r.lines.some((l) => l.includes("user=bob peer=127.0.0.3: disconnect (admin-reset): Disconnect-Request from 10.0.0.5")));
      r.advance(3_000);
      await waitFor(() => a.down() && r.sink.of("stop").length === 2);
      assert.equal(r.sink.of("stop", "bob")[0].cause, "admin-reset");
      assert.equal(r.sink.of("stop", "alice")[0].cause, "session-timeout", "the changed Session-Timeout ended it");
      assert.deepEqual(r.server.find({}), []);
    } finally {
      await r.stop();
    }
  });
  test("an IPCP renegotiation of an established session is no new session: one Start, one 'session up', established 1", { timeout: 30_000 }, async () => {
    const r = await aaaRig();
    try {
      const a = call("alice", "127.0.0.2", r);
      await waitFor(() => a.up());
      const callId = a.client.currentCallId!;
      const ups = () => a.events.filter((e) => e.type === "network-up").length;
      // The client sends a new IPCP Configure-Request for its address (RFC 1661 §3.2: in Opened, it restarts
      // negotiation); both links renegotiate IPCP and raise network-up again.
      const me = clientAddress(a)!.split(".").map(Number);
      const ipcpRequest = new Uint8Array([0xff, 0x03, 0x80, 0x21, 0x01, 0x55, 0x00, 0x0a, 0x03, 0x06, ...me]);
      a.client.sessions.get(callId)!.channel.send(a.now(), ipcpRequest, 0, ipcpRequest.length);
      a.service();
      // The server logs its second network-up either way: as "session renegotiated" (or, before the fix, "session up").
      await waitFor(() => ups() === 2 && r.lines.filter((l) => /session (up|renegotiated):/.test(l)).length === 2);
      assert.equal(r.sink.of("start").length, 1, "one Accounting-Start for the session (RFC 2866 §5.1)");
      assert.equal(r.lines.filter((l) => l.includes("session up:")).length, 1, r.lines.join("\n"));
      assert.equal(r.server.counters.sessionsEstablished, 1);
      assert.ok(r.lines.some((l) => l.includes("session renegotiated: address")), r.lines.join("\n"));
      // Still one session, and it carries IP after the renegotiation.
      assert.equal(r.server.sessionCount, 1);
      clientSend(a, udpDatagram(120, clientAddress(a)!, "10.200.0.1", 1));
      await waitFor(() => r.tun.written.length === 1);
      a.client.hangUp(a.now(), callId, "bye");
      a.service();
      await waitFor(() => r.sink.of("stop").length === 1);
      assert.equal(r.sink.of("start").length, 1);
    } finally {
      await r.stop();
    }
  });
});
