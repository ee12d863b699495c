import { test } from "node:test";
import assert from "node:assert/strict";
import { accountingAttributes, AcctStatus, isDroppable, parseAcctRecord, sessionRecord } from "../../../src/aaa/accounting/records.js";
import { loadSpool } from "../../../src/aaa/accounting/spool.js";
import { readInteger } from "../../../src/aaa/radius/attributes.js";
import { Attr } from "../../../src/aaa/radius/dictionary.js";
import type { SessionSnapshot } from "../../../src/aaa/types.js";

const s: SessionSnapshot = {
  sessionId: "X1", callId: 9, user: "bob", peerAddress: "198.51.100.9", localAddress: "203.0.113.1", framedAddress: "10.0.0.9",
  startedAt: 0, durationMs: 125_999, inOctets: 2 ** 32 * 3 + 10, outOctets: 2 ** 32 - 1, inPackets: 7, outPackets: 8, backend: "local",
};

function get(attrs: ReturnType<typeof accountingAttributes>, type: number): number | undefined {
  return readInteger(attrs.find((a) => a.type === type)?.value);
}

test("Acct-Delay-Time counts from the event to this send; Event-Timestamp stays the event's time (RFC 2866 §5.2, RFC 2869 §5.3)", () => {
  const r = sessionRecord(AcctStatus.Stop, s, "idle-timeout");
  const at = 1_800_000_000_500;
  assert.equal(get(accountingAttributes(r, at, at + 999, {}), Attr.AcctDelayTime), 0);
  const later = accountingAttributes(r, at, at + 93_400, {});
  assert.equal(get(later, Attr.AcctDelayTime), 93);
  assert.equal(get(later, Attr.EventTimestamp), 1_800_000_000);
});

test("Stop: Gigawords split, session time in whole seconds, cause code, Acct-Authentic Local for a local login", () => {
  const a = accountingAttributes(sessionRecord(AcctStatus.Stop, s, "idle-timeout"), 0, 0, { nasIdentifier: "n" });
  assert.deepEqual(
    [Attr.AcctInputOctets, Attr.AcctInputGigawords, Attr.AcctOutputOctets, Attr.AcctOutputGigawords, Attr.AcctSessionTime, Attr.AcctTerminateCause, Attr.AcctAuthentic, Attr.NasPort].map((t) => get(a, t)),
    [10, 3, 2 ** 32 - 1, 0, 125, 4, 2, 9],
  );
  const start = accountingAttributes(sessionRecord(AcctStatus.Start, s), 0, 0, {});
  assert.equal(get(start, Attr.AcctInputOctets), undefined);
  assert.equal(get(start, Attr.AcctTerminateCause), undefined);
  assert.equal(isDroppable(sessionRecord(AcctStatus.InterimUpdate, s)), true);
  assert.equal(isDroppable(sessionRecord(AcctStatus.Stop, s, "user-request")), false);
});

test("a record read back from the spool is taken only if we could have written it (damaged but parseable lines are skipped)", () => {
  // Every record the server writes survives the JSON round trip through the spool.
  const written = [
    { status: AcctStatus.AccountingOn },
    { status: AcctStatus.AccountingOff },
    sessionRecord(AcctStatus.Start, s),
    sessionRecord(AcctStatus.InterimUpdate, s),
    { ...sessionRecord(AcctStatus.Stop, s, "idle-timeout"), classes: ["0a0b", "ff"] },
  ];
  for (const r of written) {
    const stored: unknown = JSON.parse(JSON.stringify(r));
    assert.deepEqual(parseAcctRecord(stored), stored);
  }
  const stop = sessionRecord(AcctStatus.Stop, s, "user-request");
  const damaged: unknown[] = [
    null,
    "R",
    { ...stop, status: 99 },
    { ...stop, status: "2" },
    { ...stop, framed: "10.0.0.999" },
    { ...stop, inOctets: -1 },
    { ...stop, time: 1.5 },
    { ...stop, callId: 70_000 },
    { ...stop, authentic: 3 },
    { ...stop, cause: 0 },
    { ...stop, classes: ["zz"] },
    { ...stop, classes: "0a" },
    { ...stop, sessionId: 12 },
    { ...stop, peer: "x".repeat(300) },
  ];
  for (const d of damaged) assert.equal(parseAcctRecord(d), undefined, JSON.stringify(d)?.slice(0, 80));
  // Through the spool's loader: the damaged lines are counted and named, the good ones kept in order.
  const text = [
    `R 1 1000 ${JSON.stringify(stop)}`,
    `R 2 1001 ${JSON.stringify({ ...stop, framed: "not an address" })}`,
    `R 3 1002 ${JSON.stringify({ status: AcctStatus.AccountingOn })}`,
    `R 4 1003 ${JSON.stringify({ ...stop, status: 42 })}`,
    "",
  ].join("\n");
  const loaded = loadSpool(text, parseAcctRecord);
  assert.deepEqual(loaded.entries.map((e) => e.seq), [1, 3]);
  assert.equal(loaded.badLines, 2);
  assert.deepEqual(loaded.badLineNumbers, [2, 4]);
});
