/**
 * The event-loop gauge of `show stats` ("event-loop"): a turn that holds the loop shows as its max, including a
 * hold that starts right after one of the two histograms was reset. Real time here (perf_hooks samples libuv's
 * clock): the test only checks that a hold of 300 ms reads as at least 200 ms, never a speed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LoopLag } from "../../src/admin/loop-lag.js";
import { processTarget, type ServerSide } from "../../src/admin/target.js";

const hold = (ms: number) => {
  const t = performance.now();
  while (performance.now() - t < ms);
};
const turn = (ms = 30) => new Promise((r) => setTimeout(r, ms));

test("a 300 ms hold of the loop reads as max-ms, also when it starts as a histogram is reset", async () => {
  const lag = new LoopLag();
  try {
    await turn();
    hold(300);
    await turn();
    const s = lag.stats();
    assert.ok(s["max-ms"] >= 200, `max-ms ${s["max-ms"]}`);
    assert.ok(s["worst-ms"] >= s["max-ms"]);
    assert.equal(s["window-s"], 20);
  } finally {
    lag.close();
  }
  // Right after a rotation (a histogram reset), a hold is still seen: by the one not reset.
  const fresh = new LoopLag();
  try {
    await turn();
    (fresh as unknown as { rotate(): void }).rotate();
    hold(300);
    await turn();
    assert.ok(fresh.stats()["max-ms"] >= 200, `after a reset: max-ms ${fresh.stats()["max-ms"]}`);
  } finally {
    fresh.close();
  }
});

test("show stats of a server target carries the event-loop topic", () => {
  const server = { find: () => [], disconnect: () => false, changeTimeouts: () => false, poolStatus: () => [], stats: () => ({ sessions: { up: 0 } }), tunnels: () => [], clearTunnel: () => [], startCapture: () => "no" } as unknown as ServerSide;
  const stats = processTarget({ server, clients: [] }).stats!();
  assert.deepEqual(Object.keys(stats["event-loop"]).sort(), ["max-ms", "mean-ms", "p99-ms", "window-s", "worst-ms"]);
  assert.deepEqual(stats.sessions, { up: 0 });
});
