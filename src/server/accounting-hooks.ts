/**
 * When the server tells its AccountingSink (RADIUS accounting with its spool, TACACS+ accounting) about sessions:
 * Accounting-On when it listens, Start at network-up, Interim-Update every interval (RFC 2869 §5.16: the
 * backend's Acct-Interim-Interval, else `[accounting] interim-interval`; never more often than every 60 s), Stop
 * exactly once per started session with the real cause, Accounting-Off awaited at a clean stop (RFC 2866 §5.1).
 * A session that never reached network-up (refused, failed to negotiate) gets no record: nothing was started.
 */
import type { AccountingSink, SessionSnapshot, TerminateCause } from "../aaa/types.js";

/** RFC 2869 §5.16: "SHOULD NOT be smaller than 60" seconds. */
export const MIN_INTERIM_MS = 60_000;

export interface AccountingState {
  started: boolean;
  stopped: boolean;
  lastInterimAt: number;
}

export function newAccountingState(): AccountingState {
  return { started: false, stopped: false, lastInterimAt: 0 };
}

export class AccountingHooks {
  constructor(
    private readonly sink: AccountingSink | undefined,
    private readonly onError: (what: string, e: unknown) => void,
  ) {}

  on(): void {
    this.call("Accounting-On", (s) => s.accountingOn());
  }

  start(st: AccountingState, now: number, snap: () => SessionSnapshot): void {
    if (st.started) return;
    st.started = true;
    st.lastInterimAt = now;
    this.call("Start", (s) => s.start(snap()));
  }

  /** An Interim-Update when `intervalMs` (0 = off) has passed since the Start or the last one. */
  interimIfDue(st: AccountingState, now: number, intervalMs: number, snap: () => SessionSnapshot): boolean {
    if (!st.started || st.stopped || intervalMs <= 0) return false;
    if (now - st.lastInterimAt < Math.max(MIN_INTERIM_MS, intervalMs)) return false;
    st.lastInterimAt = now;
    this.call("Interim-Update", (s) => s.interim(snap()));
    return true;
  }

  /** The Stop of a started session, once; false when there was none to send. */
  stop(st: AccountingState, cause: TerminateCause, snap: () => SessionSnapshot): boolean {
    if (!st.started || st.stopped) return false;
    st.stopped = true;
    this.call("Stop", (s) => s.stop(snap(), cause));
    return true;
  }

  async off(): Promise<void> {
    if (!this.sink) return;
    try {
      await this.sink.accountingOff();
    } catch (e) {
      this.onError("Accounting-Off", e);
    }
  }

  /** A sink that throws must not take the session (or the server) down with it. */
  private call(what: string, f: (s: AccountingSink) => void): void {
    if (!this.sink) return;
    try {
      f(this.sink);
    } catch (e) {
      this.onError(what, e);
    }
  }
}
