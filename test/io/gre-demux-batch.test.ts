/**
 * GreDemux's send queue on the native raw GRE socket (src/io/gre-demux.ts, issue 11 item 4): the packets sent in
 * one turn of JavaScript leave in one sendmmsg (one sendBatch call), byte for byte as they were when send() took
 * them, in order, and not one system call per packet. Over loopback in the test's own process (root only).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";

import { GreDemux, type GreEndpoint } from "../../src/io/gre-demux.js";
import { GreSocket } from "../../src/io/gre-socket.js";
import { emitGreHeader, GRE_MAX_HEADER_LENGTH, type GreHeader } from "../../src/wire/gre.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import { unwrap } from "../../src/wire/result.js";
import { privilegedSkip } from "./netns.js";

const LOOPBACK = unwrap(parseIpv4("127.0.0.1"));

class Collector implements GreEndpoint {
  readonly got: number[][] = [];
  receive(_now: number, h: GreHeader, data: Uint8Array): void {
    this.got.push([...data.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)]);
  }
  flush(): void {}
}

describe("GreDemux send queue on a native GRE socket", { skip: privilegedSkip("a raw GRE socket") }, () => {
  test("packets sent in one turn leave in one sendBatch, intact and in order, after the caller reused its buffer", async () => {
    const sock = GreSocket.open({ bindAddress: "127.0.0.1" });
    const calls = { send: 0, batch: [] as number[] };
    const realSend = sock.send.bind(sock);
    const realBatch = sock.sendBatch.bind(sock);
    sock.send = (...a: Parameters<GreSocket["send"]>) => (calls.send++, realSend(...a));
    sock.sendBatch = (...a: Parameters<GreSocket["sendBatch"]>) => (calls.batch.push(a[4]), realBatch(...a));
    const demux = new GreDemux(sock, () => 0);
    const callId = 0x4242;
    const sink = new Collector();
    demux.register(callId, LOOPBACK, sink);
    try {
      const count = 100; // more than one sendmmsg holds (64): two batches
      const buf = new Uint8Array(GRE_MAX_HEADER_LENGTH + 1400);
      const expected: number[][] = [];
      for (let i = 0; i < count; i++) {
        const payload = new Uint8Array(100 + i).fill(i);
        const at = 3 + (i % 2); // odd and word-aligned starts: both copy paths
        const n = emitGreHeader(buf, at, callId, payload.length, i, undefined);
        buf.set(payload, at + n);
        assert.equal(demux.send(buf, at, n + payload.length, LOOPBACK), true);
        buf.fill(0xee); // the caller's buffer is scratch: what was queued must not change with it
        expected.push([...payload]);
      }
      assert.equal(calls.send, 0, "no system call per packet");
      assert.deepEqual(calls.batch, [64], "a full queue goes at once");
      await tick();
      assert.deepEqual(calls.batch, [64, 36], "the rest when the turn ends");
      const deadline = Date.now() + 5000;
      while (sink.got.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(sink.got.length, count);
      assert.deepEqual(sink.got, expected);
      assert.equal(sock.stats().txPackets, count);

      demux.send(buf, 0, 16, LOOPBACK);
      demux.flushSends();
      assert.deepEqual(calls.batch, [64, 36, 1], "flushSends() sends what is queued now");
    } finally {
      demux.close();
    }
  });
});
