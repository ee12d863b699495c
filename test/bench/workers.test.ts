/**
 * The workers bench's option parsing and figure lines (bench/workers/main.ts): ratios against the 1-worker run of
 * the same record, names as issue 11 asks. The measuring itself needs root and runs in `npm run bench -- workers`.
 */
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { downloadFigures, FULL, parseWorkersOptions, QUICK, workersFigures, type DownRun, type WorkersRun } from "../../bench/workers/main.js";
import { formatFigure } from "../../bench/load/report.js";

function run(workers: number, mbps: number, cpuPerByteNs: number): WorkersRun {
  return { workers, mbps, cpuPerByteNs, serverCpuS: 1, generatorCpuS: 0.5, offeredPackets: 100, delivered: 99, perWorker: [99], windowTimeouts: 0, windowS: 3, early: false };
}

describe("bench workers", () => {
  test("--quick is the default, --full measures up to four workers, options override", () => {
    assert.deepEqual(parseWorkersOptions([]), QUICK);
    assert.deepEqual(parseWorkersOptions(["--full"]), FULL);
    const o = parseWorkersOptions(["--quick", "--workers", "1,3", "--calls", "6", "--seconds", "2"]);
    assert.ok(typeof o !== "string");
    assert.deepEqual([o.workers, o.calls, o.seconds], [[1, 3], 6, 2]);
  });

  test("bad options are refused with the reason", () => {
    assert.match(parseWorkersOptions(["--workers", "0,2"]) as string, /--workers/);
    assert.match(parseWorkersOptions(["--size", "20"]) as string, /--size/);
    assert.match(parseWorkersOptions(["--calls", "x"]) as string, /positive number/);
    assert.match(parseWorkersOptions(["--wrokers"]) as string, /unknown option "--wrokers"/);
  });

  test("each worker count gets throughput and CPU per byte with ratios to the 1-worker run", () => {
    const lines = workersFigures([run(1, 400, 8), run(2, 700, 8.4)]).map(formatFigure);
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^workers\.1\.aggregate_mbps: 400 Mbit\/s \(ratio 1\.000 to workers\.1\.aggregate_mbps; server CPU/);
    assert.match(lines[1], /^workers\.1\.server_cpu_per_byte: 8 ns\/B \(ratio 1\.000 to workers\.1\.server_cpu_per_byte/);
    assert.match(lines[2], /^workers\.2\.aggregate_mbps: 700 Mbit\/s \(ratio 1\.750 to workers\.1\.aggregate_mbps/);
    assert.match(lines[3], /^workers\.2\.server_cpu_per_byte: 8\.4\d* ns\/B \(ratio 1\.050 to workers\.1\.server_cpu_per_byte/);
  });

  test("the download direction: throughput and CPU per byte sent, with ratios to the 1-worker download run", () => {
    const d = (workers: number, mbps: number, cpuPerByteNs: number): DownRun => ({ workers, mbps, cpuPerByteNs, serverCpuS: 1, sourceCpuS: 2, sent: 90, offered: 100, windowS: 3 });
    const lines = downloadFigures([d(1, 400, 6), d(2, 600, 6.6)]).map(formatFigure);
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^workers\.1\.download_mbps: 400 Mbit\/s \(ratio 1\.000 to workers\.1\.download_mbps; server CPU/);
    assert.match(lines[2], /^workers\.2\.download_mbps: 600 Mbit\/s \(ratio 1\.500 to workers\.1\.download_mbps/);
    assert.match(lines[3], /^workers\.2\.download_server_cpu_per_byte: 6\.6\d* ns\/B \(ratio 1\.100 to workers\.1\.download_server_cpu_per_byte/);
    assert.equal(parseWorkersOptions([]).toString() === "[object Object]" && (parseWorkersOptions([]) as { direction: string }).direction, "both");
    assert.match(parseWorkersOptions(["--direction", "sideways"]) as string, /--direction/);
  });
});
