/**
 * The load generator's figures, printed as issue 11 asks: one line per figure, `NAME: value unit`, followed by
 * `(ratio R to BASELINE)` when the figure has a baseline measured in the same run, and by the goal it is held
 * against when there is one (`(goal ≤ 20 KB)`). A goal is not a baseline: it is never turned into a ratio.
 */

export interface Figure {
  readonly name: string;
  readonly value: number | string;
  readonly unit: string;
  /** A baseline from this run: value / baseline. */
  readonly ratio?: { readonly value: number; readonly to: string };
  /** A target from the issue, e.g. "≤ 20 KB". */
  readonly goal?: string;
  /** Anything a reader needs to read the figure right ("extrapolated", "measured under load"). */
  readonly note?: string;
}

/** The q-quantile (0..1) of ascending `sorted`, nearest rank; undefined when empty. */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** A number with about four significant digits, no exponent. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3 : 4;
  return v.toFixed(digits);
}

export function formatFigure(f: Figure): string {
  const value = typeof f.value === "number" ? formatNumber(f.value) : f.value;
  const extra: string[] = [];
  if (f.ratio) extra.push(`ratio ${Number.isFinite(f.ratio.value) ? f.ratio.value.toFixed(3) : "n/a"} to ${f.ratio.to}`);
  if (f.goal) extra.push(`goal ${f.goal}`);
  if (f.note) extra.push(f.note);
  return `${f.name}: ${value}${f.unit ? ` ${f.unit}` : ""}${extra.length ? ` (${extra.join("; ")})` : ""}`;
}
