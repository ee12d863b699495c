/**
 * Child process for the privileged I/O tests, run inside a test namespace by netns.ts:
 *   ip netns exec <ns> node worker.js <role> '<json args>'
 * Prints JSON lines ({"event":"ready"}, {"event":"result",...}) and then exits on its own —
 * never via process.exit — so a leaked handle shows up as a worker that does not exit.
 * Run without a role (e.g. picked up by a test runner) it does nothing.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import { u16 } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { GreSocket } from "../../src/io/gre-socket.js";
import { formatIpv4, parseIpv4 } from "../../src/wire/ipv4.js";
import { RawIpSocket } from "../../src/io/raw-socket.js";
import { TunDevice } from "../../src/io/tun.js";
import { tunTcp } from "./tun-tcp-peer.js";
import {
  echoPayload,
  echoReplyFor,
  enhancedGre,
  GRE_PPP,
  icmpEcho,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  internetChecksum,
  ipv4Header,
  packBatch,
  parseEnhancedGre,
} from "./packets.js";

type Args = Record<string, unknown>;

function emit(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...data }) + "\n");
}

function ip(text: unknown): number {
  return unwrap(parseIpv4(String(text)));
}

async function waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

function describeError(f: () => unknown): Record<string, unknown> | null {
  try {
    f();
    return null;
  } catch (e) {
    const x = e as Error & { code?: string; errno?: number; syscall?: string };
    return { name: x.name, code: x.code ?? null, errno: x.errno ?? null, syscall: x.syscall ?? null, message: x.message };
  }
}

function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(`${dir}/${bin}`)) return `${dir}/${bin}`;
  }
  return undefined;
}

/** The system ping as [program, ...leading args]: iputils/inetutils ping, else busybox's applet. */
function systemPingCommand(): string[] | undefined {
  const ping = findOnPath("ping");
  if (ping !== undefined) return [ping];
  const busybox = findOnPath("busybox");
  return busybox === undefined ? undefined : [busybox, "ping"];
}

/** TUN: answer ICMP echo requests the kernel routes into the device; ping through it from a raw ICMP socket. */
async function tunPing(a: Args): Promise<Record<string, unknown>> {
  const target = ip(a.target);
  const count = Number(a.count);
  const payloadLength = Number(a.payloadLength ?? 56);
  const tun = TunDevice.open({
    name: a.name as string | undefined,
    mtu: Number(a.mtu),
    address: String(a.address),
    peer: a.peer as string | undefined,
    prefix: a.prefix as number | undefined,
  });
  const iface = {
    name: tun.name,
    mtu: Number(readFileSync(`/sys/class/net/${tun.name}/mtu`, "utf8")),
    flags: parseInt(readFileSync(`/sys/class/net/${tun.name}/flags`, "utf8"), 16),
    addr: JSON.parse(execFileSync("ip", ["-j", "-4", "addr", "show", "dev", tun.name], { encoding: "utf8" })) as unknown,
    route: execFileSync("ip", ["-4", "route", "get", String(a.target)], { encoding: "utf8" }).trim(),
  };

  let requests = 0;
  let others = 0;
  let repliesWritten = 0;
  let maxRequestsPerBatch = 0;
  const slot = 2048;
  const arena = new Uint8Array(64 * slot);
  const offs = new Uint32Array(64);
  const lens = new Uint32Array(64);
  const single = new Uint8Array(slot);
  tun.onBatch((b) => {
    let n = 0;
    let inBatch = 0;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      const h = ipv4Header(b.data, off, len);
      if (h === undefined || h.dst !== target || h.protocol !== 1 || b.data[off + h.headerLength] !== ICMP_ECHO_REQUEST) {
        others++; // e.g. IPv6 router solicitations the kernel sends on a new interface
        continue;
      }
      requests++;
      inBatch++;
      const seq = u16(b.data, off + h.headerLength + 6);
      // Odd sequence numbers go back through write(), even ones through writeBatch().
      if (seq % 2 === 1) {
        const l = echoReplyFor(b.data, off, len, single, 0);
        if (tun.write(single, 0, l)) repliesWritten++;
      } else {
        const o = n * slot;
        lens[n] = echoReplyFor(b.data, off, len, arena, o);
        offs[n] = o;
        n++;
      }
    }
    if (n > 0) repliesWritten += tun.writeBatch(arena, offs, lens, n);
    if (inBatch > maxRequestsPerBatch) maxRequestsPerBatch = inBatch;
  });

  const icmp = RawIpSocket.openProtocol(1);
  const id = process.pid & 0xffff;
  const replied = new Set<number>();
  const replySources = new Set<string>();
  let badReplies = 0;
  icmp.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      if (len < 8 || b.data[off] !== ICMP_ECHO_REPLY || u16(b.data, off + 4) !== id) continue;
      const seq = u16(b.data, off + 6);
      const want = echoPayload(seq, payloadLength);
      let same = len === 8 + want.length && internetChecksum(b.data, off, len) === 0;
      for (let j = 0; same && j < want.length; j++) same = b.data[off + 8 + j] === want[j];
      if (!same) badReplies++;
      else replied.add(seq);
      replySources.add(formatIpv4(b.sources[i]));
    }
  });

  // Hold the TUN reader while the requests are routed into the device, so they are read back as one batch.
  tun.pause();
  const reqs = [];
  for (let seq = 0; seq < count; seq++) reqs.push(icmpEcho(ICMP_ECHO_REQUEST, id, seq, echoPayload(seq, payloadLength)));
  const packed = packBatch(reqs);
  const sent = icmp.sendBatch(packed.buf, packed.offsets, packed.lengths, new Uint32Array(count).fill(target), count);
  await sleep(100);
  tun.resume();
  await waitUntil(() => replied.size >= count, 5000);
  const ours = { requests, repliesWritten, maxRequestsPerBatch, tunStats: tun.stats() };

  // The system ping, when installed, must get its answers through the same responder.
  let systemPing: { exitCode: number | null; output: string } | null = null;
  const pingCmd = a.systemPing === true ? systemPingCommand() : undefined;
  if (pingCmd !== undefined) {
    systemPing = await new Promise((resolve) => {
      const [program, ...lead] = pingCmd;
      const p = spawn(program, [...lead, "-c", "3", "-W", "2", String(a.target)], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      p.stdout.on("data", (d: Buffer) => (output += d.toString()));
      p.stderr.on("data", (d: Buffer) => (output += d.toString()));
      p.on("close", (exitCode) => resolve({ exitCode, output }));
    });
  }

  const result = {
    iface,
    sent,
    ...ours,
    others,
    replies: replied.size,
    badReplies,
    replySources: [...replySources],
    icmpStats: icmp.stats(),
    systemPing,
    systemPingRequests: requests - ours.requests,
  };
  tun.close();
  icmp.close();
  return result;
}

/** GRE echo side: report what arrives, send every PPTP packet back to its source with the Call ID flipped. */
async function greEcho(a: Args): Promise<Record<string, unknown>> {
  const expect = Number(a.expect);
  const s = GreSocket.open({ bindAddress: String(a.bind), pptpOnly: a.pptpOnly as boolean | undefined });
  let received = 0;
  let bytes = 0;
  let notPptp = 0;
  let batches = 0;
  const sources = new Set<string>();
  const destinations = new Set<string>();
  const out = new Uint8Array(64 * 2048);
  const offs = new Uint32Array(64);
  const lens = new Uint32Array(64);
  const dsts = new Uint32Array(64);
  s.onBatch((b) => {
    batches++;
    let n = 0;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      received++;
      bytes += len;
      sources.add(formatIpv4(b.sources[i]));
      destinations.add(formatIpv4(b.destinations[i]));
      const g = parseEnhancedGre(b.data, off, len);
      if (g === undefined || g.protocol !== GRE_PPP || g.version !== 1) {
        notPptp++;
        continue;
      }
      const o = n * 2048;
      out.set(b.data.subarray(off, off + len), o);
      out[o + 6] ^= 0x80; // Call ID high bit flipped: proves the packet went through us
      offs[n] = o;
      lens[n] = len;
      dsts[n] = b.sources[i];
      n++;
    }
    s.sendBatch(out, offs, lens, dsts, n);
  });
  emit("ready");
  await waitUntil(() => received >= expect, 8000);
  await sleep(200); // anything beyond `expect` (e.g. a packet the filter should have dropped) shows up now
  const result = { received, bytes, notPptp, batches, sources: [...sources], destinations: [...destinations], stats: s.stats() };
  s.close();
  return result;
}

function grePackets(count: number): Uint8Array[] {
  const packets = [];
  for (let i = 0; i < count; i++) {
    const payload = new Uint8Array(1 + ((i * 37) % 1400));
    for (let j = 0; j < payload.length; j++) payload[j] = (i + j) & 0xff;
    packets.push(enhancedGre({ callId: 0x1200 + (i % 3), seq: i, ack: i % 2 === 0 ? i : undefined }, payload));
  }
  return packets;
}

/** GRE sending side: one sendBatch of `count` PPTP packets (plus one plain GRE packet), one send(). */
async function greSend(a: Args): Promise<Record<string, unknown>> {
  const count = Number(a.count);
  const peer = ip(a.peer);
  const s = GreSocket.open({ bindAddress: String(a.bind) });
  const packets = grePackets(count + 1);
  const bySeq = new Map<number, Uint8Array>();
  packets.forEach((p, i) => bySeq.set(i, p));
  let echoes = 0;
  let mismatches = 0;
  const sources = new Set<string>();
  const destinations = new Set<string>();
  s.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      sources.add(formatIpv4(b.sources[i]));
      destinations.add(formatIpv4(b.destinations[i]));
      const g = parseEnhancedGre(b.data, off, len);
      const original = g?.seq === undefined ? undefined : bySeq.get(g.seq);
      let same = original !== undefined && original.length === len;
      for (let j = 0; same && original !== undefined && j < len; j++) {
        same = b.data[off + j] === (j === 6 ? original[j] ^ 0x80 : original[j]);
      }
      if (same) echoes++;
      else mismatches++;
    }
  });
  // The batch: count PPTP packets with one plain RFC 2784 GRE packet (version 0, IPv4 payload) in the middle.
  const plain = enhancedGre({ callId: 0, version: 0, protocol: 0x0800 }, new Uint8Array(20));
  const batch = [...packets.slice(0, count)];
  batch.splice(Math.floor(count / 2), 0, plain);
  const packed = packBatch(batch);
  const sentBatch = s.sendBatch(packed.buf, packed.offsets, packed.lengths, new Uint32Array(batch.length).fill(peer), batch.length);
  const last = packets[count];
  const sentSingle = s.send(last, 0, last.length, peer);
  let pptpBytes = 0;
  for (const p of packets) pptpBytes += p.length;
  await waitUntil(() => echoes + mismatches >= count + 1, 8000);
  await sleep(100);
  const result = {
    sentBatch,
    sentSingle,
    batchLength: batch.length,
    pptpBytes,
    plainBytes: plain.length,
    echoes,
    mismatches,
    sources: [...sources],
    destinations: [...destinations],
    stats: s.stats(),
  };
  s.close();
  return result;
}

/** Records the source and destination of every PPTP GRE packet that arrives (by its sequence number). */
async function greObserve(a: Args): Promise<Record<string, unknown>> {
  const expect = Number(a.expect);
  const s = GreSocket.open();
  const seen: { seq: number; src: string; dst: string }[] = [];
  s.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const g = parseEnhancedGre(b.data, b.offsets[i], b.lengths[i]);
      seen.push({ seq: g?.seq ?? -1, src: formatIpv4(b.sources[i]), dst: formatIpv4(b.destinations[i]) });
    }
  });
  emit("ready");
  await waitUntil(() => seen.length >= expect, 8000);
  await sleep(200); // anything beyond `expect` shows up now
  s.close();
  return { seen: seen.sort((x, y) => x.seq - y.seq) };
}

/**
 * From an unbound GRE socket: seq 0 with no source (routing picks it), seq 1 from `src` (send), seqs 2..4 as one
 * sendBatch with sources [src, none, src], then one from `foreign` (not an address here: must fail).
 */
async function greFrom(a: Args): Promise<Record<string, unknown>> {
  const peer = ip(a.peer);
  const src = ip(a.src);
  const s = GreSocket.open();
  const packets = [0, 1, 2, 3, 4, 5].map((seq) => enhancedGre({ callId: 0x4242, seq }, Uint8Array.of(seq)));
  const routed = s.send(packets[0], 0, packets[0].length, peer);
  const chosen = s.send(packets[1], 0, packets[1].length, peer, src);
  const packed = packBatch(packets.slice(2, 5));
  const batch = s.sendBatch(packed.buf, packed.offsets, packed.lengths, new Uint32Array(3).fill(peer), 3, Uint32Array.of(src, 0, src));
  const foreign = s.send(packets[5], 0, packets[5].length, peer, ip(a.foreign));
  const result = { routed, chosen, batch, foreign, stats: s.stats() };
  s.close();
  return result;
}

/** Run as an unprivileged user: what opening each endpoint says. */
async function openErrors(): Promise<Record<string, unknown>> {
  return {
    uid: process.getuid?.(),
    gre: describeError(() => GreSocket.open()),
    icmp: describeError(() => RawIpSocket.openProtocol(1)),
    tun: describeError(() => TunDevice.open({ mtu: 1400, address: "10.203.0.1" })),
  };
}

/** Wrong arguments and failed sends: clear exceptions for misuse, counted failures for the network. */
async function misuse(): Promise<Record<string, unknown>> {
  const lo = ip("127.0.0.1");
  const nowhere = ip("198.51.100.1"); // TEST-NET-2: no route in a namespace that only has lo
  const out: Record<string, unknown> = {};
  const s = GreSocket.open();
  const buf = enhancedGre({ callId: 7, seq: 1 }, new Uint8Array(4));
  out.sendPastEnd = describeError(() => s.send(buf, 10, buf.length, lo));
  out.sendNotBytes = describeError(() => s.send([1, 2, 3] as unknown as Uint8Array, 0, 3, lo));
  out.sendNegativeAddress = describeError(() => s.send(buf, 0, buf.length, -1));
  const one = Uint32Array.of(0);
  out.batchCountTooBig = describeError(() => s.sendBatch(buf, one, Uint32Array.of(buf.length), Uint32Array.of(lo), 2));
  out.batchBadSpan = describeError(() => s.sendBatch(buf, Uint32Array.of(0, 8), Uint32Array.of(8, 9), Uint32Array.of(lo, lo), 2));
  out.batchBadSpanStats = s.stats();
  out.unreachable = { sent: s.send(buf, 0, buf.length, nowhere), stats: s.stats() };
  const packed = packBatch([buf, buf, buf]);
  out.batchWithUnreachable = {
    sent: s.sendBatch(packed.buf, packed.offsets, packed.lengths, Uint32Array.of(lo, nowhere, lo), 3),
    stats: s.stats(),
  };
  s.close();
  out.sendAfterClose = describeError(() => s.send(buf, 0, buf.length, lo));
  out.closeTwice = describeError(() => s.close());
  out.bindForeign = describeError(() => GreSocket.open({ bindAddress: "192.0.2.77" }));
  out.bindNotAnAddress = describeError(() => GreSocket.open({ bindAddress: "10.0.0.300" }));
  out.batchSizeZero = describeError(() => GreSocket.open({ batchSize: 0 }));

  const t = TunDevice.open({ name: "piobusy0", mtu: 1400, address: "10.205.0.1", peer: "10.205.0.2" });
  out.tunBusy = describeError(() => TunDevice.open({ name: "piobusy0", mtu: 1400, address: "10.205.0.3" }));
  out.tunLongName = describeError(() => TunDevice.open({ name: "x".repeat(16), mtu: 1400, address: "10.205.0.5" }));
  out.tunBadMtu = describeError(() => TunDevice.open({ mtu: 20, address: "10.205.0.5" }));
  out.tunBadPrefix = describeError(() => TunDevice.open({ mtu: 1400, address: "10.205.0.5", prefix: 33 }));
  out.tunWritePastEnd = describeError(() => t.write(buf, 0, buf.length + 1));
  out.tunWriteNotIp = { ok: t.write(Uint8Array.of(0xff, 0xff, 0xff), 0, 3), stats: t.stats() };
  t.close();
  out.tunWriteAfterClose = describeError(() => t.write(buf, 0, 1));

  const q1 = TunDevice.open({ name: "piomq0", mtu: 1400, address: "10.206.0.1", prefix: 24, multiQueue: true });
  let q2Name: string | null = null;
  out.multiQueueSecond = describeError(() => {
    // A second queue of the same device; re-applying the same configuration is harmless.
    const q2 = TunDevice.open({ name: "piomq0", mtu: 1400, address: "10.206.0.1", prefix: 24, multiQueue: true });
    q2Name = q2.name;
    q2.close();
  });
  out.multiQueueNames = [q1.name, q2Name];
  q1.close();
  return out;
}

/** 200 × open, start reading, close — for both kinds — and count this process's file descriptors. */
async function openClose(a: Args): Promise<Record<string, unknown>> {
  const iterations = Number(a.iterations);
  const noop = (): void => {};
  // Warm up once so one-time allocations (the addon itself, libuv's epoll fd) are not counted as leaks.
  const g0 = GreSocket.open();
  g0.onBatch(noop);
  g0.close();
  const t0 = TunDevice.open({ name: "pioloop0", mtu: 1400, address: "10.204.0.1", peer: "10.204.0.2" });
  t0.onBatch(noop);
  t0.close();
  await sleep(10);
  const before = fdCount();
  let maxDuring = before;
  for (let i = 0; i < iterations; i++) {
    const g = GreSocket.open({ batchSize: 8 + (i % 64) });
    if (i % 2 === 0) g.onBatch(noop); // half started (poll handle), half never started
    const t = TunDevice.open({ name: "pioloop0", mtu: 1400, address: "10.204.0.1", peer: "10.204.0.2" });
    if (i % 3 !== 0) t.onBatch(noop);
    maxDuring = Math.max(maxDuring, fdCount());
    g.close();
    t.close();
    if (i % 50 === 0) await sleep(1); // let libuv finish closing poll handles now and then
  }
  const afterSync = fdCount();
  await sleep(20);
  const after = fdCount();
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
  return { iterations, before, maxDuring, afterSync, after, leftoverTun: links.includes("pioloop0") };
}

/** Endpoints dropped without close() are closed by their finalizers once collected. */
async function gcCloses(a: Args): Promise<Record<string, unknown>> {
  const n = Number(a.count);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  const before = fdCount();
  (() => {
    for (let i = 0; i < n; i++) {
      GreSocket.open();
      TunDevice.open({ mtu: 1400, address: "10.207.0.1" });
    }
  })();
  const opened = fdCount();
  let after = opened;
  for (let i = 0; i < 50 && after > before; i++) {
    gc();
    await sleep(10);
    after = fdCount();
  }
  return { before, opened, after };
}

/** unref(): an idle reader must not keep the process alive. */
async function unrefExit(): Promise<Record<string, unknown>> {
  const g = GreSocket.open();
  g.onBatch(() => {});
  g.unref();
  const t = TunDevice.open({ mtu: 1400, address: "10.208.0.1" });
  t.onBatch(() => {});
  t.unref();
  return { gre: g.fd, tun: t.fd };
}

/** A started reader that is never closed keeps the process alive (like a listening dgram socket). */
async function refStaysAlive(): Promise<Record<string, unknown>> {
  const g = GreSocket.open();
  g.onBatch(() => {});
  return { fd: g.fd };
}

/** Callback-edge behaviour over loopback: batching with pause/resume, throwing, closing inside the callback. */
async function callbacks(): Promise<Record<string, unknown>> {
  const lo = ip("127.0.0.1");
  const packets = grePackets(100).map((p) => p.slice(0, 40));
  const packed = packBatch(packets);
  const dsts = new Uint32Array(packets.length).fill(lo);
  const out: Record<string, unknown> = {};

  // Batching: 100 packets queued while paused arrive in ceil(100/64) callbacks after resume.
  const a = GreSocket.open({ bindAddress: "127.0.0.1", batchSize: 64 });
  let aPackets = 0;
  let aBatches = 0;
  const aSizes: number[] = [];
  a.onBatch((b) => {
    aBatches++;
    aPackets += b.count;
    aSizes.push(b.count);
  });
  a.pause();
  a.sendBatch(packed.buf, packed.offsets, packed.lengths, dsts, packets.length);
  await sleep(100);
  const whilePaused = aPackets;
  a.resume();
  await waitUntil(() => aPackets >= 100, 3000);
  out.batching = { whilePaused, packets: aPackets, batches: aBatches, sizes: aSizes, stats: a.stats() };
  a.close();

  // A throwing handler reaches 'uncaughtException'; the socket keeps working afterwards.
  const caught: string[] = [];
  process.on("uncaughtException", (e) => caught.push(e.message));
  const b = GreSocket.open({ bindAddress: "127.0.0.1" });
  let bPackets = 0;
  b.onBatch((batch) => {
    bPackets += batch.count;
    if (bPackets === 1) throw new Error("handler failure");
  });
  b.send(packets[0], 0, packets[0].length, lo);
  await waitUntil(() => caught.length > 0, 3000);
  b.send(packets[1], 0, packets[1].length, lo);
  await waitUntil(() => bPackets >= 2, 3000);
  out.throwing = { caught, packets: bPackets };
  b.close();

  // close() inside the handler: no further callbacks, nothing crashes, later sends throw EBADF.
  const c = GreSocket.open({ bindAddress: "127.0.0.1", batchSize: 4 });
  let cCalls = 0;
  c.onBatch(() => {
    cCalls++;
    c.close();
  });
  c.pause();
  c.sendBatch(packed.buf, packed.offsets, packed.lengths, dsts, 10);
  await sleep(50);
  c.resume();
  await sleep(150);
  out.closeInside = { calls: cCalls, closed: c.isClosed, sendAfter: describeError(() => c.send(packets[0], 0, 10, lo)) };

  // A replaced handler: the second one gets the packets.
  const d = GreSocket.open({ bindAddress: "127.0.0.1" });
  let first = 0;
  let second = 0;
  d.onBatch((x) => (first += x.count));
  d.onBatch((x) => (second += x.count));
  d.send(packets[0], 0, packets[0].length, lo);
  await waitUntil(() => second > 0, 3000);
  out.replaced = { first, second };
  d.close();
  return out;
}

/** A worker thread that exits with readers still open: Node's teardown hook must release them. */
async function threadExit(a: Args): Promise<Record<string, unknown>> {
  const { Worker: Thread } = await import("node:worker_threads");
  const io = new URL("../../src/io/index.js", import.meta.url).href;
  const code = `
    const { parentPort } = require("node:worker_threads");
    import(${JSON.stringify(io)}).then(({ GreSocket, TunDevice }) => {
      const g = GreSocket.open();
      g.onBatch(() => {});
      const t = TunDevice.open({ mtu: 1400, address: "10.209.0.1" });
      t.onBatch(() => {});
      parentPort.postMessage("open");
    });`;
  // A first thread outside the count: the first Worker sets up process-wide things (stdio plumbing).
  const warm = new Thread(code, { eval: true });
  await new Promise((resolve) => warm.once("message", resolve));
  await warm.terminate();
  await sleep(20);
  const before = fdCount();
  const results: number[] = [];
  for (let i = 0; i < Number(a.threads); i++) {
    const th = new Thread(code, { eval: true });
    await new Promise<void>((resolve, reject) => {
      th.once("message", () => resolve());
      th.once("error", reject);
    });
    results.push(fdCount());
    // terminate() tears the thread's environment down with both readers still polling.
    if (i % 2 === 0) await th.terminate();
    else {
      th.postMessage("bye");
      await th.terminate();
    }
  }
  await sleep(50);
  return { before, whileOpen: results, after: fdCount() };
}

/**
 * A TUN whose MTU is raised under us past its receive slots: UDP datagrams of both
 * sizes are sent into it; what is read must be whole packets only, the oversized ones dropped and counted.
 */
async function tunOversize(a: Args): Promise<Record<string, unknown>> {
  const tun = TunDevice.open({ name: String(a.name), mtu: 1000, address: "10.202.0.1", peer: "10.202.0.2", slotSize: 1024 });
  execFileSync("ip", ["link", "set", "dev", tun.name, "mtu", "1400"]); // raised under us
  const lengths: number[] = [];
  tun.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const h = ipv4Header(b.data, b.offsets[i], b.lengths[i]);
      if (h !== undefined && h.protocol === 17) lengths.push(b.lengths[i]);
    }
  });
  const { createSocket } = await import("node:dgram");
  const sock = createSocket("udp4");
  for (const size of [100, 1300, 100, 1300, 100, 1300]) {
    await new Promise<void>((resolve, reject) => sock.send(new Uint8Array(size), 9, "10.202.0.2", (e) => (e ? reject(e) : resolve())));
  }
  await sleep(300);
  sock.close();
  const stats = tun.stats();
  tun.close();
  return { lengths, rxDropped: stats.rxDropped };
}

const roles: Record<string, (a: Args) => Promise<Record<string, unknown>>> = {
  "tun-ping": tunPing,
  "tun-oversize": tunOversize,
  "tun-tcp": tunTcp,
  "gre-echo": greEcho,
  "gre-send": greSend,
  "gre-observe": greObserve,
  "gre-from": greFrom,
  "open-errors": openErrors,
  misuse,
  "open-close": openClose,
  "gc-closes": gcCloses,
  "unref-exit": unrefExit,
  "ref-stays-alive": refStaysAlive,
  callbacks,
  "thread-exit": threadExit,
};

const [role, json] = process.argv.slice(2);
if (role !== undefined) {
  const run = roles[role];
  if (run === undefined) {
    process.stderr.write(`unknown worker role ${role}\n`);
    process.exitCode = 2;
  } else {
    run(JSON.parse(json ?? "{}") as Args).then(
      (result) => emit("result", result),
      (e: unknown) => {
        process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
