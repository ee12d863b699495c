/**
 * Limits on control connections (TCP 1723), so one host cannot use up the server by holding connections that
 * never place a call (pptpd's `connections`, accel-ppp's `max-starting`):
 *
 *   - a total number of control connections, and a number per source address;
 *   - a rate of new connections per source address (a token bucket: `ratePerSecond` refilled, `burst` deep);
 *   - a deadline for a connection to complete its Start-Control-Connection-Request (against a peer that trickles
 *     the SCCRQ one byte at a time, "slowloris"): RFC 2637 §3 only asks for a reply timeout (60 s by default),
 *     far too long to hold a slot for someone who sends nothing useful;
 *   - a deadline for an established connection that holds no call.
 *
 * Over the first three the server refuses at accept time by closing TCP: no SCCRQ has been read, so there is no
 * Start-Control-Connection-Reply to put a result code in, and reading one would hold the very resource being
 * limited. Past the no-call deadline the server sends Stop-Control-Connection-Request with Reason 1 ("None —
 * general request to clear control connection", RFC 2637 §2.3), the one that fits.
 *
 * Sans-I/O: the driver asks `admit(now, source)` at accept, tells `release(source)` when the connection is gone,
 * and asks `expired(now, ...)` once a second for each connection. A source is an IPv4 address as a uint32, or any
 * other address by its text (`sourceKey`): every peer that is not IPv4 gets a bucket of its own, not one shared
 * by all of them. Per-address state is bounded (`maxTracked` addresses; the least recently seen is forgotten first).
 */

export interface ConnectionLimitsConfig {
  /** Control connections at once, from everyone. */
  readonly maxConnections: number;
  /** Control connections at once from one address; 0 = no per-address limit. */
  readonly maxConnectionsPerAddress: number;
  /** New connections per second from one address (sustained); 0 = no rate limit. */
  readonly connectionRate: number;
  /** New connections one address may open at once before the rate applies. */
  readonly connectionBurst: number;
  /** Time from accept to a complete SCCRQ; 0 = only the control reply timeout applies. */
  readonly startTimeoutMs: number;
  /** Time an established connection may hold no call; 0 = no limit. */
  readonly noCallTimeoutMs: number;
}

export type Refusal = "max-connections" | "max-connections-per-address" | "connection-rate";

export type Admission = { readonly ok: true } | { readonly ok: false; readonly refusal: Refusal; readonly reason: string };

interface PerAddress {
  open: number;
  tokens: number;
  refilledAt: number;
}

const ADMITTED: Admission = { ok: true };

/** Who a connection counts against: an IPv4 address as a uint32, any other address (IPv6, unknown) by its text. */
export type SourceKey = number | string;

/** The key for a peer: `ip` when it is an IPv4 address (non-zero), else its textual address. */
export function sourceKey(ip: number, text: string): SourceKey {
  return ip !== 0 ? ip : text;
}

export class ConnectionLimits {
  private cfg: ConnectionLimitsConfig;
  private readonly maxTracked: number;
  private readonly sources = new Map<SourceKey, PerAddress>();
  private total = 0;

  constructor(cfg: ConnectionLimitsConfig, maxTracked = 10_000) {
    this.cfg = cfg;
    this.maxTracked = maxTracked;
  }

  /** New settings (SIGHUP); connections already held stay. */
  configure(cfg: ConnectionLimitsConfig): void {
    this.cfg = cfg;
  }

  get open(): number {
    return this.total;
  }

  openFrom(source: SourceKey): number {
    return this.sources.get(source)?.open ?? 0;
  }

  /** A TCP connection from `source` (see sourceKey) was accepted: keep it, or say which limit refuses it. */
  admit(now: number, source: SourceKey): Admission {
    const c = this.cfg;
    let s = this.sources.get(source);
    if (s === undefined) {
      s = { open: 0, tokens: c.connectionBurst, refilledAt: now };
      this.remember(source, s);
    } else {
      // Most recently seen last, so the oldest idle address is the first to be forgotten.
      this.sources.delete(source);
      this.sources.set(source, s);
    }
    if (c.connectionRate > 0) {
      s.tokens = Math.min(c.connectionBurst, s.tokens + ((now - s.refilledAt) / 1000) * c.connectionRate);
      s.refilledAt = now;
      if (s.tokens < 1) {
        return { ok: false, refusal: "connection-rate", reason: `more than ${c.connectionRate} new connections per second (connection-rate)` };
      }
      // A refused attempt does not take a token: a client retrying within the rate gets in.
    }
    if (this.total >= c.maxConnections) {
      return { ok: false, refusal: "max-connections", reason: `${this.total} control connections open (max-connections ${c.maxConnections})` };
    }
    if (c.maxConnectionsPerAddress > 0 && s.open >= c.maxConnectionsPerAddress) {
      return {
        ok: false,
        refusal: "max-connections-per-address",
        reason: `${s.open} control connections open from this address (max-connections-per-address ${c.maxConnectionsPerAddress})`,
      };
    }
    if (c.connectionRate > 0) s.tokens -= 1;
    s.open++;
    this.total++;
    return ADMITTED;
  }

  /** An admitted connection is gone. */
  release(source: SourceKey): void {
    const s = this.sources.get(source);
    if (s !== undefined && s.open > 0) s.open--;
    if (this.total > 0) this.total--;
  }

  /**
   * Whether a connection has overstayed: `acceptedAt` when TCP was accepted, `started` once its SCCRQ was
   * answered, `idleSince` the time it last held no call (undefined while it holds one). Returns the reason.
   */
  expired(now: number, acceptedAt: number, started: boolean, idleSince: number | undefined): string | undefined {
    const c = this.cfg;
    if (!started) {
      if (c.startTimeoutMs > 0 && now - acceptedAt >= c.startTimeoutMs) {
        return `no complete Start-Control-Connection-Request within ${seconds(c.startTimeoutMs)} (start-timeout)`;
      }
      return undefined;
    }
    if (idleSince !== undefined && c.noCallTimeoutMs > 0 && now - idleSince >= c.noCallTimeoutMs) {
      return `no call placed for ${seconds(c.noCallTimeoutMs)} (no-call-timeout)`;
    }
    return undefined;
  }

  private remember(source: SourceKey, s: PerAddress): void {
    if (this.sources.size >= this.maxTracked) {
      // Forget the least recently seen address that holds nothing open; its rate bucket starts full again.
      for (const [k, v] of this.sources) {
        if (v.open === 0) {
          this.sources.delete(k);
          break;
        }
      }
    }
    this.sources.set(source, s);
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
