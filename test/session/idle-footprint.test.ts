/**
 * Memory of an idle established session, server side, in-process (issue 11 goal 2: <= 20 KB RSS per session):
 * a child `node --expose-gc` (idle-footprint.ts) brings up sessions through SCCRQ → OCRQ → LCP → MS-CHAPv2 →
 * CCP MPPE-128 → IPCP between the client and server engines, keeps the ServerConnections, and reports V8's heap
 * and ArrayBuffer growth per session after a full GC. Before the per-session work (per-FSM closures, drained
 * queue arrays, empty Maps, six typed arrays per MPPE key, the control framer's 2 KB buffer) it measured about
 * 21 KB of heap and 5.7 KB of ArrayBuffers (this test fails there); now about 12.6 KB at 300 sessions (10.8 KB at
 * 1,000, the warm-up's share spread thinner) and 3.0 KB, of which 2 KB were the two RC4 tables; with RC4 state
 * in Uint8Arrays (512 B for both) about 11.1 KB and 1.5 KB.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./idle-footprint.js", import.meta.url));

test("an idle established session holds under 13 KB of JS heap and under 2.5 KB of ArrayBuffers (server side)", () => {
  const out = execFileSync(process.execPath, ["--expose-gc", CHILD, "300"], { encoding: "utf8", timeout: 120_000 });
  const r = JSON.parse(out.trim().split("\n").pop()!) as { sessions: number; heapPerSession: number; arrayBuffersPerSession: number };
  assert.equal(r.sessions, 300);
  const kb = (n: number) => `${(n / 1024).toFixed(2)} KB`;
  assert.ok(r.heapPerSession < 13 * 1024, `JS heap per idle session: ${kb(r.heapPerSession)} (bound 13 KB)`);
  assert.ok(r.arrayBuffersPerSession < 2.5 * 1024, `ArrayBuffer memory per idle session: ${kb(r.arrayBuffersPerSession)} (bound 2.5 KB)`);
  // Sanity: the child really held sessions (a session is more than its RC4 tables and a few objects).
  assert.ok(r.heapPerSession > 4 * 1024 && r.arrayBuffersPerSession > 1024, `implausibly small: ${kb(r.heapPerSession)}, ${kb(r.arrayBuffersPerSession)}`);
});
