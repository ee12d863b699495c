import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { loadSpool, Spool, type SpoolStore } from "../../../src/aaa/accounting/spool.js";

type Rec = { kind: string; n: number };

class MemStore implements SpoolStore {
  lines: string[] = [];
  replaced = 0;
  append(line: string): void {
    this.lines.push(line);
  }
  replace(lines: readonly string[]): void {
    this.lines = [...lines];
    this.replaced++;
  }
  text(): string {
    return this.lines.map((l) => l + "\n").join("");
  }
}

function open(store: MemStore, max = 100, extra: Partial<ConstructorParameters<typeof Spool<Rec>>[2]> = {}): Spool<Rec> {
  return new Spool<Rec>(store, loadSpool<Rec>(store.text()), { maxRecords: max, droppable: (r) => r.kind === "interim", ...extra });
}

test("records go out in order, one at a time, and a delivered one never comes back after a restart", () => {
  const store = new MemStore();
  const s = open(store);
  for (let n = 1; n <= 3; n++) assert.equal(s.add({ kind: "start", n }, 1000 + n), true);
  const a = s.next(0)!;
  assert.equal(a.record.n, 1);
  assert.equal(a.at, 1001);
  assert.equal(s.next(0), undefined, "only one in flight");
  s.delivered(a.seq);
  const b = s.next(0)!;
  assert.equal(b.record.n, 2);
  // Restart with record 2 in flight (never answered): 2 and 3 come back, 1 does not.
  const again = open(store);
  assert.deepEqual([again.next(0)!.record.n], [2]);
  assert.equal(again.pending, 2);
});

test("a torn last line after a crash is skipped and every earlier record is kept", () => {
  const store = new MemStore();
  const s = open(store);
  s.add({ kind: "start", n: 1 }, 1);
  s.add({ kind: "stop", n: 2 }, 2);
  const torn = store.text() + `R 3 3 {"kind":"st`;
  const loaded = loadSpool<Rec>(torn);
  assert.deepEqual(loaded.entries.map((e) => e.record.n), [1, 2]);
  assert.equal(loaded.badLines, 1);
  assert.equal(loaded.nextSeq, 3, "the torn record was never accepted: its number is used again");
  // A complete-looking line without its newline was not acknowledged as written either.
  assert.equal(loadSpool<Rec>(store.text() + "D 1").entries.length, 2);
  // Damage in the middle costs only that line.
  const damaged = loadSpool<Rec>(store.text().replace('"kind":"start"', '"kind":"st\u0000') + "R 9 9 {bad json\n");
  assert.deepEqual(damaged.entries.map((e) => e.record.n), [2]);
  assert.equal(damaged.badLines, 2);
});

test("a failed delivery waits with a growing pause on the clock, then the same record goes again", () => {
  const clock = new FakeClock(0);
  const s = open(new MemStore(), 10, { retryMs: 1000, retryMaxMs: 4000 });
  s.add({ kind: "stop", n: 1 }, 0);
  let e = s.next(clock.now)!;
  s.failed(e.seq, clock.now);
  assert.equal(s.pollTimeout(), 1000);
  assert.equal(s.next(clock.advance(999)), undefined);
  e = s.next(clock.advance(1))!;
  assert.equal(e.record.n, 1);
  s.failed(e.seq, clock.now);
  assert.equal(s.pollTimeout(), 1000 + 2000);
  clock.advance(2000);
  e = s.next(clock.now)!;
  s.failed(e.seq, clock.now);
  s.next(clock.advance(4000))!;
  s.failed(e.seq, clock.now);
  assert.equal(s.pollTimeout(), clock.now + 4000, "capped at retryMaxMs");
  s.next(clock.advance(4000));
  s.delivered(e.seq);
  assert.equal(s.pending, 0);
  assert.equal(s.stats().retries, 4);
});

test("when full, the oldest interim update is dropped; with none to drop the new record is refused and said so", () => {
  const logs: string[] = [];
  const store = new MemStore();
  const s = open(store, 3, { log: (l) => logs.push(l) });
  s.add({ kind: "start", n: 1 }, 0);
  s.add({ kind: "interim", n: 2 }, 0);
  s.add({ kind: "interim", n: 3 }, 0);
  assert.equal(s.add({ kind: "stop", n: 4 }, 0), true);
  assert.deepEqual(loadSpool<Rec>(store.text()).entries.map((e) => e.record.n), [1, 3, 4]);
  assert.equal(s.add({ kind: "interim", n: 5 }, 0), true);
  assert.equal(s.add({ kind: "stop", n: 6 }, 0), true, "drops interim 5");
  assert.equal(s.add({ kind: "stop", n: 7 }, 0), false);
  assert.deepEqual(loadSpool<Rec>(store.text()).entries.map((e) => e.record.n), [1, 4, 6]);
  assert.deepEqual({ dropped: s.stats().dropped, refused: s.stats().refused }, { dropped: 3, refused: 1 });
  assert.match(logs.at(-1)!, /spool full .* LOST: .*"n":7/);
});

test("an interim update in flight is not dropped from under the sender", () => {
  const s = open(new MemStore(), 2);
  s.add({ kind: "interim", n: 1 }, 0);
  s.add({ kind: "stop", n: 2 }, 0);
  const e = s.next(0)!;
  assert.equal(s.add({ kind: "stop", n: 3 }, 0), false);
  s.delivered(e.seq);
  assert.equal(s.next(0)!.record.n, 2);
});

test("compaction keeps the file small, the undelivered records and the numbering", () => {
  const store = new MemStore();
  const s = open(store, 1000, { compactAfter: 10 });
  for (let n = 1; n <= 50; n++) {
    s.add({ kind: "start", n }, n);
    if (n % 2 === 0) s.delivered(s.next(0)!.seq);
  }
  assert.ok(store.replaced >= 3);
  assert.ok(store.lines.length < 50, `file has ${store.lines.length} lines`);
  const loaded = loadSpool<Rec>(store.text());
  assert.deepEqual(loaded.entries.map((e) => e.record.n), Array.from({ length: 25 }, (_, i) => 26 + i));
  assert.equal(loaded.nextSeq, 51);
});

test("a record the server refuses rejectLimit times: the one behind it is tried; taken, the refused one is dropped durably; a full spool never drops the probe in flight", () => {
  const store = new MemStore();
  const logs: string[] = [];
  const s = open(store, 3, { rejectLimit: 2, retryMs: 10, log: (l) => logs.push(l) });
  s.add({ kind: "start", n: 1 }, 1);
  s.add({ kind: "interim", n: 2 }, 2);
  let t = 0;
  for (let i = 0; i < 2; i++) {
    const e = s.next((t += 1000))!;
    assert.equal(e.record.n, 1);
    s.rejected(e.seq, t, "status 2 ERROR");
  }
  // The probe: record 2 goes while 1 waits at the head.
  const probe = s.next((t += 1000))!;
  assert.equal(probe.record.n, 2);
  // The spool fills meanwhile: the droppable probe is in flight, so it is not the one dropped; nothing else is droppable.
  assert.equal(s.add({ kind: "stop", n: 3 }, 3), true);
  assert.equal(s.add({ kind: "stop", n: 4 }, 4), false, "refused: the only droppable record is in flight");
  s.delivered(probe.seq);
  assert.equal(s.stats().rejected, 1);
  assert.equal(s.stats().delivered, 1);
  assert.ok(logs.some((l) => /record #1 .* DROPPED: the server refused it 2 times/.test(l)), logs.join("\n"));
  assert.equal(s.next(t)!.record.n, 3, "the queue flows on");
  // Neither 1 nor 2 comes back after a restart.
  assert.deepEqual(loadSpool<Rec>(store.text()).entries.map((e) => e.record.n), [3]);
});

test("a failure (no answer) of the probe keeps both; a refusal of the probe is the server's fault: both kept, the head's count starts again", () => {
  const store = new MemStore();
  const s = open(store, 100, { rejectLimit: 1, retryMs: 10 });
  s.add({ kind: "start", n: 1 }, 1);
  s.add({ kind: "start", n: 2 }, 2);
  let t = 0;
  s.rejected(s.next((t += 1000))!.seq, t, "ERROR");
  const p1 = s.next((t += 1000))!;
  assert.equal(p1.record.n, 2);
  s.failed(p1.seq, t);
  const p2 = s.next((t += 1000))!;
  assert.equal(p2.record.n, 2, "the probe again after a timeout");
  s.rejected(p2.seq, t, "ERROR");
  assert.equal(s.next((t += 1000))!.record.n, 1, "back to the head");
  assert.equal(s.stats().rejected, 0);
  assert.equal(s.pending, 2);
});
