/** Deterministic random bytes for tests (xorshift32): same seed, same session. */
import type { RandomSource } from "../../src/core/clock.js";

export function seededRandom(seed: number): RandomSource {
  let x = seed >>> 0 || 0x9e3779b9;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** A fake IPv4 datagram of `len` bytes (header fields plausible, payload patterned by `tag`). */
export function fakeIpPacket(len: number, tag: number, src = "192.168.50.10", dst = "192.168.50.1"): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 17;
  const s = src.split(".").map(Number);
  const d = dst.split(".").map(Number);
  p.set(s, 12);
  p.set(d, 16);
  for (let i = 20; i < len; i++) p[i] = (i * 7 + tag) & 0xff;
  return p;
}

/**
 * Seed and count of the random-input tests, from the environment so a longer or different run needs no code edit:
 *   PPTP_TEST_SEED=1234 PPTP_TEST_RUNS=1000000 node --test dist/test/...
 * PPTP_TEST_SEED (decimal or 0x-hex) replaces every test's default seed (each test still mixes in its own label, so
 * two tests never walk the same sequence); PPTP_TEST_RUNS replaces every test's default count. It is meant to raise
 * the budget: a test that also asserts what its inputs reached (states visited, connections established) assumes at
 * least its default count.
 */
export function testSeed(label: string, defaultSeed: number): number {
  const env = process.env.PPTP_TEST_SEED;
  const base = env === undefined || env === "" ? defaultSeed : parseEnvInt("PPTP_TEST_SEED", env);
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return env === undefined || env === "" ? base >>> 0 : (base ^ h) >>> 0;
}

/** How many random inputs a test runs: `defaultRuns`, or PPTP_TEST_RUNS when set. */
export function testRuns(defaultRuns: number): number {
  const env = process.env.PPTP_TEST_RUNS;
  return env === undefined || env === "" ? defaultRuns : parseEnvInt("PPTP_TEST_RUNS", env);
}

function parseEnvInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${text}: not a non-negative integer`);
  return n;
}

/**
 * Runs a random-input test body with its seed; a failure is re-thrown with the seed and the command that
 * repeats it, since a random failure nobody can reproduce is worth little.
 */
export function withSeed<T>(label: string, seed: number, body: (seed: number) => T): T {
  try {
    return body(seed);
  } catch (e) {
    const how = `[${label}] failed with seed ${seed} (repeat: PPTP_TEST_SEED=${process.env.PPTP_TEST_SEED ?? "<unset: default seed>"} PPTP_TEST_RUNS=${process.env.PPTP_TEST_RUNS ?? "<default>"})`;
    if (e instanceof Error) {
      e.message = `${how}: ${e.message}`;
      throw e;
    }
    throw new Error(`${how}: ${String(e)}`);
  }
}

/** A seeded PRNG returning uniform 32-bit unsigned integers (xorshift32). */
export function seededInts(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
