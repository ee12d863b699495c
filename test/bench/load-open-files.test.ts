/**
 * The load run's open files (bench/load/open-files.ts, proc-stats.ts) and its steady-state idle window
 * (--settle): what lets `load --sessions 20000` run under a hard limit of 20,000 without CAP_SYS_RESOURCE.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { planOpenFiles } from "../../bench/load/open-files.js";
import { canRaiseHardLimit, noFileLimitFor } from "../../bench/load/proc-stats.js";
import { parseLoadOptions, SETTLE_STEADY_S } from "../../bench/load/options.js";
import { buildFigures, type RunRecord } from "../../bench/load/figures.js";

describe("bench load: open files", () => {
  test("20,000 sessions under a hard limit of 20,000 and no CAP_SYS_RESOURCE: two generators, the server short and told so", () => {
    const p = planOpenFiles(20_000, 1, 20_000, false);
    assert.equal(p.generators, 2);
    assert.equal(p.serverShort, true);
    assert.equal(p.notes.length, 2);
    assert.match(p.notes[0], /2 generator processes instead of 1/);
    assert.match(p.notes[1], /the server gets 20000 open files.*CAP_SYS_RESOURCE/);
  });

  test("fits: nothing changes, nothing said; CAP_SYS_RESOURCE: the children get what they need", () => {
    assert.deepEqual(planOpenFiles(5000, 1, 20_000, false), { generators: 1, serverShort: false, notes: [] });
    assert.deepEqual(planOpenFiles(20_000, 1, 20_000, true), { generators: 1, serverShort: false, notes: [] });
    assert.deepEqual(noFileLimitFor(20_512, 20_000, true), { limit: 20_512, short: false });
    assert.deepEqual(noFileLimitFor(20_512, 20_000, false), { limit: 20_000, short: true });
    assert.deepEqual(noFileLimitFor(612, 20_000, false), { limit: 4096, short: false });
  });

  test("CAP_SYS_RESOURCE is bit 24 of CapEff", () => {
    assert.equal(canRaiseHardLimit("CapInh:\t0\nCapEff:\t000001fffeffffff\n"), false);
    assert.equal(canRaiseHardLimit("CapEff:\t000001ffffffffff\n"), true);
    assert.equal(canRaiseHardLimit(""), false);
  });
});

describe("bench load: settle before the idle window", () => {
  test("a window of a PPTP echo period or more opens after the first echo rounds; shorter ones and explicit values as given", () => {
    const d = parseLoadOptions(["--idle", "90"]);
    assert.ok(typeof d === "object");
    assert.equal(d.settleS, SETTLE_STEADY_S);
    assert.ok(SETTLE_STEADY_S > 60);
    const q = parseLoadOptions(["--quick"]);
    assert.ok(typeof q === "object");
    assert.equal(q.settleS, 0);
    const e = parseLoadOptions(["--idle", "90", "--settle", "0"]);
    assert.ok(typeof e === "object");
    assert.equal(e.settleS, 0);
  });

  test("load.server_idle_cpu_20k: measured within 1 % of 20,000 (scale stated), and says whether the first echo rounds are in", () => {
    const options = parseLoadOptions(["--sessions", "20000", "--idle", "90"]);
    assert.ok(typeof options === "object");
    const r: RunRecord = {
      options,
      errors: [],
      ramp: { requested: 20_000, started: 20_000, up: 19_977, failures: {}, latenciesMs: [], elapsedMs: 10_000, addresses: [], mppe: {}, aborted: false } as unknown as RunRecord["ramp"],
      idle: { serverCpuS: 0.9, wallS: 90, generatorCpuS: 1, generatorWallS: 90, full: true },
    };
    const f = buildFigures(r).find((x) => x.name === "load.server_idle_cpu_20k");
    assert.ok(f);
    assert.match(String(f.note), /^measured at 19977 sessions, scaled by 1\.0012; after 65 s of settling/);
    const early = buildFigures({ ...r, options: { ...options, settleS: 0 } }).find((x) => x.name === "load.server_idle_cpu_20k");
    assert.match(String(early?.note), /right after the ramp: holds the first echo rounds/);
  });
});

describe("bench load: --server-node-options", () => {
  test("node options pass through; anything else is refused", () => {
    const o = parseLoadOptions(["--server-node-options", "--max-semi-space-size=2 --trace-gc"]);
    assert.ok(typeof o === "object");
    assert.equal(o.serverNodeOptions, "--max-semi-space-size=2 --trace-gc");
    assert.match(parseLoadOptions(["--server-node-options", "rm -rf /"]) as string, /needs node options/);
  });
});
