/**
 * Several generators' answers (--generators K) merged into one, as if one generator had run all the sessions:
 * counts and CPU summed, latencies and round-trip times pooled before their percentiles are taken, the ramp timed
 * from the first generator's first connect to the last one's last session settled (wall clock: the processes'
 * own clocks start at different instants).
 */
import type { RampResult, TeardownResult, TrafficResult } from "./protocol.js";
import { quantile } from "./report.js";

function sumRecords(rs: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
  return out;
}

const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((a, x) => a + f(x), 0);

function pooled(lists: ReadonlyArray<readonly number[]>): number[] {
  return lists.flat().sort((a, b) => a - b);
}

export function mergeRamps(rs: readonly RampResult[]): RampResult {
  if (rs.length === 1) return rs[0];
  const startedAtMs = Math.min(...rs.map((r) => r.startedAtMs));
  const settledAtMs = Math.max(...rs.map((r) => r.settledAtMs));
  return {
    requested: sum(rs, (r) => r.requested),
    started: sum(rs, (r) => r.started),
    up: sum(rs, (r) => r.up),
    failures: sumRecords(rs.map((r) => r.failures)),
    latenciesMs: pooled(rs.map((r) => r.latenciesMs)),
    elapsedMs: Math.max(0, settledAtMs - startedAtMs),
    startedAtMs,
    settledAtMs,
    cpuMs: sum(rs, (r) => r.cpuMs),
    addresses: rs.flatMap((r) => r.addresses),
    mppe: sumRecords(rs.map((r) => r.mppe)),
    aborted: rs.some((r) => r.aborted),
  };
}

export function mergeTraffic(ts: readonly TrafficResult[]): TrafficResult {
  if (ts.length === 1) return ts[0];
  const rtts = pooled(ts.map((t) => t.rttSamplesMs));
  return {
    sessions: sum(ts, (t) => t.sessions),
    sent: sum(ts, (t) => t.sent),
    notSent: sum(ts, (t) => t.notSent),
    replies: sum(ts, (t) => t.replies),
    bad: sumRecords(ts.map((t) => t.bad)),
    rttMs: { p50: quantile(rtts, 0.5), p90: quantile(rtts, 0.9), p99: quantile(rtts, 0.99), max: rtts[rtts.length - 1] },
    rttSamplesMs: rtts,
    elapsedMs: Math.max(...ts.map((t) => t.elapsedMs)),
    cpuMs: sum(ts, (t) => t.cpuMs),
  };
}

export function mergeTeardowns(ts: readonly TeardownResult[]): TeardownResult {
  if (ts.length === 1) return ts[0];
  return {
    up: sum(ts, (t) => t.up),
    closedCleanly: sum(ts, (t) => t.closedCleanly),
    forced: sum(ts, (t) => t.forced),
    elapsedMs: Math.max(...ts.map((t) => t.elapsedMs)),
    droppedEarlier: sumRecords(ts.map((t) => t.droppedEarlier)),
    greDropped: sum(ts, (t) => t.greDropped),
  };
}
