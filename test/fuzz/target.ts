/** What a fuzz target is: an input generator (a fast-check arbitrary) and a body that throws on any defect. */
import type fc from "fast-check";

export interface FuzzTarget<I = unknown> {
  readonly name: string;
  /** One line: what is fed where, and which invariants are checked. */
  readonly description: string;
  readonly arbitrary: fc.Arbitrary<I>;
  /**
   * Runs one input. Returns normally when the code under test behaved; throws when an exception escaped it or an
   * invariant failed (`InvariantError`). A hang is caught by the runner's per-input time limit.
   */
  run(input: I): void;
  /** What the inputs reached so far (e.g. connections established), printed so a run shows what it covered. */
  readonly coverage?: Record<string, number>;
}

/** An invariant of the code under test failed (as opposed to an exception escaping it). */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}

export function invariant(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new InvariantError(typeof message === "string" ? message : message());
}

/** Bounded loop helper: a drain loop that does not end within `limit` steps is a hang, reported as such. */
export function bounded(limit: number, what: string): () => void {
  let n = 0;
  return () => {
    if (++n > limit) throw new InvariantError(`${what}: did not end within ${limit} steps`);
  };
}

export function count(coverage: Record<string, number> | undefined, key: string): void {
  if (coverage !== undefined) coverage[key] = (coverage[key] ?? 0) + 1;
}
