/**
 * Baseline for bench/run.ts, run as a child process under `node --openssl-legacy-provider` (the flag is
 * process-wide, which is exactly why the library itself does not use it). Measures OpenSSL's RC4 on the same
 * 1400-byte packets:
 *   stream  — one cipher object for all packets (what stateful MPPE would cost with OpenSSL),
 *   rekey   — per packet what stateless MPPE needs: SHA-1 over Start|pad1|Session|pad2, an RC4 cipher keyed with
 *             the interim key to encrypt it, and a new RC4 cipher keyed with the result for the packet.
 * Prints one JSON line: an array of measurements.
 */
import { createCipheriv, createHash } from "node:crypto";
import { BENCH_MASTER_KEY, benchPlaintext, best, cpuSeconds, type Measurement } from "./mppe.js";

function stream(count: number, plain: Uint8Array): Measurement {
  const cipher = createCipheriv("rc4", BENCH_MASTER_KEY, null);
  let sink = 0;
  const t = process.cpuUsage();
  for (let i = 0; i < count; i++) sink ^= cipher.update(plain)[0];
  const s = cpuSeconds(t);
  if (sink === 256) console.error("unreachable");
  return { label: "OpenSSL RC4 stream", packets: count, bytes: count * plain.length, seconds: s };
}

const PAD1 = new Uint8Array(40);
const PAD2 = new Uint8Array(40).fill(0xf2);

function rekeyPerPacket(count: number, plain: Uint8Array): Measurement {
  let session: Uint8Array = BENCH_MASTER_KEY.slice();
  let sink = 0;
  const t = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const sha = createHash("sha1").update(BENCH_MASTER_KEY).update(PAD1).update(session).update(PAD2);
    const interim = sha.digest().subarray(0, 16);
    session = createCipheriv("rc4", interim, null).update(interim);
    sink ^= createCipheriv("rc4", session, null).update(plain)[0];
  }
  const s = cpuSeconds(t);
  if (sink === 256) console.error("unreachable");
  return { label: "OpenSSL RC4 + SHA-1 rekey per packet", packets: count, bytes: count * plain.length, seconds: s };
}

function main(): void {
  const count = Number(process.argv[2] ?? 20000);
  const size = Number(process.argv[3] ?? 1400);
  const runs = Number(process.argv[4] ?? 3);
  const plain = benchPlaintext(size);
  // Warm-up, then the best of `runs`, exactly as run.ts treats our side.
  stream(Math.min(2000, count), plain);
  rekeyPerPacket(Math.min(2000, count), plain);
  const streams: Measurement[] = [];
  const rekeys: Measurement[] = [];
  for (let i = 0; i < runs; i++) {
    streams.push(stream(count, plain));
    rekeys.push(rekeyPerPacket(count, plain));
  }
  process.stdout.write(JSON.stringify([best(streams), best(rekeys)]) + "\n");
}

main();
