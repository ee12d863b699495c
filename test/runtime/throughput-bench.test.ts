/**
 * The throughput bench end to end (root: namespaces, raw GRE, two TUN devices): `node dist/bench/run.js throughput
 * --quick --direction up` against the real server and `pptp-ts connect`, and its output checked for what must be
 * true — every figure line in the `NAME: value unit (ratio R to BASELINE)` form with finite positive values, bytes
 * actually through the tunnel, the cost ratio consistent with the two figures it divides, exit 0, and nothing of the
 * run left behind (namespaces). The figures themselves are not judged: this machine's speed is not the test's business.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { privilegedSkip } from "../io/netns.js";

const RUN = fileURLToPath(new URL("../../bench/run.js", import.meta.url));

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, "throughput", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`bench throughput did not finish within ${timeoutMs / 1000} s:\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith("pptpts-load-"));
}

describe("bench throughput: one session, bulk TCP through the tunnel", { skip: privilegedSkip("the throughput bench (network namespaces, raw GRE, TUN)"), timeout: 120_000 }, () => {
  test("prints the figure lines with a cost ratio against openssl measured in the run, and cleans up", async () => {
    const r = await runBench(["--quick", "--direction", "up"], 100_000);
    const ctx = `\n${r.stdout}\n${r.stderr}`;
    assert.equal(r.code, 0, ctx);
    const figures = new Map<string, { value: number; rest: string }>();
    for (const line of r.stdout.split("\n")) {
      if (line.startsWith("#") || line === "") continue;
      const m = /^(throughput\.[a-z0-9_]+): ([0-9.]+)(.*)$/.exec(line);
      assert.ok(m, `a figure line: ${line}${ctx}`);
      figures.set(m[1], { value: Number(m[2]), rest: m[3] });
    }
    for (const name of ["throughput.rc4_openssl", "throughput.up_mbps", "throughput.up_server_cpu", "throughput.up_bytes_per_server_cpu_second", "throughput.cost_ratio"]) {
      const f = figures.get(name);
      assert.ok(f && Number.isFinite(f.value) && f.value > 0, `${name} present and positive${ctx}`);
    }
    assert.equal(figures.has("throughput.down_mbps"), false, "--direction up measures up only");
    const base = figures.get("throughput.rc4_openssl")!.value;
    const perCpu = figures.get("throughput.bytes_per_server_cpu_second")!.value;
    const ratio = figures.get("throughput.cost_ratio")!;
    assert.ok(Math.abs(ratio.value - perCpu / base) < 0.01 * Math.max(1, ratio.value) + 0.001, `cost ratio = bytes per server CPU-second / openssl${ctx}`);
    assert.match(ratio.rest, /\(ratio [0-9.]+ to openssl rc4 1400-byte blocks [0-9.]+ MB\/s measured in this run; goal ≥ 0\.4\)/);
    // Only this run's own (other root tests, e.g. the load bench's, may hold namespaces of the same prefix meanwhile).
    const own = /namespaces (pptpts-load-\S+) and (pptpts-load-\S+)/.exec(r.stderr);
    assert.ok(own, `the run names its namespaces${ctx}`);
    assert.deepEqual(namespaces().filter((n) => n === own[1] || n === own[2]), [], "the run's namespaces are gone");
  });
});
