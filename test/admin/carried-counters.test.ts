import { test } from "node:test";
import assert from "node:assert/strict";
import { CarriedCounters } from "../../src/admin/carried-counters.js";

test("a reload's new AAA clients start at zero, yet the counters shown keep counting from the start", () => {
  const c = new CarriedCounters();
  const before = { "radius 10.0.0.5:1812": { requests: 7, timeouts: 1 } };
  assert.deepEqual(c.view(before), before);
  c.retire(before);
  // the new client after SIGHUP: same server, its own counters from zero
  assert.deepEqual(c.view({ "radius 10.0.0.5:1812": { requests: 2, timeouts: 0 } }), { "radius 10.0.0.5:1812": { requests: 9, timeouts: 1 } });
  // a second reload that drops that server and adds another: the old totals stay, never go down
  c.retire({ "radius 10.0.0.5:1812": { requests: 3, timeouts: 0 } });
  assert.deepEqual(c.view({ "tacacs 10.0.0.9:49": { requests: 1 } }), {
    "radius 10.0.0.5:1812": { requests: 10, timeouts: 1 },
    "tacacs 10.0.0.9:49": { requests: 1 },
  });
});

test("view never changes the base it adds to", () => {
  const c = new CarriedCounters();
  c.retire({ t: { a: 1 } });
  c.view({ t: { a: 5 } });
  assert.deepEqual(c.view({}), { t: { a: 1 } });
});
