/**
 * GRE edge throughput: `node dist/bench/io-gre.js` (root). Creates two network namespaces joined
 * by a veth pair, runs a receiving GreSocket in one and a sender blasting sendBatch() in the other
 * (separate processes, like two hosts), and prints packets/s and Mbit/s on each side for several
 * packet sizes. Everything lives in namespaces named pptpts-bench-<random>, deleted at the end.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";

import { GreSocket } from "../src/io/gre-socket.js";
import { parseIpv4 } from "../src/wire/ipv4.js";
import { unwrap } from "../src/wire/result.js";

const SECONDS = 3;
const BATCH = 64;
const SIZES = [64, 512, 1400];
const A = "10.250.0.1";
const B = "10.250.0.2";

/** Enhanced GRE header (RFC 2637 §4.1) with sequence number, then a payload of `size - 16` bytes. */
function packets(size: number): { buf: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } {
  const buf = new Uint8Array(size * BATCH);
  const offsets = new Uint32Array(BATCH);
  const lengths = new Uint32Array(BATCH).fill(size);
  for (let i = 0; i < BATCH; i++) {
    const o = i * size;
    offsets[i] = o;
    buf.set([0x30, 0x01, 0x88, 0x0b, ((size - 16) >> 8) & 0xff, (size - 16) & 0xff, 0x00, 0x01, 0, 0, 0, i], o);
  }
  return { buf, offsets, lengths };
}

async function send(size: number): Promise<void> {
  const s = GreSocket.open({ bindAddress: A, sendBufferBytes: 8 << 20 });
  const { buf, offsets, lengths } = packets(size);
  const dsts = new Uint32Array(BATCH).fill(unwrap(parseIpv4(B)));
  const end = Date.now() + SECONDS * 1000;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    for (let k = 0; k < 16; k++) sent += s.sendBatch(buf, offsets, lengths, dsts, BATCH);
    await yieldToLoop();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const st = s.stats();
  s.close();
  process.stdout.write(JSON.stringify({ pps: sent / secs, wouldBlock: st.txWouldBlock, errors: st.txErrors }) + "\n");
}

async function receive(): Promise<void> {
  const s = GreSocket.open({ bindAddress: B, batchSize: 256, receiveBufferBytes: 32 << 20 });
  let packets = 0;
  let bytes = 0;
  let first = 0n;
  let last = 0n;
  s.onBatch((b) => {
    if (packets === 0) first = process.hrtime.bigint();
    packets += b.count;
    for (let i = 0; i < b.count; i++) bytes += b.lengths[i];
    last = process.hrtime.bigint();
  });
  process.stdout.write('{"ready":true}\n');
  await sleep((SECONDS + 1.5) * 1000);
  const secs = Number(last - first) / 1e9;
  const st = s.stats();
  s.close();
  process.stdout.write(JSON.stringify({ pps: packets / secs, mbps: (bytes * 8) / secs / 1e6, batches: st.rxBatches, packets }) + "\n");
}

function runIn(ns: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn("ip", ["netns", "exec", ns, process.execPath, fileURLToPath(import.meta.url), ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n")) : reject(new Error(`${args[0]} exited ${code}`))));
  });
}

async function orchestrate(): Promise<void> {
  const tag = randomBytes(3).toString("hex");
  const nsA = `pptpts-bench-${tag}a`;
  const nsB = `pptpts-bench-${tag}b`;
  const ip = (...a: string[]): void => void execFileSync("ip", a);
  ip("netns", "add", nsA);
  ip("netns", "add", nsB);
  try {
    ip("-n", nsA, "link", "add", `pb${tag}a`, "type", "veth", "peer", "name", `pb${tag}b`, "netns", nsB);
    ip("-n", nsA, "addr", "add", `${A}/24`, "dev", `pb${tag}a`);
    ip("-n", nsB, "addr", "add", `${B}/24`, "dev", `pb${tag}b`);
    ip("-n", nsA, "link", "set", `pb${tag}a`, "up");
    ip("-n", nsB, "link", "set", `pb${tag}b`, "up");
    console.log(`GRE over veth, ${SECONDS}s per size, sendBatch of ${BATCH}, receive batches up to 256`);
    for (const size of SIZES) {
      const alone = JSON.parse((await runIn(nsA, ["send", String(size)]))[0]) as { pps: number };
      console.log(`  ${String(size).padStart(5)} B  send only (no receiver): ${alone.pps.toFixed(0).padStart(9)} pkt/s`);
      const rx = runIn(nsB, ["receive"]);
      rx.catch(() => {}); // awaited below; a sender failure must not leave it unhandled
      await sleep(400);
      const tx = JSON.parse((await runIn(nsA, ["send", String(size)]))[0]) as { pps: number; wouldBlock: number };
      const lines = await rx;
      const r = JSON.parse(lines[lines.length - 1]) as { pps: number; mbps: number; batches: number; packets: number };
      console.log(
        `  ${String(size).padStart(5)} B  both ends: tx ${tx.pps.toFixed(0).padStart(9)} pkt/s   rx ${r.pps.toFixed(0).padStart(9)} pkt/s ` +
          `${r.mbps.toFixed(0).padStart(6)} Mbit/s  (${(r.packets / r.batches).toFixed(1)} pkt/callback, tx dropped ${tx.wouldBlock})`,
      );
    }
  } finally {
    execFileSync("ip", ["netns", "del", nsA]);
    execFileSync("ip", ["netns", "del", nsB]);
  }
}

const [role, arg] = process.argv.slice(2);
if (role === "send") await send(Number(arg));
else if (role === "receive") await receive();
else await orchestrate();
