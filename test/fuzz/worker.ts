/** Worker thread: runs one target (or extracts one input) and posts the result; the main thread watches for hangs. */
import { parentPort, workerData } from "node:worker_threads";
import { inputAt, runTarget } from "./engine.js";
import { findTarget } from "./targets/index.js";

interface Job {
  readonly mode: "run" | "extract";
  readonly target: string;
  readonly seed: number;
  readonly runs?: number;
  readonly timeLimitMs?: number;
  readonly index?: number;
  /** [0]: index of the input being executed, [1]: executions started (the watchdog's heartbeat). */
  readonly progress: Int32Array;
}

const job = workerData as Job;
const t = findTarget(job.target);
if (job.mode === "extract") {
  parentPort?.postMessage({ input: inputAt(t, job.seed, job.index ?? 0, job.runs) });
} else {
  const r = runTarget(t, {
    seed: job.seed,
    runs: job.runs,
    timeLimitMs: job.timeLimitMs,
    beforeExec: (i) => {
      if (i >= 0) Atomics.store(job.progress, 0, i);
      Atomics.add(job.progress, 1, 1);
    },
  });
  parentPort?.postMessage({ result: r, coverage: t.coverage ?? {} });
}
