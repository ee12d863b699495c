/**
 * Memory a call holds while idle (issue 11: ≤ 20 KB per session): the 4 KB transmit and plaintext buffers are one
 * per process (core/scratch.ts), the GRE reorder ring appears only when a packet waits in it; and sharing a
 * buffer stays correct when an in-memory transport re-enters the engines from inside `transmit`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CallSession } from "../../src/session/call.js";
import { GreChannel } from "../../src/pptp/gre-channel.js";
import { parseGreHeader, GreHeader } from "../../src/wire/gre.js";
import { unwrap } from "../../src/wire/result.js";
import { serverLinkConfig } from "../ppp/link-harness.js";

const CALLS = 200;

test("an idle call holds no per-call 4 KB buffer (ArrayBuffer memory per call < 4 KB)", () => {
  const held: CallSession[] = [];
  // One call first: what is made once per process (shared buffers, empty rings) is not counted below.
  held.push(new CallSession({ localCallId: 1, peerCallId: 1, peerReceiveWindow: 64, link: serverLinkConfig({}), greOut: () => {}, ipOut: () => {} }));
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < CALLS; i++) {
    held.push(
      new CallSession({ localCallId: 2 + i, peerCallId: 2 + i, peerReceiveWindow: 64, link: serverLinkConfig({ seed: i + 2 }), greOut: () => {}, ipOut: () => {} }),
    );
  }
  const perCall = (process.memoryUsage().arrayBuffers - before) / CALLS;
  assert.equal(held.length, CALLS + 1);
  // Before the buffers were shared a call held four of 4 KB (GRE send, frame build, MPPE plaintext in and out).
  assert.ok(perCall < 4096, `ArrayBuffer memory per idle call: ${perCall.toFixed(0)} octets`);
});

test("GreChannel.send re-entered from transmit: both packets leave intact", () => {
  const out: { from: string; payload: number[] }[] = [];
  const h = new GreHeader();
  let b: GreChannel | undefined;
  const record = (from: string) => (buf: Uint8Array, off: number, len: number) => {
    unwrap(parseGreHeader(buf, off, len, h));
    const payload = [...buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)];
    return { from, payload };
  };
  const a = new GreChannel({
    localCallId: 1,
    peerCallId: 2,
    peerReceiveWindow: 0,
    transmit: (buf, off, len) => {
      // The in-memory peer answers inside our transmit, using the shared buffer's fallback; ours must survive it.
      b?.send(0, new Uint8Array([9, 9, 9]));
      out.push(record("a")(buf, off, len));
    },
    deliver: () => {},
  });
  b = new GreChannel({ localCallId: 2, peerCallId: 1, peerReceiveWindow: 0, transmit: (buf, off, len) => out.push(record("b")(buf, off, len)), deliver: () => {} });
  a.send(0, new Uint8Array([1, 2, 3, 4]));
  assert.deepEqual(out, [
    { from: "b", payload: [9, 9, 9] },
    { from: "a", payload: [1, 2, 3, 4] },
  ]);
});
