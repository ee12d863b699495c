/** The sans-I/O RADIUS client: retransmission, failover, dead servers, deadlines, forged and late replies. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { FakeClock } from "../../../src/core/clock.js";
import { utf8 } from "../../../src/wire/bytes.js";
import { unwrap } from "../../../src/wire/result.js";
import { decodeRadius, RadiusCode, type RadiusPacket } from "../../../src/aaa/radius/packet.js";
import { Attr } from "../../../src/aaa/radius/dictionary.js";
import { textAttr, integerAttr } from "../../../src/aaa/radius/attributes.js";
import { encodeResponse, encodeRequest } from "../../../src/aaa/radius/crypto.js";
import { RadiusClientEngine, type RadiusClientOptions, type RadiusOutcome } from "../../../src/aaa/radius/client-engine.js";

const S1 = utf8("secret-one");
const S2 = utf8("secret-two");
const servers = [
  { host: "192.0.2.1", port: 1812, secret: S1 },
  { host: "192.0.2.2", port: 1812, secret: S2 },
];

interface Sent { server: number; data: Uint8Array; at: number }

function rig(o: Partial<RadiusClientOptions> = {}) {
  const clock = new FakeClock(1000);
  const sent: Sent[] = [];
  const logs: string[] = [];
  const engine = new RadiusClientEngine({
    servers,
    timeoutMs: 1000,
    retries: 2,
    deadlineMs: 10000,
    deadTimeMs: 30000,
    random: (n) => new Uint8Array(randomBytes(n)),
    transmit: (server, data) => sent.push({ server, data: data.slice(), at: clock.now }),
    log: (l) => logs.push(l),
    ...o,
  });
  const outcomes: RadiusOutcome[] = [];
  const ask = (): Promise<RadiusOutcome> => {
    const pr = engine.request(RadiusCode.AccessRequest, () => [textAttr(Attr.UserName, "u")], clock.now);
    void pr.then((x) => outcomes.push(x));
    return pr;
  };
  /** Run the timers until `ms` have passed, as an event loop would. */
  const run = async (ms: number): Promise<void> => {
    const end = clock.now + ms;
    for (;;) {
      const t = engine.pollTimeout();
      if (t === undefined || t > end) break;
      clock.now = Math.max(clock.now, t);
      engine.handleTimeout(clock.now);
      await Promise.resolve();
    }
    clock.now = end;
    await new Promise((r) => setImmediate(r));
  };
  /** An Access-Accept to `req` from the server that holds `secret`. */
  const accept = (req: Uint8Array, secret: Uint8Array, o: { ma?: boolean; code?: number } = {}): Uint8Array => {
    const p = unwrap(decodeRadius(req));
    return encodeResponse(o.code ?? RadiusCode.AccessAccept, p.identifier, p.authenticator, [integerAttr(Attr.SessionTimeout, 60)], secret, { messageAuthenticator: o.ma ?? true });
  };
  return { clock, sent, logs, engine, outcomes, ask, run, accept };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("retransmission and failover", () => {
  test("retransmits the same datagram to the same server, then fails over with a new one, then marks the first dead", async () => {
    const r = rig();
    void r.ask();
    await r.run(2999);
    assert.deepEqual(r.sent.map((s) => [s.server, s.at]), [[0, 1000], [0, 2000], [0, 3000]]);
    assert.deepEqual(r.sent[1].data, r.sent[0].data, "same Identifier and Request Authenticator on retransmit");
    await r.run(1);
    assert.equal(r.sent.length, 4);
    assert.equal(r.sent[3].server, 1);
    assert.equal(r.engine.isDead(0, r.clock.now), true);
    assert.match(r.logs.join("\n"), /RADIUS server 192\.0\.2\.1:1812 is unreachable: no reply to Access-Request after 3 transmissions 1000 ms apart.*skipped for 30 s/);
    r.engine.receive(1, r.accept(r.sent[3].data, S2), r.clock.now);
    await flush();
    assert.equal(r.outcomes.length, 1);
    const o = r.outcomes[0];
    assert.ok(o.ok);
    assert.equal(o.serverLabel, "192.0.2.2:1812");
    assert.equal(r.engine.counters()[0].retransmissions, 2);
    assert.equal(r.engine.counters()[0].timeouts, 1);
    // The next request skips the dead server ...
    void r.ask();
    assert.equal(r.sent.at(-1)!.server, 1);
    r.engine.receive(1, r.accept(r.sent.at(-1)!.data, S2), r.clock.now);
    await flush();
    // ... until its dead time has passed ("next request retries").
    r.clock.advance(30001);
    void r.ask();
    assert.equal(r.sent.at(-1)!.server, 0);
  });

  test("every server dead: all are still tried, and the request fails with a message naming them", async () => {
    const r = rig({ deadlineMs: 60000 });
    void r.ask();
    await r.run(6000);
    assert.equal(r.outcomes.length, 1);
    const o = r.outcomes[0];
    assert.ok(!o.ok);
    assert.match(o.message, /no answer from RADIUS servers 192\.0\.2\.1:1812 \(3 transmissions unanswered\), 192\.0\.2\.2:1812 \(3 transmissions unanswered\)/);
    void r.ask();
    assert.equal(r.sent.at(-1)!.server, 0, "both dead: still tried, the one dead longest first");
  });

  test("the overall deadline settles a request even while servers remain", async () => {
    const r = rig({ deadlineMs: 2500, retries: 5 });
    void r.ask();
    await r.run(2499);
    assert.equal(r.outcomes.length, 0);
    await r.run(1);
    assert.equal(r.outcomes.length, 1);
    assert.ok(!r.outcomes[0].ok);
    assert.match(r.outcomes[0].message, /overall deadline 2500 ms reached/);
    assert.equal(r.engine.outstanding, 0);
    assert.equal(r.engine.pollTimeout(), undefined);
  });

  test("round-robin starts each request at the next server", async () => {
    const r = rig({ balance: "round-robin" });
    for (let i = 0; i < 4; i++) void r.ask();
    assert.deepEqual(r.sent.map((s) => s.server), [0, 1, 0, 1]);
  });

  test("Identifiers are unique per server among outstanding requests", async () => {
    const r = rig({ servers: [servers[0]] });
    for (let i = 0; i < 256; i++) void r.ask();
    const ids = new Set(r.sent.map((s) => s.data[1]));
    assert.equal(ids.size, 256);
    void r.ask();
    await flush();
    assert.equal(r.outcomes.length, 1, "the 257th cannot be sent to the only server");
    assert.match((r.outcomes[0] as { message: string }).message, /256 requests already outstanding/);
  });
});

describe("replies that are dropped", () => {
  test("wrong secret: dropped, counted, and diagnosed as 'check the shared secret'", async () => {
    const r = rig({ servers: [servers[0]] });
    void r.ask();
    r.engine.receive(0, r.accept(r.sent[0].data, utf8("not-the-secret")), r.clock.now);
    await r.run(3000);
    assert.equal(r.engine.counters()[0].dropped["bad-authenticator"], 1);
    assert.equal(r.outcomes.length, 1);
    assert.ok(!r.outcomes[0].ok);
    assert.match(r.outcomes[0].message, /check the shared secret/);
    assert.match(r.logs.join("\n"), /replies fail the Response Authenticator check: check the shared secret/);
  });

  test("missing or wrong Message-Authenticator on an Access-Accept is refused (Blast-RADIUS)", async () => {
    const r = rig({ servers: [servers[0]] });
    void r.ask();
    r.engine.receive(0, r.accept(r.sent[0].data, S1, { ma: false }), r.clock.now);
    const forged = r.accept(r.sent[0].data, S1);
    forged[25] ^= 1; // MA value (first attribute) - authenticator recomputed so only the MA is wrong
    const p = unwrap(decodeRadius(r.sent[0].data));
    const { responseAuthenticator } = await import("../../../src/aaa/radius/crypto.js");
    forged.set(responseAuthenticator(forged, p.authenticator, S1), 4);
    r.engine.receive(0, forged, r.clock.now);
    await flush();
    assert.equal(r.outcomes.length, 0);
    const c = r.engine.counters()[0].dropped;
    assert.equal(c["missing-message-authenticator"], 1);
    assert.equal(c["bad-message-authenticator"], 1);
    // A good reply still gets through.
    r.engine.receive(0, r.accept(r.sent[0].data, S1), r.clock.now);
    await flush();
    assert.ok(r.outcomes[0]?.ok);
  });

  test("late, duplicate, wrong-code, truncated and garbage replies are dropped and counted, never accepted", async () => {
    const r = rig({ servers: [servers[0]] });
    void r.ask();
    const good = r.accept(r.sent[0].data, S1);
    r.engine.receive(0, good.subarray(0, good.length - 1), r.clock.now);
    r.engine.receive(0, Uint8Array.of(1, 2, 3), r.clock.now);
    r.engine.receive(0, r.accept(r.sent[0].data, S1, { code: RadiusCode.AccountingResponse }), r.clock.now);
    const otherId = good.slice();
    otherId[1] ^= 0x55;
    r.engine.receive(0, otherId, r.clock.now);
    await flush();
    assert.equal(r.outcomes.length, 0);
    r.engine.receive(0, good, r.clock.now);
    r.engine.receive(0, good, r.clock.now); // duplicate
    await flush();
    assert.equal(r.outcomes.length, 1);
    const c = r.engine.counters()[0];
    assert.deepEqual(c.dropped, { malformed: 2, unexpected: 2, "wrong-code": 1, "bad-authenticator": 0, "missing-message-authenticator": 0, "bad-message-authenticator": 0 });
    assert.equal(c.responses, 1);
    r.engine.receive(5, good, r.clock.now); // unknown server index: ignored
  });

  test("drop log lines are rate-limited per server and kind", async () => {
    const r = rig({ servers: [servers[0]] });
    for (let i = 0; i < 100; i++) r.engine.receive(0, Uint8Array.of(i), r.clock.now);
    assert.equal(r.logs.length, 1);
    r.clock.advance(10000);
    r.engine.receive(0, Uint8Array.of(0), r.clock.now);
    assert.equal(r.logs.length, 2);
    assert.match(r.logs[1], /and 99 more like it/);
    assert.equal(r.engine.counters()[0].dropped.malformed, 101);
  });

  test("accounting requests need no Message-Authenticator in the reply; the authenticator is still checked", async () => {
    const r = rig({ servers: [servers[0]] });
    const pr = r.engine.request(RadiusCode.AccountingRequest, () => [integerAttr(Attr.AcctStatusType, 1)], r.clock.now);
    const req = unwrap(decodeRadius(r.sent[0].data)) as RadiusPacket;
    // Our own request authenticator is the RFC 2866 one.
    assert.deepEqual(r.sent[0].data, encodeRequest(RadiusCode.AccountingRequest, req.identifier, [integerAttr(Attr.AcctStatusType, 1)], S1));
    r.engine.receive(0, encodeResponse(RadiusCode.AccountingResponse, req.identifier, req.authenticator, [], S1, { messageAuthenticator: false }), r.clock.now);
    const o = await pr;
    assert.ok(o.ok);
  });
});
