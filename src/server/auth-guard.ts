/**
 * Password guessing: failed authentications are counted per user name and per source address. After a few
 * failures each further failure is answered later and later (the delay doubles), and past a limit the name or
 * the address is locked out for a while. A locked-out attempt is not checked at all — the right password
 * fails too — and it is answered exactly like a wrong password: the same MS-CHAP error 691 after the same
 * delay, so the wire does not tell a guesser that the lockout started or that a guess was right.
 *
 * Failures older than `windowMs` are forgotten (the count restarts), and a success clears the name's count;
 * the address's count is not cleared by a success, or one known account would let an address guess others.
 *
 * Sans-I/O: `check(now, user, source)` before asking the backend; `failed`/`succeeded` with its answer; the
 * driver applies `delayMs` with a timer of its own (one per pending answer: other sessions are not held up).
 * Per-name and per-address state is bounded (`maxTracked` each): when a table is full the least recently failed
 * record that is not locked out is forgotten. A lockout is never forgotten to make room, or a guesser churning
 * through made-up names (or addresses) would unlock the name (address) it is after; when every record in a table
 * is locked out, a new name (address) is not tracked at all — its failures still count against the address
 * (name), whose limits keep applying.
 */

export interface AuthGuardConfig {
  /** Failures counted within this window; older ones are forgotten. */
  readonly windowMs: number;
  /** Failures answered without delay. */
  readonly freeFailures: number;
  /** The first delay; each further failure doubles it, up to maxDelayMs. */
  readonly delayMs: number;
  readonly maxDelayMs: number;
  /** Failures of one user name (from anywhere) that lock it out; 0 = never. */
  readonly maxFailuresPerUser: number;
  /** Failures from one address (any user names) that lock it out; 0 = never. */
  readonly maxFailuresPerAddress: number;
  /** How long a lockout lasts. */
  readonly lockoutMs: number;
}

export type GuardVerdict =
  | { readonly locked: false }
  /** Do not verify; answer as a failure after `delayMs`. */
  | { readonly locked: true; readonly delayMs: number; readonly why: string };

/** What a failure leads to: the answer's delay, and a new lockout to log (once, when it starts). */
export interface FailureOutcome {
  readonly delayMs: number;
  readonly userFailures: number;
  readonly addressFailures: number;
  readonly lockedOut?: string;
}

interface Record {
  failures: number;
  /** Time of the first failure counted (the window starts there). */
  since: number;
  lockedUntil: number;
}

const OPEN: GuardVerdict = { locked: false };

export class AuthGuard {
  private cfg: AuthGuardConfig;
  private readonly maxTracked: number;
  private readonly users = new Map<string, Record>();
  private readonly addresses = new Map<string, Record>();

  constructor(cfg: AuthGuardConfig, maxTracked = 10_000) {
    this.cfg = cfg;
    this.maxTracked = maxTracked;
  }

  configure(cfg: AuthGuardConfig): void {
    this.cfg = cfg;
  }

  /** Before verifying: is the name or the address locked out? `user` as the caller normalised it. */
  check(now: number, user: string, source: string): GuardVerdict {
    const u = this.live(this.users, user, now);
    const a = this.live(this.addresses, source, now);
    const uLocked = u !== undefined && u.lockedUntil > now;
    const aLocked = a !== undefined && a.lockedUntil > now;
    if (!uLocked && !aLocked) return OPEN;
    // Answered after the delay this attempt would get as one more wrong password: the same timing as a failure.
    return {
      locked: true,
      delayMs: this.delayFor(Math.max(u?.failures ?? 0, a?.failures ?? 0) + 1),
      why: uLocked ? `user name locked out for ${secs(u.lockedUntil - now)} more` : `address locked out for ${secs(a!.lockedUntil - now)} more`,
    };
  }

  /** The backend refused (or a locked-out attempt was answered): count it and say how long to delay the answer. */
  failed(now: number, user: string, source: string): FailureOutcome {
    const c = this.cfg;
    const u = this.bump(this.users, user, now);
    const a = this.bump(this.addresses, source, now);
    let lockedOut: string | undefined;
    if (c.maxFailuresPerUser > 0 && u.failures >= c.maxFailuresPerUser && u.lockedUntil <= now) {
      u.lockedUntil = now + c.lockoutMs;
      lockedOut = `user name locked out for ${secs(c.lockoutMs)} after ${u.failures} failures`;
    }
    if (c.maxFailuresPerAddress > 0 && a.failures >= c.maxFailuresPerAddress && a.lockedUntil <= now) {
      a.lockedUntil = now + c.lockoutMs;
      lockedOut = (lockedOut ? lockedOut + "; " : "") + `address locked out for ${secs(c.lockoutMs)} after ${a.failures} failures`;
    }
    const delayMs = this.delayFor(Math.max(u.failures, a.failures));
    return { delayMs, userFailures: u.failures, addressFailures: a.failures, ...(lockedOut ? { lockedOut } : {}) };
  }

  /** The delay of the answer to the n-th failure in a window: none for the free ones, then doubling up to the cap. */
  private delayFor(n: number): number {
    const c = this.cfg;
    const over = n - c.freeFailures;
    return over <= 0 ? 0 : Math.min(c.maxDelayMs, c.delayMs * 2 ** Math.min(over - 1, 30));
  }

  /** The right password, not locked out: the name's failures are forgotten. */
  succeeded(user: string): void {
    this.users.delete(user);
  }

  /** A record still in force: its window or its lockout not yet over (else forgotten). */
  private live(m: Map<string, Record>, key: string, now: number): Record | undefined {
    const r = m.get(key);
    if (r === undefined) return undefined;
    if (r.lockedUntil <= now && now - r.since >= this.cfg.windowMs) {
      m.delete(key);
      return undefined;
    }
    return r;
  }

  private bump(m: Map<string, Record>, key: string, now: number): Record {
    let r = this.live(m, key, now);
    if (r === undefined) {
      r = { failures: 0, since: now, lockedUntil: 0 };
      if (m.size >= this.maxTracked && !this.evictUnlocked(m, now)) {
        // Full of lockouts: this one is counted for this answer only, not remembered (see the top of the file).
        r.failures++;
        return r;
      }
    } else {
      // A lockout that ended starts a new count: the right password works again after it.
      if (r.lockedUntil > 0 && r.lockedUntil <= now) {
        r.failures = 0;
        r.since = now;
        r.lockedUntil = 0;
      }
      m.delete(key);
    }
    m.set(key, r);
    r.failures++;
    return r;
  }

  /**
   * Forgets the least recently failed record that is not locked out (Map order: bump re-inserts on each failure);
   * false when every record is locked out.
   */
  private evictUnlocked(m: Map<string, Record>, now: number): boolean {
    for (const [k, r] of m) {
      if (r.lockedUntil <= now) {
        m.delete(k);
        return true;
      }
    }
    return false;
  }
}

function secs(ms: number): string {
  return `${Math.ceil(ms / 1000)} s`;
}
