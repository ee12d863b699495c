/**
 * flushAtEndOfTurn (src/io/end-of-turn.ts): the send queues' shared end-of-turn flush.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { flushAtEndOfTurn } from "../../src/io/end-of-turn.js";

test("queues asked during a turn flush once each, in the order they asked, after the turn's synchronous work", async () => {
  const log: string[] = [];
  const gre = () => log.push("gre");
  const tun = () => log.push("tun");
  flushAtEndOfTurn(gre);
  flushAtEndOfTurn(tun);
  log.push("sync");
  await Promise.resolve(); // the flush was queued first, so it has run once this microtask is reached
  assert.deepEqual(log, ["sync", "gre", "tun"]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ["sync", "gre", "tun"], "nothing flushes twice");
});

test("a flush that queues more and asks again is flushed in the same pass; the next turn asks anew", async () => {
  const log: string[] = [];
  let again = true;
  const a = (): void => {
    log.push("a");
    if (again) {
      again = false;
      flushAtEndOfTurn(a);
    }
  };
  flushAtEndOfTurn(a);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ["a", "a"]);
  flushAtEndOfTurn(() => log.push("b"));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ["a", "a", "b"], "scheduled again after the pass ended");
});
