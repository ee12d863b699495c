/**
 * Problems found in an operator's file (pptp-ts.conf, chap-secrets), reported the way a compiler would:
 * `file:line: what is wrong — fix: what to write instead`. Parsers collect every problem rather than
 * stopping at the first, so one edit-and-retry cycle fixes a whole file.
 */

export class ConfigError {
  /**
   * @param line 1-based line number; 0 when the problem concerns the file as a whole (e.g. two defaults that
   *   only conflict with each other), and then toString() names just the file.
   */
  constructor(
    readonly file: string,
    readonly line: number,
    readonly message: string,
    readonly fix: string,
  ) {}

  toString(): string {
    return `${where(this.file, this.line)}: ${this.message} — fix: ${this.fix}`;
  }
}

/** "file:line", or just "file" for line 0. */
export function where(file: string, line: number): string {
  return line > 0 ? `${file}:${line}` : file;
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition), so "stength", "pol" and
 * "max_sessions" each sit one or two edits from the key that was meant.
 */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m];
}

/**
 * The candidate closest to `word`, if close enough to be a plausible typo: at most a third of the
 * candidate's length in edits (at least 2), so "port" does not suggest "pool" for "xyz".
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance && d <= Math.max(2, Math.ceil(c.length / 3))) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
