/**
 * The workers bench's clients (runs in the generator namespace): for every call, a sequence of GRE packets built
 * before the clock starts (a UDP datagram each, stateless MPPE-128, GRE sequence numbers from 0) and sent once, in
 * order, round robin over the calls, in sendmmsg batches, each call keeping at most WINDOW packets unacknowledged as
 * a PPTP sender does (RFC 2637 §4.2: the server's Packet Recv. Window; its acknowledgments clock us), so what the
 * server takes, not what a flood leaves of it, is measured. Built ahead because stateless MPPE changes the key
 * before every packet along a chain that never repeats (RFC 3078 §7.1): a replayed ring would not decrypt, and
 * encrypting live would cost the generator what it costs the server, on the same cores. When the first call's
 * sequence runs out it says {"event":"exhausted"}. stdin: "go" starts a round, "stop" ends it and prints
 * GeneratorTotals as one JSON line; the process ends when stdin closes.
 */
import { createInterface } from "node:readline";
import { GreSocket } from "../../src/io/gre-socket.js";
import { FakePeer, testKeys, udpDatagram } from "./peer.js";
import type { GeneratorArgs, GeneratorTotals } from "./protocol.js";

const BATCH = 32;
/** Unacknowledged packets per call (the server's GreChannel advertises 64 and acknowledges every 32). */
const WINDOW = 64;
/** No acknowledgment for this long: what is outstanding counts as lost (the server skipped it). */
const ACK_TIMEOUT_MS = 200;

interface Ring {
  readonly buf: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  next: number;
  /** Sequence number of the next packet not yet acknowledged, and when an acknowledgment last moved it. */
  acked: number;
  ackedAt: number;
}

function buildRing(a: GeneratorArgs, local: number, peer: number, client: number): Ring {
  const p = new FakePeer(local, peer, testKeys(local));
  const payload = new Uint8Array(a.size - 28).fill(0x5a);
  const count = a.packetsPerCall;
  const first = p.ip(udpDatagram(client, a.sink, 7000, 9, payload));
  const slot = first.length;
  const buf = new Uint8Array(slot * count);
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count).fill(slot);
  buf.set(first, 0);
  for (let i = 1; i < count; i++) {
    offsets[i] = i * slot;
    buf.set(p.ip(udpDatagram(client, a.sink, 7000, 9, payload)), i * slot);
  }
  return { buf, offsets, lengths, next: 0, acked: 0, ackedAt: 0 };
}

async function main(a: GeneratorArgs): Promise<void> {
  const rings = a.calls.map((c) => buildRing(a, c.local, c.peer, c.client));
  const sock = GreSocket.open({ sendBufferBytes: 8 << 20 });
  const dsts = new Uint32Array(BATCH).fill(a.server);
  const byPeerCallId = new Map(a.calls.map((c, i) => [c.peer, rings[i]]));
  // The server's acknowledgments (A bit; RFC 2637 §4.1), piggy-backed or alone. A sender waiting for one is woken.
  let ackWake: (() => void) | undefined;
  sock.onBatch((b) => {
    const d = b.data;
    for (let i = 0; i < b.count; i++) {
      const o = b.offsets[i];
      if (b.lengths[i] < 12 || (d[o + 1] & 0x80) === 0) continue;
      const r = byPeerCallId.get((d[o + 6] << 8) | d[o + 7]);
      if (r === undefined) continue;
      const at = o + ((d[o] & 0x10) !== 0 ? 12 : 8);
      const ack = (((d[at] << 24) | (d[at + 1] << 16) | (d[at + 2] << 8) | d[at + 3]) >>> 0) + 1;
      if (ack > r.acked && ack <= r.next) {
        r.acked = ack;
        r.ackedAt = performance.now();
      }
    }
    const w = ackWake;
    ackWake = undefined;
    w?.();
  });
  // Commands: "go" starts a round (every call from its first packet: a new server starts its MPPE and GRE state
  // from the same keys and sequence number 0, so the prebuilt packets serve every round), "stop" ends it.
  const commands: string[] = [];
  let wake: (() => void) | undefined;
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (l) => {
    commands.push(l);
    wake?.();
  });
  rl.on("close", () => {
    commands.push("exit");
    wake?.();
  });
  const command = async (): Promise<string> => {
    while (commands.length === 0) await new Promise<void>((r) => (wake = r));
    return commands.shift()!;
  };
  process.stdout.write(JSON.stringify({ event: "ready" }) + "\n");
  for (let c = await command(); c !== "exit"; c = await command()) {
    if (c !== "go") continue;
    const t = await round();
    process.stdout.write(JSON.stringify({ event: "totals", ...t }) + "\n");
  }
  sock.close();

  async function round(): Promise<GeneratorTotals> {
    for (const r of rings) {
      r.next = 0;
      r.acked = 0;
      r.ackedAt = performance.now();
    }
    let sent = 0;
    let refused = 0;
    let timeouts = 0;
    let exhausted = false;
    let bytes = 0;
    const bytesPerMs = (a.mbps * 1e6) / 8 / 1000;
    const start = performance.now();
    let callIndex = 0;
    while (commands.length === 0) {
      // Send what the offered rate and the windows allow by now, then give the event loop (acknowledgments, stdin) a turn.
      const due = (performance.now() - start) * bytesPerMs;
      const now = performance.now();
      const sentBefore = sent;
      let budget = rings.length;
      while (bytes < due && budget-- > 0) {
        const r = rings[callIndex];
        callIndex = (callIndex + 1) % rings.length;
        if (r.next - r.acked >= WINDOW && now - r.ackedAt > ACK_TIMEOUT_MS) {
          r.acked = r.next;
          r.ackedAt = now;
          timeouts++;
        }
        const at = r.next;
        const n = Math.min(BATCH, a.packetsPerCall - at, WINDOW - (r.next - r.acked));
        if (at >= a.packetsPerCall && !exhausted) {
          exhausted = true;
          process.stdout.write(JSON.stringify({ event: "exhausted" }) + "\n");
        }
        if (n <= 0) continue;
        const k = sock.sendBatch(r.buf, r.offsets.subarray(at, at + n), r.lengths.subarray(at, at + n), dsts, n);
        // Refused packets (a full send buffer) were not sent: the next batch starts with the first of them.
        r.next += k;
        sent += k;
        refused += n - k;
        bytes += k * a.size;
      }
      // Every window full (or the rate reached): wait for an acknowledgment (or 1 ms) without spinning.
      if (sent === sentBefore) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1);
          ackWake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      } else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (commands[0] === "stop") commands.shift();
    return { sent, bytes, refused, timeouts };
  }
}

if (process.argv[2] !== undefined) await main(JSON.parse(process.argv[2]) as GeneratorArgs);
