/**
 * ConnectionRunner's timers (src/io/connection-runner.ts) on a busy session: the near deadline (a GRE ack wait)
 * comes back after every firing, and the far one (a keepalive) stays in the wheel meanwhile. What the lab guest's
 * profile showed per packet before (bench/README, "The anchor, session 9"): a new setTimeout and closure per ack
 * wait, and the wheel's interval cleared and started again each time the connection went near and back.
 *
 * A scripted connection stands in for the session engine; the runner's clock is fake (so delays are exact), its
 * Node timers are real but 2 ms long, and the wheel's interval is a counter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type * as net from "node:net";
import { ConnectionRunner, type RunnableConnection } from "../../src/io/connection-runner.js";
import { DeadlineWheel } from "../../src/io/deadline-wheel.js";

test("a near deadline that comes back after each firing re-arms one Timeout; the far one stays filed", async () => {
  let now = 1_000;
  const FAR = 60_000;
  const NEAR = 2;
  let fires = 0;
  let nearAt: number | undefined = now + NEAR;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const conn = {
    isClosed: false,
    pollEvent: () => undefined,
    pollTransmit: () => undefined,
    pollTimeout: () => (nearAt !== undefined ? Math.min(nearAt, FAR) : FAR),
    handleTimeout() {
      // A real timer of NEAR ms fired: the fake clock is at the deadline now.
      if (nearAt === undefined) return;
      now = nearAt;
      fires++;
      // The next packet's ack wait, or (after 40) the session goes quiet: only the keepalive is left.
      nearAt = fires < 40 ? now + NEAR : undefined;
      if (fires === 40) setImmediate(done);
    },
  };
  let intervalStarts = 0;
  let intervalStops = 0;
  const wheel = new DeadlineWheel({
    now: () => now,
    setInterval: () => ++intervalStarts,
    clearInterval: () => void intervalStops++,
  });
  const socket = { destroyed: false, write: () => true, end: () => {}, destroy: () => {} } as unknown as net.Socket;
  const runner = new ConnectionRunner({
    conn: conn as unknown as RunnableConnection,
    socket,
    now: () => now,
    wheel,
    onEvent: () => {},
    onGone: () => {},
  });
  // The far deadline first (an idle session), then traffic starts: near deadlines from here on.
  nearAt = undefined;
  runner.service();
  assert.equal(wheel.size, 1, "the keepalive is filed in the wheel");
  nearAt = now + NEAR;
  const realSetTimeout = globalThis.setTimeout;
  let setTimeouts = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => (setTimeouts++, realSetTimeout(fn, ms))) as typeof setTimeout;
  try {
    runner.service();
    await finished;
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.equal(fires, 40, "every ack wait fired");
  assert.equal(setTimeouts, 1, "one setTimeout; the 39 later waits re-armed it with refresh()");
  assert.equal(wheel.size, 1, "the keepalive stayed in the wheel throughout");
  assert.equal(intervalStarts, 1, "the wheel's interval was started once");
  assert.equal(intervalStops, 0, "and never stopped while the connection went near and back");
  runner.destroy();
  assert.equal(wheel.size, 0);
});
