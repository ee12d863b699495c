/**
 * Interim-Update timing (RFC 2869 §5.16): a backend's Acct-Interim-Interval below 60 s is floored to 60 s, like the
 * [accounting] interim-interval key; 0 means none. The CLI end-to-end test (test/runtime/aaa-cli.test.ts) cannot
 * wait a minute, so the floor is pinned here on the hooks' own clock.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AccountingHooks, newAccountingState, MIN_INTERIM_MS } from "../../src/server/accounting-hooks.js";
import type { AccountingSink, SessionSnapshot } from "../../src/aaa/types.js";

function rig() {
  const seen: string[] = [];
  const sink = {
    accountingOn: () => void seen.push("on"),
    start: () => void seen.push("start"),
    interim: () => void seen.push("interim"),
    stop: () => void seen.push("stop"),
    accountingOff: async () => void seen.push("off"),
  } as unknown as AccountingSink;
  const hooks = new AccountingHooks(sink, (what, e) => assert.fail(`${what}: ${String(e)}`));
  const snap = () => ({}) as SessionSnapshot;
  return { seen, hooks, snap };
}

test("Acct-Interim-Interval 10 s from the backend: the first Interim-Update comes at 60 s, then every 60 s", () => {
  const { seen, hooks, snap } = rig();
  const st = newAccountingState();
  hooks.start(st, 1000, snap);
  for (let t = 1000; t < 1000 + MIN_INTERIM_MS; t += 10_000) assert.equal(hooks.interimIfDue(st, t, 10_000, snap), false, `not at ${t - 1000} ms`);
  assert.equal(hooks.interimIfDue(st, 1000 + MIN_INTERIM_MS - 1, 10_000, snap), false);
  assert.equal(hooks.interimIfDue(st, 1000 + MIN_INTERIM_MS, 10_000, snap), true);
  assert.equal(hooks.interimIfDue(st, 1000 + MIN_INTERIM_MS + 10_000, 10_000, snap), false, "10 s later: still floored");
  assert.equal(hooks.interimIfDue(st, 1000 + 2 * MIN_INTERIM_MS, 10_000, snap), true);
  assert.deepEqual(seen, ["start", "interim", "interim"]);
});

test("an interval above the floor is kept; 0 means no Interim-Update; none after the Stop", () => {
  const { seen, hooks, snap } = rig();
  const st = newAccountingState();
  hooks.start(st, 0, snap);
  assert.equal(hooks.interimIfDue(st, 119_999, 120_000, snap), false);
  assert.equal(hooks.interimIfDue(st, 120_000, 120_000, snap), true);
  assert.equal(hooks.interimIfDue(st, 10 * 120_000, 0, snap), false, "0 = off");
  assert.equal(hooks.stop(st, "user-request", snap), true);
  assert.equal(hooks.interimIfDue(st, 20 * 120_000, 120_000, snap), false);
  assert.deepEqual(seen, ["start", "interim", "stop"]);
});
