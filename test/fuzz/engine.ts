/** Runs one fuzz target for a number of inputs or a time budget, in this thread; reports executions and the first failure. */
import fc from "fast-check";
import { inputToJson } from "./codec.js";
import { InvariantError, type FuzzTarget } from "./target.js";

export interface RunOptions {
  readonly seed: number;
  /** Inputs to generate (default: unbounded, so `timeLimitMs` decides). */
  readonly runs?: number;
  readonly timeLimitMs?: number;
  /** Called before each execution with its 0-based index among generated inputs, or -1 for a shrinking run. */
  readonly beforeExec?: (index: number) => void;
}

export interface Failure {
  readonly target: string;
  readonly kind: "exception" | "invariant" | "hang";
  readonly message: string;
  readonly stack?: string;
  /** The (shrunk) failing input, JSON with byte arrays as hex: drop it in test/fuzz/regressions/ to keep it. */
  readonly input: unknown;
  /** How to regenerate the unshrunk input: fast-check seed and path. */
  readonly seed: number;
  readonly path?: string;
}

export interface RunResult {
  readonly target: string;
  /** Executions of the target body, shrinking included. */
  readonly execs: number;
  readonly ms: number;
  readonly failure?: Failure;
}

export const UNBOUNDED_RUNS = 2 ** 31 - 1;

export function runTarget(t: FuzzTarget, o: RunOptions): RunResult {
  let execs = 0;
  let generated = 0;
  let shrinking = false;
  const start = performance.now();
  const prop = fc.property(t.arbitrary, (input) => {
    o.beforeExec?.(shrinking ? -1 : generated++);
    execs++;
    try {
      t.run(input);
    } catch (e) {
      shrinking = true;
      throw e;
    }
  });
  const d = fc.check(prop, {
    seed: o.seed,
    numRuns: o.runs ?? UNBOUNDED_RUNS,
    interruptAfterTimeLimit: o.timeLimitMs,
    markInterruptAsFailure: false,
  });
  const ms = performance.now() - start;
  if (!d.failed || d.counterexample === null) return { target: t.name, execs, ms };
  const e = d.errorInstance;
  return {
    target: t.name,
    execs,
    ms,
    failure: {
      target: t.name,
      kind: e instanceof InvariantError ? "invariant" : "exception",
      message: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      stack: e instanceof Error ? e.stack : undefined,
      input: inputToJson(d.counterexample[0]),
      seed: d.seed,
      path: d.counterexamplePath ?? undefined,
    },
  };
}

/** The input generated at `index` by a run with this seed (to save what a hung execution was working on). */
export function inputAt(t: FuzzTarget, seed: number, index: number, runs = UNBOUNDED_RUNS): unknown {
  let found: unknown;
  let captured = false;
  // Fail on the first (replayed) input so the check stops there: endOnFailure skips shrinking.
  fc.check(
    fc.property(t.arbitrary, (input) => {
      if (!captured) {
        found = input;
        captured = true;
      }
      return false;
    }),
    { seed, path: String(index), numRuns: runs, endOnFailure: true },
  );
  return inputToJson(found);
}
