/**
 * Our side of the MPPE benchmark: encrypt and decrypt 1400-byte packets with src/crypto/mppe.ts, timed in
 * process. The OpenSSL baseline runs in a child (mppe-openssl.ts); run.ts prints both and the ratios.
 */
import { MppeReceiver, MppeSender, type MppeBits } from "../src/crypto/mppe.js";
import type { MppeNativeBinding } from "../src/crypto/mppe-native.js";

export interface Measurement {
  readonly label: string;
  readonly packets: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** The fastest of several runs: noise only ever slows a run down. */
export function best(runs: Measurement[]): Measurement {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

export function packetsPerSecond(m: Measurement): number {
  return m.packets / m.seconds;
}

export function megabytesPerSecond(m: Measurement): number {
  return m.bytes / m.seconds / 1e6;
}

/** A fixed master key; the benchmark measures speed, not secrecy. */
export const BENCH_MASTER_KEY = new Uint8Array([
  0x8b, 0x7c, 0xdc, 0x14, 0x9b, 0x99, 0x3a, 0x1b, 0xa1, 0x18, 0xcb, 0x15, 0x3f, 0x56, 0xdc, 0xcb,
]);

export function benchPlaintext(size: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x00;
  p[1] = 0x21; // PPP protocol field: IPv4
  for (let i = 2; i < size; i++) p[i] = (i * 131) & 0xff;
  return p;
}

/**
 * CPU seconds (user + system) since `start`: the figures stay comparable when the machine is shared with other
 * work, which wall-clock time on a loaded host does not; for this single-threaded loop the two agree when idle.
 */
export function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/**
 * Encrypts `count` packets into one arena (so decryption sees real, in-order ciphertext), then decrypts them all.
 * Returns the two timings; the decrypted bytes are checked against the plaintext once at the end.
 */
export function benchMppe(
  bits: MppeBits,
  stateless: boolean,
  count: number,
  size: number,
  native: MppeNativeBinding | null = null,
): [Measurement, Measurement] {
  const mode = `MPPE-${bits} ${stateless ? "stateless" : "stateful"}${native !== null ? " native" : ""}`;
  const plain = benchPlaintext(size);
  const stride = size + 2;
  const arena = new Uint8Array(count * stride);
  const out = new Uint8Array(size);
  // native null: the TypeScript cipher whatever is installed; a binding: C (stateless only, see mppe-native.ts).
  const tx = new MppeSender({ masterKey: BENCH_MASTER_KEY, bits, stateless, native });
  const rx = new MppeReceiver({ masterKey: BENCH_MASTER_KEY, bits, stateless, native });

  let t = process.cpuUsage();
  for (let i = 0; i < count; i++) tx.encrypt(plain, 0, size, arena, i * stride);
  const enc = cpuSeconds(t);

  t = process.cpuUsage();
  let bad = 0;
  for (let i = 0; i < count; i++) {
    if (rx.decrypt(arena, i * stride, stride, out, 0) !== size) bad++;
  }
  const dec = cpuSeconds(t);
  for (let i = 0; i < size; i++) if (out[i] !== plain[i]) bad++;
  if (bad !== 0) throw new Error(`${mode}: ${bad} packets failed to decrypt — the benchmark is measuring a bug`);

  return [
    { label: `${mode} encrypt`, packets: count, bytes: count * size, seconds: enc },
    { label: `${mode} decrypt`, packets: count, bytes: count * size, seconds: dec },
  ];
}

/**
 * Stateless MPPE-128 in C with `directions` senders taking turns packet by packet, as a busy server's calls do
 * within a TUN batch. "own": each direction's state grown to hold its own slot for the next key's schedule (what
 * MppeSender does at a direction's first packet); "table": bare 56-byte states, the schedules sharing the addon's
 * per-thread table; "off": no key work ahead. Encrypt only; CPU per packet of the whole loop.
 */
export function benchInterleaved(nat: MppeNativeBinding, directions: number, packets: number, size: number, mode: "own" | "table" | "off"): Measurement {
  const plain = benchPlaintext(size);
  const out = new Uint8Array(size + 4);
  const states: Uint8Array[] = [];
  for (let d = 0; d < directions; d++) {
    const st = new Uint8Array(mode === "own" ? nat.stateAheadLength : nat.stateLength);
    const key = BENCH_MASTER_KEY.slice();
    key[0] ^= d & 0xff;
    key[1] ^= d >>> 8;
    nat.init(st, key, 128);
    states.push(st);
  }
  const was = nat.keyAhead();
  nat.keyAhead(mode !== "off");
  try {
    for (let i = 0; i < 2 * directions; i++) nat.encrypt(states[i % directions], -1, plain, 0, size, out, 0);
    const t = process.cpuUsage();
    for (let i = 0; i < packets; i++) nat.encrypt(states[i % directions], -1, plain, 0, size, out, 0);
    return { label: `MPPE-128 stateless native, ${directions} directions interleaved, ${mode}`, packets, bytes: packets * size, seconds: cpuSeconds(t) };
  } finally {
    nat.keyAhead(was);
  }
}
