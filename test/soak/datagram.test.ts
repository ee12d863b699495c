/** The soak's datagram checker and RSS judgement on their own: they must catch what the soak relies on them to catch. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildDatagram, checkDatagram, datagramLength, MAX_DATAGRAM, HEADER, SeqTracker } from "./datagram.js";
import { judgeRss } from "./soak.js";

test("a datagram checks out as exactly the one its header names; lengths span HEADER..MAX_DATAGRAM", () => {
  const buf = new Uint8Array(MAX_DATAGRAM);
  const lengths = new Set<number>();
  for (let seq = 0; seq < 2000; seq++) {
    const len = buildDatagram(buf, 10203, seq, (seq & 1) as 0 | 1);
    assert.equal(len, datagramLength(10203, seq, (seq & 1) as 0 | 1));
    assert.ok(len >= HEADER && len <= MAX_DATAGRAM);
    lengths.add(len);
    assert.deepEqual(checkDatagram(buf.subarray(0, len)), { ok: true, flow: 10203, seq, dir: seq & 1 });
  }
  assert.ok(lengths.size > 500, "lengths vary");
});

test("any flipped bit, a truncation, or another datagram's payload under this header is caught", () => {
  const a = new Uint8Array(MAX_DATAGRAM);
  const len = buildDatagram(a, 7, 41, 0);
  for (let i = 0; i < len; i++) {
    const d = a.slice(0, len);
    d[i] ^= 1 << (i & 7);
    assert.equal(checkDatagram(d).ok, false, `bit flip in byte ${i}`);
  }
  assert.equal(checkDatagram(a.subarray(0, len - 1)).ok, false, "truncated");
  const b = new Uint8Array(MAX_DATAGRAM);
  const lenB = buildDatagram(b, 7, 42, 0);
  const mixed = b.slice(0, lenB);
  mixed.set(a.subarray(0, HEADER));
  assert.equal(checkDatagram(mixed).ok, false, "header of 41 on the payload of 42");
  const wrongDir = a.slice(0, len);
  wrongDir[12] = 1;
  assert.equal(checkDatagram(wrongDir).ok, false, "the downstream twin is another datagram");
});

test("SeqTracker counts duplicates and out-of-order arrivals exactly", () => {
  const t = new SeqTracker();
  for (const s of [0, 1, 2, 5, 3, 3, 4, 9000, 9000, 6]) t.record(s);
  assert.equal(t.received, 8);
  assert.equal(t.duplicates, 2);
  assert.equal(t.reordered, 3); // 3, 4 (after 5) and 6 (after 9000)
  assert.equal(t.highest, 9000);
});

test("judgeRss: a saw-tooth around a level is flat, a steady climb is not", () => {
  const flat = Array.from({ length: 120 }, (_, i) => [i, 70_000 + (i % 10) * 800] as [number, number]);
  assert.equal(judgeRss(flat, 0.1).flat, true);
  // +100 kB/s: 12 MB over the judged 90 s of a 120 s series, on 70 MB.
  const leak = Array.from({ length: 120 }, (_, i) => [i, 70_000 + i * 100 + (i % 10) * 800] as [number, number]);
  const v = judgeRss(leak, 0.1);
  assert.equal(v.flat, false, JSON.stringify(v));
  assert.equal(judgeRss(flat.slice(0, 4), 0.1).flat, false, "too few samples to judge");
});
