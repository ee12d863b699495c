import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { Netns, privilegedSkip, runWorker, Worker } from "./netns.js";

describe("native endpoint lifecycle", { skip: privilegedSkip("native endpoint lifecycle") }, () => {
  let ns: Netns;
  before(() => {
    ns = Netns.create();
  });
  after(() => ns?.destroy());

  test("200 × open/start/close of a GRE socket and a TUN device leaks no file descriptor", async () => {
    const r = (await runWorker(ns, "open-close", { iterations: 200 }, {}, 60000)) as unknown as {
      iterations: number;
      before: number;
      maxDuring: number;
      afterSync: number;
      after: number;
      leftoverTun: boolean;
    };
    assert.equal(r.iterations, 200);
    assert.equal(r.maxDuring, r.before + 2, "exactly two fds while one socket and one TUN are open");
    assert.equal(r.afterSync, r.before, "close() releases the fds synchronously");
    assert.equal(r.after, r.before);
    assert.equal(r.leftoverTun, false, "the non-persistent TUN device disappears with its last fd");
  });

  test("endpoints dropped without close() are closed when garbage-collected", async () => {
    const r = (await runWorker(ns, "gc-closes", { count: 20 }, { nodeArgs: ["--expose-gc"] })) as unknown as {
      before: number;
      opened: number;
      after: number;
    };
    assert.equal(r.opened, r.before + 40);
    assert.equal(r.after, r.before);
  });

  test("a worker thread that ends with readers open releases them (env teardown hook), without crashing", async () => {
    const r = (await runWorker(ns, "thread-exit", { threads: 4 })) as unknown as { before: number; whileOpen: number[]; after: number };
    assert.equal(r.whileOpen.length, 4);
    for (const n of r.whileOpen) assert.ok(n >= r.before + 2, `socket and TUN fds open in the thread (${n} vs ${r.before})`);
    assert.equal(r.after, r.before, "all fds of the terminated threads were closed");
  });

  test("unref() lets the process exit while readers are started", async () => {
    const w = new Worker(ns, "unref-exit", {});
    const exit = await w.exit(5000);
    assert.equal(exit.code, 0, exit.stderr);
    assert.ok(exit.messages.some((m) => m.event === "result"));
  });

  test("a started reader keeps the process alive until closed (like a dgram socket)", async () => {
    const w = new Worker(ns, "ref-stays-alive", {});
    try {
      await w.waitFor("result", 5000);
      await sleep(500);
      assert.equal(w.running, true);
    } finally {
      w.kill();
    }
  });
});
