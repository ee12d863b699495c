/**
 * `npm run fuzz -- [--seconds N] [--target NAME[,NAME]] [--seed S] [--timeout MS] [--out DIR] [--runs N] [--jobs N]`
 *
 * Runs each target in a worker thread for its share of the time budget (or N inputs each), `--jobs` targets at a
 * time (the budget is CPU-seconds over all targets: 600 s with 2 jobs takes 300 s of wall time), prints executions,
 * exec/s and crashes per target, saves every crashing input to DIR (default fuzz-crashes/) as JSON that
 * test/fuzz/regressions/ accepts as is, and exits 1 on any crash. A crash is an exception escaping the code under
 * test, an invariant failure, or a hang: no execution finished within the per-input time limit (the worker is
 * killed and the input it was running is regenerated from the seed and saved).
 */
import { Worker } from "node:worker_threads";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Failure, RunResult } from "./engine.js";
import { TARGETS } from "./targets/index.js";

interface Args {
  seconds: number;
  targets: string[];
  seed: number;
  timeoutMs: number;
  out: string;
  runs: number | undefined;
  jobs: number;
  /** Seconds for named targets (`--time NAME=S,...`); the others share what is left of --seconds evenly. */
  fixed: Map<string, number>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 60, targets: TARGETS.map((t) => t.name), seed: (Date.now() ^ (process.pid << 16)) >>> 0, timeoutMs: 5000, out: "fuzz-crashes", runs: undefined, jobs: 1, fixed: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined) throw new Error(`${k} needs a value`);
      i++;
      return v;
    };
    if (k === "--seconds") a.seconds = Number(need());
    else if (k === "--target") a.targets = need().split(",");
    else if (k === "--seed") a.seed = Number(need()) >>> 0;
    else if (k === "--timeout") a.timeoutMs = Number(need());
    else if (k === "--out") a.out = need();
    else if (k === "--runs") a.runs = Number(need());
    else if (k === "--time") {
      for (const part of need().split(",")) {
        const [n, sec] = part.split("=");
        a.fixed.set(n, Number(sec));
      }
    } else if (k === "--jobs") a.jobs = Math.max(1, Math.floor(Number(need())));
    else if (k === "--list") {
      for (const t of TARGETS) console.log(`${t.name.padEnd(22)} ${t.description}`);
      process.exit(0);
    } else throw new Error(`unknown argument ${k}; usage: npm run fuzz -- [--seconds N] [--target NAME[,NAME]] [--seed S] [--timeout MS] [--out DIR] [--runs N] [--jobs N] [--time NAME=S,...] [--list]`);
  }
  for (const n of a.targets) if (!TARGETS.some((t) => t.name === n)) throw new Error(`no fuzz target "${n}"; targets: ${TARGETS.map((t) => t.name).join(", ")}`);
  if (!(a.seconds > 0) || !(a.timeoutMs > 0)) throw new Error("--seconds and --timeout must be positive");
  return a;
}

const STARTUP_GRACE_MS = 300_000;

const workerUrl = new URL("./worker.js", import.meta.url);

function extractInput(target: string, seed: number, index: number, runs: number | undefined): Promise<unknown> {
  return new Promise((resolve) => {
    const w = new Worker(workerUrl, { workerData: { mode: "extract", target, seed, index, runs, progress: new Int32Array(new SharedArrayBuffer(8)) } });
    w.once("message", (m: { input: unknown }) => {
      void w.terminate();
      resolve(m.input);
    });
    w.once("error", (e) => resolve({ extractError: String(e) }));
  });
}

interface Outcome {
  result: RunResult;
  coverage: Record<string, number>;
}

function runInWorker(target: string, seed: number, ms: number, runs: number | undefined, timeoutMs: number): Promise<Outcome> {
  const progress = new Int32Array(new SharedArrayBuffer(8));
  const started = performance.now();
  return new Promise((resolve) => {
    const w = new Worker(workerUrl, { workerData: { mode: "run", target, seed, runs, timeLimitMs: runs === undefined ? ms : undefined, progress } });
    let last = -1;
    let lastChange = performance.now();
    let done = false;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      resolve(o);
    };
    const timer = setInterval(() => {
      const beat = Atomics.load(progress, 1);
      const now = performance.now();
      if (beat !== last) {
        last = beat;
        lastChange = now;
        return;
      }
      // Before the first execution the worker loads modules and records its seeds, which under heavy load (the
      // run is niced) can take far longer than one input; give it STARTUP_GRACE_MS before calling it a hang.
      if (now - lastChange < (beat === 0 ? Math.max(timeoutMs, STARTUP_GRACE_MS) : timeoutMs)) return;
      // No execution finished within the limit: a hang. Kill the worker, regenerate the input it was running.
      const index = Atomics.load(progress, 0);
      void w.terminate();
      void extractInput(target, seed, index, runs).then((input) => {
        const failure: Failure = { target, kind: "hang", message: `no result within ${timeoutMs} ms`, input, seed, path: String(index) };
        finish({ result: { target, execs: beat, ms: now - started, failure }, coverage: {} });
      });
    }, Math.min(200, timeoutMs / 4));
    w.once("message", (m: Outcome) => finish(m));
    w.once("error", (e) => {
      const failure: Failure = { target, kind: "exception", message: `worker died: ${String(e)}`, input: null, seed };
      finish({ result: { target, execs: Atomics.load(progress, 1), ms: performance.now() - started, failure }, coverage: {} });
    });
  });
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const fixedSeconds = a.targets.reduce((n, t) => n + (a.fixed.get(t) ?? 0), 0);
  const flexible = a.targets.filter((t) => !a.fixed.has(t)).length;
  const perTargetMs = flexible === 0 ? 0 : (Math.max(0, a.seconds - fixedSeconds) * 1000) / flexible;
  const msFor = (name: string): number => (a.fixed.has(name) ? (a.fixed.get(name) as number) * 1000 : perTargetMs);
  console.log(
    `fuzz: ${a.targets.length} targets, ${a.runs === undefined ? `${a.seconds} s in total (${(perTargetMs / 1000).toFixed(1)} s each${a.fixed.size > 0 ? `, ${[...a.fixed].map(([n, v]) => `${n} ${v} s`).join(", ")}` : ""})` : `${a.runs} inputs each`}, seed ${a.seed}, per-input limit ${a.timeoutMs} ms`,
  );
  let totalExecs = 0;
  let totalMs = 0;
  let crashes = 0;
  let hangs = 0;
  const report = (name: string, seed: number, { result: r, coverage }: Outcome): void => {
    totalExecs += r.execs;
    totalMs += r.ms;
    const rate = r.execs / Math.max(r.ms / 1000, 1e-9);
    const cov = Object.entries(coverage)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(", ");
    console.log(`${name.padEnd(22)} execs ${fmt(r.execs).padStart(12)}  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${fmt(Math.round(rate)).padStart(9)} exec/s  crashes ${r.failure ? 1 : 0}${cov ? `  [${cov}]` : ""}`);
    if (r.failure) {
      crashes++;
      if (r.failure.kind === "hang") hangs++;
      mkdirSync(a.out, { recursive: true });
      const file = join(a.out, `${name}-${r.failure.kind}-${seed}.json`);
      writeFileSync(file, JSON.stringify(r.failure, null, 2) + "\n");
      console.log(`  ${r.failure.kind}: ${r.failure.message}\n  input saved to ${file} (seed ${r.failure.seed}, path ${r.failure.path ?? "-"})`);
    }
  };
  const wallStart = performance.now();
  let nextIndex = 0;
  const lane = async (): Promise<void> => {
    while (nextIndex < a.targets.length) {
      const i = nextIndex++;
      const name = a.targets[i];
      const seed = (a.seed + i * 0x9e3779b1) >>> 0;
      report(name, seed, await runInWorker(name, seed, msFor(name), a.runs, a.timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: Math.min(a.jobs, a.targets.length) }, lane));
  const wall = (performance.now() - wallStart) / 1000;
  console.log(`fuzz total: ${fmt(totalExecs)} executions, ${(totalMs / 1000).toFixed(1)} target-seconds (${wall.toFixed(1)} s wall, ${a.jobs} job${a.jobs === 1 ? "" : "s"}), ${crashes} crashes of which ${hangs} hangs (seed ${a.seed})`);
  process.exitCode = crashes > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(String(e instanceof Error ? e.message : e));
  process.exitCode = 2;
});
