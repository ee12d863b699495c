/**
 * TUN edge throughput: `node dist/bench/io-tun.js` (root). In a fresh network namespace:
 *  - write: writeBatch() of UDP packets into the TUN (the kernel takes them as received traffic);
 *  - read: a raw UDP socket sendBatch()es packets routed into the TUN, which we read in batches.
 * Both in one process (one core's worth of JS). Prints packets/s for several sizes.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";

import { parseIpv4 } from "../src/wire/ipv4.js";
import { RawIpSocket } from "../src/io/raw-socket.js";
import { TunDevice } from "../src/io/tun.js";
import { put16, put32 } from "../src/wire/bytes.js";
import { unwrap } from "../src/wire/result.js";

const SECONDS = 2;
const BATCH = 64;
const SIZES = [64, 512, 1400];
const LOCAL = unwrap(parseIpv4("10.251.0.1"));
const REMOTE = unwrap(parseIpv4("10.251.0.2"));

function checksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (b[off + i] << 8) | b[off + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** IPv4 + UDP (checksum 0 = none, RFC 768) from REMOTE to LOCAL:9, `size` bytes in all. */
function udpPackets(size: number): { buf: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } {
  const buf = new Uint8Array(size * BATCH);
  const offsets = new Uint32Array(BATCH);
  const lengths = new Uint32Array(BATCH).fill(size);
  for (let i = 0; i < BATCH; i++) {
    const o = i * size;
    offsets[i] = o;
    buf[o] = 0x45;
    put16(buf, o + 2, size);
    buf[o + 8] = 64;
    buf[o + 9] = 17;
    put32(buf, o + 12, REMOTE);
    put32(buf, o + 16, LOCAL);
    put16(buf, o + 10, checksum(buf, o, 20));
    put16(buf, o + 20, 1000);
    put16(buf, o + 22, 9);
    put16(buf, o + 24, size - 20);
  }
  return { buf, offsets, lengths };
}

async function benchWrite(tun: TunDevice, size: number): Promise<number> {
  const { buf, offsets, lengths } = udpPackets(size);
  let written = 0;
  const end = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    for (let k = 0; k < 16; k++) written += tun.writeBatch(buf, offsets, lengths, BATCH);
    await yieldToLoop();
  }
  return written / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function benchRead(tun: TunDevice, raw: RawIpSocket, size: number): Promise<{ pps: number; perCallback: number; lost: number }> {
  // UDP header + payload; the raw socket's kernel side adds the IPv4 header (20 bytes).
  const payload = size - 20;
  const buf = new Uint8Array(payload * BATCH);
  const offsets = new Uint32Array(BATCH);
  const lengths = new Uint32Array(BATCH).fill(payload);
  for (let i = 0; i < BATCH; i++) {
    offsets[i] = i * payload;
    put16(buf, i * payload, 1000);
    put16(buf, i * payload + 2, 9);
    put16(buf, i * payload + 4, payload);
  }
  const dsts = new Uint32Array(BATCH).fill(REMOTE);
  let read = 0;
  let callbacks = 0;
  tun.onBatch((b) => {
    read += b.count;
    callbacks++;
  });
  let sent = 0;
  const end = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    for (let k = 0; k < 4; k++) sent += raw.sendBatch(buf, offsets, lengths, dsts, BATCH);
    await yieldToLoop();
  }
  await sleep(50);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  tun.onBatch(() => {});
  // Reads may include stray kernel packets (IPv6 solicitations, ICMP errors), so "lost" is a floor.
  return { pps: read / secs, perCallback: read / Math.max(callbacks, 1), lost: Math.max(0, sent - read) };
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role !== "run") {
    const ns = `pptpts-bench-${randomBytes(3).toString("hex")}`;
    execFileSync("ip", ["netns", "add", ns]);
    try {
      execFileSync("ip", ["netns", "exec", ns, process.execPath, new URL(import.meta.url).pathname, "run"], { stdio: "inherit" });
    } finally {
      execFileSync("ip", ["netns", "del", ns]);
    }
    return;
  }
  const tun = TunDevice.open({ name: "pbtun0", mtu: 1500, address: "10.251.0.1", prefix: 24, txQueueLen: 10000, batchSize: 256 });
  tun.onBatch(() => {});
  const raw = RawIpSocket.openProtocol(17, { sendBufferBytes: 8 << 20 });
  console.log(`TUN, ${SECONDS}s per figure, batches of ${BATCH}`);
  for (const size of SIZES) {
    const w = await benchWrite(tun, size);
    const r = await benchRead(tun, raw, size);
    console.log(
      `  ${String(size).padStart(5)} B  writeBatch ${w.toFixed(0).padStart(9)} pkt/s   read ${r.pps.toFixed(0).padStart(9)} pkt/s ` +
        `(${r.perCallback.toFixed(1)} pkt/callback, ${r.lost} dropped before the TUN)`,
    );
  }
  tun.close();
  raw.close();
}

await main();
