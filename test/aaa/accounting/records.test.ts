import { test } from "node:test";
import assert from "node:assert/strict";
import { accountingAttributes, AcctStatus, isDroppable, sessionRecord } from "../../../src/aaa/accounting/records.js";
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
