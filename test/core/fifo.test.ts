/** Fifo (src/core/fifo.ts): order kept whatever the mix of pushes and shifts; a lone item is held without an array. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Fifo } from "../../src/core/fifo.js";

describe("Fifo", () => {
  test("first in, first out across every size and interleaving", () => {
    const q = new Fifo<{ n: number }>();
    const out: number[] = [];
    let n = 0;
    for (const [pushes, shifts] of [[1, 1], [2, 1], [1, 3], [5, 2], [0, 4], [1, 0], [3, 5]]) {
      for (let i = 0; i < pushes; i++) q.push({ n: n++ });
      for (let i = 0; i < shifts; i++) {
        const x = q.shift();
        if (x) out.push(x.n);
      }
    }
    assert.deepEqual(out, Array.from({ length: n }, (_, i) => i));
    assert.equal(q.length, 0);
    assert.equal(q.shift(), undefined);
  });

  test("length, clear, typed arrays as items", () => {
    const q = new Fifo<Uint8Array>();
    q.push(Uint8Array.of(1));
    assert.equal(q.length, 1);
    q.push(Uint8Array.of(2));
    q.push(Uint8Array.of(3));
    assert.equal(q.length, 3);
    assert.deepEqual(q.shift(), Uint8Array.of(1));
    q.clear();
    assert.equal(q.length, 0);
    assert.equal(q.shift(), undefined);
  });

  test("a lone item is held as itself (no array per push), several in one array", () => {
    const q = new Fifo<{ n: number }>();
    const items = (): unknown => (q as unknown as { items: unknown }).items;
    q.push({ n: 1 });
    assert.ok(!Array.isArray(items()), "one item: no array made");
    q.push({ n: 2 });
    assert.ok(Array.isArray(items()));
    q.shift();
    q.shift();
    assert.equal(items(), undefined, "dropped when drained");
  });
});
