/** The TACACS+ client engine under a fake clock: failover, timeouts, deadline, single-connection, bad replies. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { TacacsEngine, type TacAction, type TacEngineOptions } from "../../src/aaa/tacacs/engine.js";
import {
  decodeHeader,
  encodeAcctReply,
  encodeAuthenReply,
  encodePacket,
  packetBody,
  TAC_FLAG_SINGLE_CONNECT,
  type TacHeader,
} from "../../src/aaa/tacacs/codec.js";
import { utf8 } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { seededRandom } from "../support/random.js";

const KEY = utf8("shared");
const A = { host: "10.0.0.5", port: 49 };
const B = { host: "10.0.0.6", port: 49 };

function engine(o: Partial<TacEngineOptions> = {}): { e: TacacsEngine; clock: FakeClock; log: TacAction[] } {
  const e = new TacacsEngine({ servers: [A, B], key: KEY, timeoutMs: 3000, deadlineMs: 10_000, singleConnect: false, random: seededRandom(7), ...o });
  return { e, clock: new FakeClock(1000), log: [] };
}

function sent(acts: TacAction[]): { conn: number; h: TacHeader; body: Uint8Array }[] {
  return acts.flatMap((a) => (a.kind === "send" ? [{ conn: a.conn, h: unwrap(decodeHeader(a.bytes)), body: packetBody(a.bytes, unwrap(decodeHeader(a.bytes)), KEY) }] : []));
}

function reply(h: TacHeader, body: Uint8Array, o: { flags?: number; key?: Uint8Array; seq?: number; session?: number } = {}): Uint8Array {
  return encodePacket({ version: h.version, type: h.type, seqNo: o.seq ?? h.seqNo + 1, sessionId: o.session ?? h.sessionId, flags: o.flags ?? 0 }, body, o.key ?? KEY);
}

const PASS = unwrap(encodeAuthenReply({ status: 1, flags: 0, serverMsg: "", data: new Uint8Array(0) }));
const BODY = Uint8Array.of(1, 1, 2, 3, 0, 0, 0, 0);

describe("TACACS+ engine", () => {
  test("one session on its own connection: seq 1 out, seq 2 back, then the connection closes", () => {
    const { e, clock } = engine();
    const id = e.request(clock.now, 1, 1, BODY);
    let acts = e.takeActions();
    assert.deepEqual(acts, [{ kind: "connect", conn: 1, server: A }]);
    e.connected(clock.now, 1);
    const [p] = sent(e.takeActions());
    assert.equal(p.h.seqNo, 1);
    assert.equal(p.h.version, 0xc1);
    assert.equal(p.h.flags, 0);
    assert.deepEqual([...p.body], [...BODY]);
    const r = reply(p.h, PASS);
    e.data(clock.now, 1, r.subarray(0, 5)); // split across reads
    assert.deepEqual(e.takeActions(), []);
    e.data(clock.now, 1, r.subarray(5));
    acts = e.takeActions();
    assert.deepEqual(acts.map((a) => a.kind), ["close", "done"]);
    const done = acts[1] as Extract<TacAction, { kind: "done" }>;
    assert.equal(done.req, id);
    assert.ok(done.outcome.ok && done.outcome.server === A && done.outcome.reply.type === 1 && done.outcome.reply.body.status === 1);
    assert.equal(e.pollTimeout(), undefined);
  });

  test("fails over to the next server after the per-try timeout, and prefers the one that answered", () => {
    const { e, clock } = engine();
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    e.takeActions();
    assert.equal(e.pollTimeout(), 4000);
    e.handleTimeout(clock.advance(3000));
    let acts = e.takeActions();
    assert.deepEqual(acts.map((a) => a.kind), ["close", "connect"]);
    assert.deepEqual((acts[1] as { server: unknown }).server, B);
    e.connected(clock.now, 2);
    const [p] = sent(e.takeActions());
    e.data(clock.now, 2, reply(p.h, PASS));
    assert.ok(e.takeActions().some((a) => a.kind === "done" && a.outcome.ok));
    e.request(clock.now, 1, 1, BODY);
    acts = e.takeActions();
    assert.deepEqual((acts[0] as { server: unknown }).server, B, "B answered last, so it is asked first");
  });

  test("every server failing ends 'unreachable' naming what each did", () => {
    const { e, clock } = engine();
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.closed(clock.now, 1, "connection refused (no TACACS+ server listening on that port)");
    e.takeActions();
    e.connected(clock.now, 2);
    e.takeActions();
    e.handleTimeout(clock.advance(3000));
    const done = e.takeActions().find((a) => a.kind === "done");
    assert.ok(done !== undefined && !done.outcome.ok);
    assert.match(done.outcome.message, /no TACACS\+ server answered: 10\.0\.0\.5:49: connection refused.*; 10\.0\.0\.6:49: no reply within 3 s/);
  });

  test("the overall deadline ends a request even with servers left to try", () => {
    const { e, clock } = engine({ servers: [A, B, { host: "10.0.0.7", port: 49 }], deadlineMs: 5000 });
    e.request(clock.now, 1, 1, BODY);
    e.handleTimeout(clock.advance(3000));
    e.takeActions();
    assert.equal(e.pollTimeout(), clock.now + 2000);
    e.handleTimeout(clock.advance(2000));
    const done = e.takeActions().find((a) => a.kind === "done");
    assert.ok(done !== undefined && !done.outcome.ok);
    assert.match(done.outcome.message, /deadline of 5 s/);
  });

  test("a reply that does not decode under our key says 'check the key' and the next server is asked", () => {
    const { e, clock } = engine();
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    const [p] = sent(e.takeActions());
    e.data(clock.now, 1, reply(p.h, PASS, { key: utf8("other") }));
    const acts = e.takeActions();
    assert.deepEqual(acts.map((a) => a.kind), ["close", "connect"]);
    assert.equal(e.stats.undecodable, 1);
    e.closed(clock.now, 2, "connection refused");
    const done = e.takeActions().find((a) => a.kind === "done");
    assert.ok(done !== undefined && !done.outcome.ok);
    assert.match(done.outcome.message, /10\.0\.0\.5:49: reply does not decode .*check the key/);
  });

  test("a reply in clear when we have a key: the server has no key for us", () => {
    const { e, clock } = engine({ servers: [A] });
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    const [p] = sent(e.takeActions());
    e.data(clock.now, 1, encodePacket({ version: p.h.version, type: 1, seqNo: 2, sessionId: p.h.sessionId }, PASS, undefined));
    const done = e.takeActions().find((a) => a.kind === "done");
    assert.ok(done !== undefined && !done.outcome.ok);
    assert.match(done.outcome.message, /replied in clear .*configure the same key on both ends/);
  });

  test("bytes that are not TACACS+ at all close the connection with a plain diagnosis", () => {
    const { e, clock } = engine({ servers: [A] });
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    e.takeActions();
    e.data(clock.now, 1, utf8("SSH-2.0-OpenSSH_9.2\r\n"));
    const done = e.takeActions().find((a) => a.kind === "done");
    assert.ok(done !== undefined && !done.outcome.ok);
    assert.match(done.outcome.message, /not a TACACS\+ reply.*is a TACACS\+ server listening on that port/);
  });

  test("replies for unknown sessions or with the wrong seq_no are dropped, counted, and logged once per interval", () => {
    const { e, clock } = engine({ servers: [A], logIntervalMs: 10_000 });
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    const [p] = sent(e.takeActions());
    e.data(clock.now, 1, reply(p.h, PASS, { session: p.h.sessionId ^ 1 }));
    e.data(clock.now, 1, reply(p.h, PASS, { seq: 4 }));
    e.data(clock.now, 1, reply({ ...p.h, type: 3 }, unwrap(encodeAcctReply({ status: 1, serverMsg: "", data: new Uint8Array(0) }))));
    const acts = e.takeActions();
    assert.equal(e.stats.dropped, 3);
    assert.equal(acts.filter((a) => a.kind === "log").length, 1, "one line for three drops");
    assert.ok(!acts.some((a) => a.kind === "done"));
    clock.advance(10_000);
    e.data(clock.now, 1, reply(p.h, PASS, { seq: 6 }));
    const later = e.takeActions().filter((a) => a.kind === "log");
    assert.equal(later.length, 1);
    assert.match((later[0] as { message: string }).message, /and 2 more like it/);
    e.data(clock.now, 1, reply(p.h, PASS));
    assert.ok(e.takeActions().some((a) => a.kind === "done" && a.outcome.ok), "the real reply still counts");
  });

  test("single-connection: negotiated on the first reply, later sessions multiplexed by session_id", () => {
    const { e, clock } = engine({ singleConnect: true });
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    const [p] = sent(e.takeActions());
    assert.equal(p.h.flags & TAC_FLAG_SINGLE_CONNECT, TAC_FLAG_SINGLE_CONNECT);
    e.data(clock.now, 1, reply(p.h, PASS, { flags: TAC_FLAG_SINGLE_CONNECT }));
    assert.deepEqual(e.takeActions().map((a) => a.kind), ["done"], "kept open");
    e.request(clock.now, 1, 1, BODY);
    e.request(clock.now, 1, 1, BODY);
    const two = sent(e.takeActions());
    assert.deepEqual(two.map((x) => x.conn), [1, 1]);
    assert.notEqual(two[0].h.sessionId, two[1].h.sessionId);
    // answered out of order
    e.data(clock.now, 1, concat(reply(two[1].h, PASS, { flags: 4 }), reply(two[0].h, PASS, { flags: 4 })));
    const done = e.takeActions().filter((a) => a.kind === "done");
    assert.deepEqual(done.map((d) => (d as { req: number }).req), [3, 2]);
    assert.equal(e.stats.connections, 1);
    assert.equal(e.stats.reused, 2);
  });

  test("single-connection refused by the server: one connection per session", () => {
    const { e, clock } = engine({ singleConnect: true });
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    const [p] = sent(e.takeActions());
    e.data(clock.now, 1, reply(p.h, PASS, { flags: 0 }));
    assert.deepEqual(e.takeActions().map((a) => a.kind), ["close", "done"]);
    e.request(clock.now, 1, 1, BODY);
    assert.deepEqual(e.takeActions().map((a) => a.kind), ["connect"]);
  });

  test("a silent multiplexed connection is closed and its other sessions fail over", () => {
    const { e, clock } = engine({ singleConnect: true });
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    const [p] = sent(e.takeActions());
    e.data(clock.now, 1, reply(p.h, PASS, { flags: 4 }));
    e.takeActions();
    e.request(clock.now, 1, 1, BODY);
    clock.advance(1000);
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.handleTimeout(clock.advance(2000));
    const acts = e.takeActions();
    assert.deepEqual(acts.filter((a) => a.kind === "connect").map((a) => (a as { server: unknown }).server), [B, B]);
    assert.ok(acts.some((a) => a.kind === "close" && a.conn === 1));
  });

  test("a retry may draw the session_id it had before (found by fuzzing: it looped forever)", () => {
    let calls = 0;
    const random = (n: number) => {
      if (++calls > 100) throw new Error("newSessionId keeps drawing");
      return new Uint8Array(n).fill(1);
    };
    const { e, clock } = engine({ random });
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.closed(clock.now, 1, "connection refused");
    assert.deepEqual(e.takeActions().map((a) => a.kind), ["connect"]);
  });

  test("the server closing mid-request moves the request to the next server", () => {
    const { e, clock } = engine();
    e.request(clock.now, 1, 1, BODY);
    e.takeActions();
    e.connected(clock.now, 1);
    e.takeActions();
    e.closed(clock.now, 1, "connection closed by the server before the reply");
    assert.deepEqual(e.takeActions().map((a) => a.kind), ["connect"]);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}
