/**
 * The keepalive path of the control engine (control.ts setMessageGate): while the owner reads no `message` events,
 * a well-formed Echo-Request at the front of a read is answered in place. Everything a peer sees must be what
 * the general path gives: each test runs the same input through an engine with the gate closed and one without
 * a gate, and compares bytes, deadlines and how the connection ends. Time is handed in from a FakeClock.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { unwrap } from "../../src/wire/result.js";
import { emitControlMessage, parseControlMessage, PPTP_PROTOCOL_VERSION, type ControlMessage } from "../../src/wire/pptp-control.js";
import { ControlConnection } from "../../src/pptp/control.js";
import type { ControlEvent } from "../../src/pptp/control-events.js";

const SCCRQ = emitControlMessage({
  type: "SCCRQ",
  protocolVersion: PPTP_PROTOCOL_VERSION,
  framingCapabilities: 3,
  bearerCapabilities: 3,
  maximumChannels: 0,
  firmwareRevision: 0,
  hostName: "peer",
  vendorString: "test",
});
const echoRq = (identifier: number): Uint8Array => emitControlMessage({ type: "EchoRQ", identifier });
const concat = (...bs: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(bs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bs) (out.set(b, o), (o += b.length));
  return out;
};

interface Side {
  readonly cc: ControlConnection;
  readonly tx: Uint8Array[];
  readonly events: ControlEvent[];
}

/** A server-role engine; `gate`: undefined = no gate (events always made), else what the gate answers. */
function side(gate: boolean | undefined): Side {
  const cc = new ControlConnection({ role: "server", keepaliveIntervalMs: 60_000, keepaliveTimeoutMs: 60_000 });
  if (gate !== undefined) cc.setMessageGate({ controlMessagesWanted: () => gate });
  return { cc, tx: [], events: [] };
}

function drain(s: Side): void {
  for (let b = s.cc.pollTransmit(); b; b = s.cc.pollTransmit()) s.tx.push(Uint8Array.from(b));
  for (let e = s.cc.pollEvent(); e; e = s.cc.pollEvent()) s.events.push(e);
}

function feed(s: Side, now: number, ...chunks: Uint8Array[]): void {
  for (const c of chunks) s.cc.handleBytes(now, c);
  drain(s);
}

const types = (s: Side): ControlMessage["type"][] => s.tx.map((b) => unwrap(parseControlMessage(b)).type);
const messageEvents = (s: Side): ControlEvent[] => s.events.filter((e) => e.type === "message");

describe("PPTP Echo-Request answered in place (the gate says nobody reads message events)", () => {
  test("answered with its Identifier (RFC 2637 §2.17), byte for byte as the general path, and no message records", () => {
    const fast = side(false);
    const slow = side(undefined);
    for (const s of [fast, slow]) {
      feed(s, 0, SCCRQ);
      feed(s, 1_000, echoRq(0xdeadbeef));
    }
    assert.deepEqual(types(fast), ["SCCRP", "EchoRP"]);
    assert.deepEqual(fast.tx, slow.tx);
    const reply = unwrap(parseControlMessage(fast.tx[1]));
    assert.deepEqual(reply, { type: "EchoRP", identifier: 0xdeadbeef, resultCode: 1, errorCode: 0 });
    // The SCCRQ/SCCRP pair went the general way (not an echo); the echo made no records.
    assert.equal(messageEvents(fast).length, 2);
    assert.equal(messageEvents(slow).length, 4);
  });

  test("before the connection is established: Result 2, Error 1 (not-connected) as the general path", () => {
    const fast = side(false);
    const slow = side(undefined);
    for (const s of [fast, slow]) {
      s.cc.start(0);
      feed(s, 10, echoRq(7));
    }
    assert.deepEqual(fast.tx, slow.tx);
    assert.deepEqual(unwrap(parseControlMessage(fast.tx[0])), { type: "EchoRP", identifier: 7, resultCode: 2, errorCode: 1 });
  });

  test("several in one read and one split across reads: every one answered, in order", () => {
    const fast = side(false);
    const slow = side(undefined);
    const third = echoRq(3);
    for (const s of [fast, slow]) {
      feed(s, 0, SCCRQ);
      feed(s, 5, concat(echoRq(1), echoRq(2), third.subarray(0, 5)), third.subarray(5));
      feed(s, 6, concat(echoRq(4), SCCRQ.subarray(0, 3)));
    }
    assert.deepEqual(fast.tx, slow.tx);
    assert.deepEqual(
      fast.tx.slice(1).map((b) => unwrap(parseControlMessage(b))).map((m) => (m.type === "EchoRP" ? m.identifier : -1)),
      [1, 2, 3, 4],
    );
  });

  test("with the packets log read, the records come as before", () => {
    const s = side(true);
    feed(s, 0, SCCRQ);
    feed(s, 1, echoRq(9));
    assert.deepEqual(
      messageEvents(s).map((e) => (e.type === "message" ? `${e.direction} ${e.message.type}` : "")),
      ["rcvd SCCRQ", "sent SCCRP", "rcvd EchoRQ", "sent EchoRP"],
    );
  });

  test("a malformed Echo-Request is not taken for one: refused by the parser as before, nothing thrown", () => {
    const reservedSet = echoRq(5);
    reservedSet[11] = 1; // Reserved0 (RFC 2637 §2.16) must be 0
    const tooShort = echoRq(5);
    tooShort[1] = 15; // Length 15: not an Echo-Request's 16
    const badCookie = echoRq(5);
    badCookie[4] ^= 0xff;
    for (const bad of [reservedSet, tooShort, badCookie]) {
      const fast = side(false);
      const slow = side(undefined);
      for (const s of [fast, slow]) {
        feed(s, 0, SCCRQ);
        assert.doesNotThrow(() => feed(s, 1, concat(bad, echoRq(6))));
      }
      assert.deepEqual(fast.tx, slow.tx);
      const closed = (s: Side) => s.events.find((e) => e.type === "closed");
      assert.ok(closed(fast), "closed on the malformed message (RFC 2637 §3)");
      assert.deepEqual(closed(fast), closed(slow));
      assert.ok(!types(fast).includes("EchoRP"), "the echo behind the malformed message is not answered");
    }
  });

  test("keepalive timing is the same: a peer's Echo-Request still puts ours off, a silent peer is still found dead", () => {
    const fast = side(false);
    const slow = side(undefined);
    const trace = (s: Side): string[] => {
      const clock = new FakeClock(0);
      const out: string[] = [];
      const at = (t: number): void => {
        clock.now = t;
        out.push(`${t}: next ${s.cc.pollTimeout()}`);
      };
      feed(s, clock.now, SCCRQ);
      at(0);
      clock.advance(50_000);
      feed(s, clock.now, echoRq(1)); // alive at 50 s: with the server's yield ours waits until 116 s
      at(50_000);
      for (let i = 0; i < 10 && !s.cc.isClosed; i++) {
        const t = s.cc.pollTimeout()!;
        clock.advance(t - clock.now);
        s.cc.handleTimeout(clock.now);
        drain(s);
        out.push(`${t}: ${types(s).join(",")} closed=${s.cc.isClosed}`);
      }
      return out;
    };
    const a = trace(fast);
    const b = trace(slow);
    assert.deepEqual(a, b);
    assert.deepEqual(types(fast), ["SCCRP", "EchoRP", "EchoRQ"], "our Echo-Request went once the yield was over");
    const sentAt = Number(a[2].split(":")[0]);
    assert.equal(sentAt, 50_000 + 60_000 + 6_000);
    const closedEvent = fast.events.find((e) => e.type === "closed");
    assert.ok(closedEvent && closedEvent.type === "closed" && /Keepalive failure/.test(closedEvent.reason));
  });
});
