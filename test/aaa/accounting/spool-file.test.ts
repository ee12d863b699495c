import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSpool } from "../../../src/io/spool-file.js";

test("a torn tail is cut on open, so the next record starts on its own line and survives the next restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "spool-file-"));
  try {
    const path = join(dir, "sub", "acct.spool");
    let { spool, file } = openSpool<{ n: number }>(path, { maxRecords: 10 });
    spool.add({ n: 1 }, 1);
    file.close();
    writeFileSync(path, readFileSync(path, "utf8") + `R 2 2 {"n":`);
    const logs: string[] = [];
    ({ spool, file } = openSpool<{ n: number }>(path, { maxRecords: 10, log: (l) => logs.push(l) }));
    assert.equal(spool.stats().badLines, 1);
    assert.match(logs.join("\n"), /torn by a crash/);
    spool.add({ n: 2 }, 2);
    file.close();
    const again = openSpool<{ n: number }>(path, { maxRecords: 10 });
    assert.deepEqual([again.spool.next(0)!.record.n], [1]);
    assert.equal(again.spool.pending, 2);
    assert.equal(again.spool.stats().badLines, 0);
    again.file.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("compaction on disk: the file shrinks, no temp file is left, the rest reloads", () => {
  const dir = mkdtempSync(join(tmpdir(), "spool-file-"));
  try {
    const path = join(dir, "acct.spool");
    const { spool, file } = openSpool<{ n: number }>(path, { maxRecords: 1000, compactAfter: 20 });
    for (let n = 1; n <= 100; n++) {
      spool.add({ n }, n);
      if (n <= 95) spool.delivered(spool.next(0)!.seq);
    }
    assert.ok(file.size() < 30 * 30, `spool is ${file.size()} bytes`);
    file.close();
    assert.deepEqual(readdirSync(dir), ["acct.spool"]);
    const again = openSpool<{ n: number }>(path, { maxRecords: 1000 });
    assert.equal(again.spool.pending, 5);
    assert.equal(again.spool.next(0)!.record.n, 96);
    again.file.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
