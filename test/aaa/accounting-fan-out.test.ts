import { test } from "node:test";
import assert from "node:assert/strict";
import { AccountingFanOut } from "../../src/aaa/accounting-fan-out.js";
import type { AccountingSink, SessionSnapshot, TerminateCause } from "../../src/aaa/types.js";

function recorder(name: string, log: string[], fail = false): AccountingSink {
  const rec = (what: string) => {
    log.push(`${name} ${what}`);
    if (fail) throw new Error(`${name} broke`);
  };
  return {
    accountingOn: () => rec("on"),
    start: (s) => rec(`start ${s.sessionId}`),
    interim: (s) => rec(`interim ${s.sessionId}`),
    stop: (s, c: TerminateCause) => rec(`stop ${s.sessionId} ${c}`),
    accountingOff: async () => {
      log.push(`${name} off`);
      if (fail) throw new Error(`${name} off broke`);
    },
  };
}

const snap = { sessionId: "S1" } as SessionSnapshot;

test("every event reaches every sink, in order, even when one sink throws", async () => {
  const log: string[] = [];
  const errors: string[] = [];
  const f = new AccountingFanOut([recorder("radius", log, true), recorder("tacacs", log)], (e) => errors.push(e.message));
  f.accountingOn();
  f.start(snap);
  f.interim(snap);
  f.stop(snap, "idle-timeout");
  await f.accountingOff();
  assert.deepEqual(log, [
    "radius on", "tacacs on",
    "radius start S1", "tacacs start S1",
    "radius interim S1", "tacacs interim S1",
    "radius stop S1 idle-timeout", "tacacs stop S1 idle-timeout",
    "radius off", "tacacs off",
  ]);
  assert.equal(errors.length, 5);
});
