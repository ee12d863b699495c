/**
 * LCP Echo-Request answered where it lies (lcp.ts answerEchoInPlace, used by the link while nobody reads its
 * `packets` lines): the reply and the keepalive bookkeeping must be what handlePacket gives. Each case runs on two
 * engines negotiated identically (same seeds), one through each path. `now` is handed in (FakeClock style).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LcpEngine, type LcpConfig } from "../../src/ppp/lcp.js";
import { fromHex } from "../../src/wire/bytes.js";
import { pump, seededRandom } from "./fsm-harness.js";

const I = 10_000;

/** `a` (server role: yields to a peer that echoes) negotiated to Opened with a peer, output drained. */
function openedServer(cfg: Partial<LcpConfig> = {}): LcpEngine {
  const clock = { now: 0 };
  const a = new LcpEngine({ random: seededRandom(41), echoIntervalMs: I, echoFailures: 4, echoYieldToPeer: true, ...cfg });
  const b = new LcpEngine({ random: seededRandom(42), echoIntervalMs: I, echoFailures: 4 });
  for (const e of [a, b]) {
    e.open(0);
    e.lowerUp(0);
  }
  pump(a, b, clock, { until: () => a.isOpened && b.isOpened, maxMs: 1000 });
  assert.ok(a.isOpened);
  for (let p = a.pollTransmit(); p; p = a.pollTransmit());
  for (let e = a.pollEvent(); e; e = a.pollEvent());
  return a;
}

const hex8 = (n: number): string => n.toString(16).padStart(8, "0");
/** An Echo-Request of `length` (Length field) carrying `data` after the magic, then `pad` octets of padding. */
function echo(id: number, magic: number, data = "", pad = "", length?: number): Uint8Array {
  const body = `${hex8(magic)}${data}`;
  const len = length ?? 4 + body.length / 2;
  return fromHex(`09${id.toString(16).padStart(2, "0")}${len.toString(16).padStart(4, "0")}${body}${pad}`);
}

function slowReply(e: LcpEngine, now: number, pkt: Uint8Array): Uint8Array[] {
  e.handlePacket(now, pkt);
  const out: Uint8Array[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) out.push(p);
  return out;
}

describe("LCP Echo-Request answered in place", () => {
  test("the reply is the general path's, byte for byte: Identifier and Data kept, our Magic-Number (RFC 1661 §5.8)", () => {
    for (const [data, pad] of [["", ""], ["0102030405", ""], ["aa", "000000"]]) {
      const fast = openedServer();
      const slow = openedServer();
      const peerMagic = fast.result!.peerMagic;
      const pkt = echo(0x42, peerMagic, data, pad);
      // In the middle of a larger buffer, as a GRE payload is.
      const frame = new Uint8Array(pkt.length + 10);
      frame.set(pkt, 6);
      const reply = fast.answerEchoInPlace(5_000, frame, 6, pkt.length, 4);
      assert.ok(reply, `answered (data ${data || "none"}, padding ${pad || "none"})`);
      assert.equal(fast.pollTransmit(), undefined, "nothing queued: the reply is returned");
      assert.deepEqual(reply.subarray(4), slowReply(slow, 5_000, pkt)[0]);
      assert.equal(reply[4], 10, "Code 10");
      assert.equal(reply[5], 0x42, "the request's Identifier");
      assert.equal(fast.pollTimeout(), slow.pollTimeout(), "the same keepalive deadline after it");
    }
  });

  test("a peer's Echo-Request still puts the server's own off, and silence still ends the link", () => {
    const fast = openedServer();
    const slow = openedServer();
    const pkt = echo(1, fast.result!.peerMagic);
    assert.ok(fast.answerEchoInPlace(7_000, pkt, 0, pkt.length, 0));
    slowReply(slow, 7_000, pkt);
    // Yield: a tenth of the interval past the peer's request's interval.
    assert.equal(fast.pollTimeout(), 7_000 + I + I / 10);
    const run = (e: LcpEngine): string[] => {
      const log: string[] = [];
      for (let i = 0; i < 8; i++) {
        const t = e.pollTimeout();
        if (t === undefined) break;
        e.handleTimeout(t);
        for (let p = e.pollTransmit(); p; p = e.pollTransmit()) log.push(`${t} code ${p[0]}`);
        for (let ev = e.pollEvent(); ev; ev = ev === undefined ? undefined : e.pollEvent()) if (ev.type === "echo-timeout") log.push(`${t} echo-timeout`);
      }
      return log;
    };
    const a = run(fast);
    assert.deepEqual(a, run(slow));
    assert.ok(a.some((l) => l.endsWith("echo-timeout")), a.join("; "));
  });

  test("left to the general path (undefined, nothing done): not Opened, our own Magic-Number, malformed, another code", () => {
    const e = openedServer();
    const peer = e.result!.peerMagic;
    const ours = e.result!.localMagic;
    const cases: Array<[string, Uint8Array]> = [
      ["our own magic (looped back, RFC 1661 §6.4)", echo(1, ours)],
      ["Length below the Magic-Number", echo(1, peer, "", "", 6)],
      ["Length past the frame", echo(1, peer, "", "", 12)],
      ["three octets", fromHex("090100")],
      ["an Echo-Reply", fromHex(`0a010008${hex8(peer)}`)],
    ];
    for (const [what, pkt] of cases) {
      const before = e.pollTimeout();
      assert.equal(e.answerEchoInPlace(1_000, pkt, 0, pkt.length, 4), undefined, what);
      assert.equal(e.pollTransmit(), undefined, what);
      assert.equal(e.pollTimeout(), before, `${what}: no bookkeeping`);
    }
    const closed = new LcpEngine({ random: seededRandom(5), echoIntervalMs: I });
    closed.open(0);
    closed.lowerUp(0);
    assert.equal(closed.answerEchoInPlace(0, echo(1, 0x12345678), 0, 8, 0), undefined, "not Opened");
  });
});
