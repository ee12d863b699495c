/**
 * Fault soak (see soak.ts): 50 sessions of our client against our server, each in network namespaces, over a
 * path with 5 % loss, 25 ± 20 ms delay (which reorders) and 1 % duplication, with traffic through every tunnel.
 *
 *   - no session lost; no corrupted, duplicated or reordered datagram delivered, either direction
 *   - the server's RSS flat
 *   - kill -9 half of the client processes: the server cleans their sessions up within its echo window, and
 *     the restarted clients get addresses again from a pool that has exactly one per session
 *
 * SOAK_SECONDS sets the traffic phase (default 60, what CI runs; the closing run used 900). SOAK_RATE datagrams
 * a second per tunnel (default 10), SOAK_CLIENTS client processes (default 10) × SOAK_PEERS tunnels (default 5).
 * Needs root; skips otherwise, and LAB_REQUIRE=1 (CI) makes that a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { privilegedSkip } from "../io/netns.js";
import { runSoak, judgeRss, ECHO_WINDOW_S, type SoakReport } from "./soak.js";

const skip = privilegedSkip("the fault soak (network namespaces, TUN, raw GRE)");
const num = (name: string, dflt: number) => (process.env[name] !== undefined ? Number(process.env[name]) : dflt);
const seconds = num("SOAK_SECONDS", 60);

/**
 * RSS tolerance: the last-quarter median within 10 % of the first-quarter median after warm-up (judgeRss), for a
 * run of 5 minutes or more. The server settles near 80 MB, but V8 keeps growing its heap for the first couple of
 * minutes (measured: 64 → 75 MB in the first 60 s, 75 → 79.7 MB over the next 4 minutes, then flat), so a
 * 60 s run is judged at 20 %: it catches only a gross leak (≥ ~0.4 MB/s, a few hundred bytes per datagram at the
 * default ~1000 datagrams/s). The 15-minute run compares medians ~11 minutes apart: 10 % of 80 MB is ~12 kB/s,
 * about 12 bytes kept per datagram through the server.
 */
const RSS_TOLERANCE = seconds >= 300 ? 0.1 : 0.2;
/** Loss we accept per direction: the path drops 5 %; the rest is the GRE reorder window giving up under load. */
const MAX_LOSS = 0.2;

function summary(r: SoakReport): string {
  const rss = judgeRss(r.rss, RSS_TOLERANCE);
  const cleanups = r.killed.map((k) => k.cleanupS ?? NaN);
  const byMode = (m: string) => r.killed.filter((k) => k.mode === m).map((k) => (k.cleanupS ?? NaN).toFixed(1));
  const pct = (a: number, b: number) => ((100 * a) / Math.max(1, b)).toFixed(2);
  const imp = Object.entries(r.impair)
    .map(([p, c]) => `${p}: in ${c.in}, dropped ${c.dropped}, duplicated ${c.duplicated}, reordered ${c.reordered}`)
    .join("; ");
  return [
    `sessions ${r.sessions}, traffic phase ${r.soakSeconds} s, wall ${r.wallSeconds.toFixed(0)} s`,
    `up:   sent ${r.upTotals.sent}, received ${r.upTotals.received}, lost ${r.upTotals.lost} (${pct(r.upTotals.lost, r.upTotals.sent)} %), corrupt ${r.upTotals.corrupt}, duplicated ${r.upTotals.duplicates}, reordered ${r.upTotals.reordered}`,
    `down: sent ${r.downTotals.sent}, received ${r.downTotals.received}, lost ${r.downTotals.lost} (${pct(r.downTotals.lost, r.downTotals.sent)} %), corrupt ${r.downTotals.corrupt}, duplicated ${r.downTotals.duplicates}, reordered ${r.downTotals.reordered}`,
    `unattributed datagrams ${r.unattributed}, kernel IP/UDP checksum errors ${r.csumErrors}`,
    `server CPU ${r.serverCpuPct.toFixed(0)} % of a core; the path (impairer) stalled at most ${r.pathStallMs} ms`,
    `impairment: ${imp}`,
    `server RSS: first sample ${r.rss[0]?.[1]} kB, last ${r.rss.at(-1)?.[1]} kB; after warm-up first-quarter median ${rss.firstKb} kB, last-quarter median ${rss.lastKb} kB (${(rss.growth * 100).toFixed(1)} %)`,
    `killed ${r.killed.length} sessions: cleanup after kill -9 ${byMode("kill").join(" ")} s; vanished ${byMode("vanish").join(" ")} s (max ${Math.max(...cleanups).toFixed(1)} s, echo window ${ECHO_WINDOW_S} s)`,
    `reasons: ${[...new Set(r.killed.map((k) => `${k.mode}: ${k.reason}`))].join(" | ")}`,
    `restarted sessions up ${r.restartedUp}/${r.restartedExpected} (pool of exactly ${r.sessions} addresses)`,
    `sessions lost: ${r.lost.length ? r.lost.join("; ") : "none"}`,
    `logs: ${r.logs.dir}`,
  ].join("\n");
}

test(`fault soak: ${num("SOAK_CLIENTS", 10) * num("SOAK_PEERS", 5)} sessions, loss/jitter/duplication, ${seconds} s, then kill -9 half`, {
  skip,
  timeout: (seconds + 300) * 1000,
}, async (t) => {
  const r = await runSoak({
    seconds,
    clients: num("SOAK_CLIENTS", 10),
    peersPerClient: num("SOAK_PEERS", 5),
    rate: num("SOAK_RATE", 10),
    loss: 0.05,
    delayMs: 25,
    jitterMs: 20,
    duplicate: 0.01,
    note: (l) => t.diagnostic(l),
  });
  const text = summary(r);
  for (const l of text.split("\n")) t.diagnostic(l);

  // The path did what it says: GRE was dropped, duplicated and reordered.
  const gre = r.impair.gre;
  assert.ok(gre && gre.dropped > 0 && gre.duplicated > 0 && gre.reordered > 0, `the impairment touched GRE\n${text}`);

  // No session lost.
  assert.deepEqual(r.lost, [], `sessions that went down\n${text}`);

  // Nothing corrupted, duplicated or reordered reached an application, either way.
  for (const [name, tot] of [["up", r.upTotals], ["down", r.downTotals]] as const) {
    assert.equal(tot.corrupt, 0, `${name}: corrupt datagrams delivered\n${text}`);
    assert.equal(tot.duplicates, 0, `${name}: duplicated datagrams delivered\n${text}`);
    assert.equal(tot.reordered, 0, `${name}: datagrams delivered out of order\n${text}`);
    assert.ok(tot.sent > 0 && tot.lost / tot.sent <= MAX_LOSS, `${name}: loss ${tot.lost}/${tot.sent}\n${text}`);
  }
  assert.equal(r.unattributed, 0, text);
  assert.equal(r.csumErrors, 0, `damaged inner packets dropped by a kernel\n${text}`);

  // Every surviving tunnel carried its flow the whole time (a data path that died while PPP stayed up would not).
  for (const flow of r.survivorFlows) {
    for (const [name, m] of [["up", r.up], ["down", r.down]] as const) {
      const f = m.get(flow);
      assert.ok(f && f.sentBy > 0 && f.received / f.sentBy >= 1 - 2 * MAX_LOSS, `flow ${flow} ${name}: ${JSON.stringify(f)}\n${text}`);
    }
  }

  // RSS flat.
  const rss = judgeRss(r.rss, RSS_TOLERANCE);
  assert.ok(rss.flat, `server RSS grew ${(rss.growth * 100).toFixed(1)} % (${rss.firstKb} → ${rss.lastKb} kB)\n${text}`);

  // kill -9: cleaned up within the echo window (plus the once-a-second timers' slack), addresses returned.
  for (const k of r.killed) {
    assert.ok(k.cleanupS !== undefined && k.cleanupS <= ECHO_WINDOW_S + 2, `${k.user} (${k.mode}) cleaned up after ${k.cleanupS} s\n${text}`);
  }
  assert.equal(r.restartedUp, r.restartedExpected, `restarted clients got addresses again\n${text}`);
  for (const flow of r.restartedFlows) {
    const f = r.up.get(flow);
    assert.ok(f && f.received > 0 && (r.down.get(flow)?.received ?? 0) > 0, `restarted flow ${flow} carried traffic\n${text}`);
  }
  assert.equal(r.serverExit, 0, `the server shut down cleanly on SIGTERM\n${text}`);
});
