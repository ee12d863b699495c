/**
 * The GRE channel (and its receive sequencer) fed arbitrary packets: well-formed ones with sequence and
 * acknowledgment numbers around the expected window, mutated recorded packets and random headers, interleaved
 * with sends and timer expiries.
 */
import fc from "fast-check";
import { GreChannel } from "../../../src/pptp/gre-channel.js";
import { emitGreHeader, GRE_MAX_HEADER_LENGTH, parseGreHeader } from "../../../src/wire/gre.js";
import { mutatedBytes } from "../mutate.js";
import { greSeeds } from "../seeds.js";
import { bounded, count, invariant, type FuzzTarget } from "../target.js";

const LOCAL = 5;
const PEER = 7;
const MAX_PAYLOAD = 256;
/** Tagged payloads carry this marker and their header's sequence number, so in-order delivery can be checked. */
const MARK = [0x47, 0x52, 0x45, 0x53, 0x45, 0x51, 0x21, 0x21];

type Action =
  | { readonly a: "packet"; readonly callId: number; readonly seq?: number; readonly ack?: number; readonly len: number; readonly lenDelta: number }
  | { readonly a: "raw"; readonly bytes: Uint8Array }
  | { readonly a: "send"; readonly len: number }
  | { readonly a: "wait"; readonly ms: number };

const near = fc.oneof(fc.integer({ min: -4, max: 70 }), fc.integer({ min: -0x80000000, max: 0x7fffffff }));

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      a: fc.constant("packet" as const),
      callId: fc.oneof({ weight: 8, arbitrary: fc.constant(LOCAL) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
      seq: fc.option(near, { nil: undefined, freq: 6 }),
      ack: fc.option(near, { nil: undefined }),
      len: fc.integer({ min: 0, max: 300 }),
      lenDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ a: fc.constant("raw" as const), bytes: fc.constant(null).chain(() => mutatedBytes(greSeeds(), 4, 40)) }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant("send" as const), len: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant("wait" as const), ms: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 10_000 })) }) },
);

export interface GreInput {
  readonly flowControl: "off" | "fixed" | "sliding" | "auto";
  readonly peerWindow: number;
  readonly receiveWindow: number;
  readonly actions: readonly Action[];
}

const cov: Record<string, number> = {};
export const greChannel: FuzzTarget<GreInput> = {
  name: "gre-channel",
  description: "GreChannel + ReceiveSequencer fed arbitrary GRE packets, sends and timeouts; deliveries in bounds and in order, every sent packet parses",
  arbitrary: fc.record({
    flowControl: fc.constantFrom("off" as const, "fixed" as const, "sliding" as const, "auto" as const),
    peerWindow: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 })),
    receiveWindow: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(64)),
    actions: fc.array(actionArb, { maxLength: 40 }),
  }),
  coverage: cov,
  run(input) {
    let lastTag: number | undefined;
    let backwardAfter: { tag: number; lastTag: number; resyncs: number } | undefined;
    const ch = new GreChannel({
      localCallId: LOCAL,
      peerCallId: PEER,
      peerReceiveWindow: input.peerWindow,
      receiveWindow: input.receiveWindow,
      flowControl: input.flowControl,
      maxPayload: MAX_PAYLOAD,
      reorderTimeoutMs: 50,
      transmit: (b, off, len) => {
        invariant(off >= 0 && off + len <= b.length, "transmit view out of bounds");
        const h = parseGreHeader(b, off, len);
        invariant(h.ok, () => `sent a GRE packet that does not parse: ${h.ok ? "" : h.error.message}`);
        invariant(h.value.callId === PEER, "sent a packet with the wrong Call ID");
        invariant(h.value.hasSeq || h.value.hasAck, "sent a packet with neither sequence nor acknowledgment");
      },
      deliver: (b, off, len) => {
        invariant(off >= 0 && len >= 0 && off + len <= b.length, () => `delivered view [${off}, +${len}) of ${b.length} octets`);
        count(cov, "delivered");
        if (len >= 12 && MARK.every((m, i) => b[off + i] === m)) {
          const tag = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
          if (lastTag !== undefined) {
            // Relative to the one expected next (last + 1), as the sequencer's serial arithmetic sees it.
            const d = (tag - lastTag - 1) | 0;
            // Backwards is allowed only as a re-synchronisation (checked after the action: stats.resyncs must grow),
            // e.g. a stray first packet set our start and the peer's genuine stream lies behind it.
            if (d < 0) backwardAfter ??= { tag, lastTag, resyncs: ch.stats.resyncs };
          }
          lastTag = tag;
        } else {
          lastTag = undefined; // an untagged packet took a sequence number we cannot see
        }
      },
    });
    const out = new Uint8Array(GRE_MAX_HEADER_LENGTH + 400);
    const payload = new Uint8Array(400).fill(0x21);
    let now = 0;
    const timers = (): void => {
      const step = bounded(1000, "GreChannel timeouts at one instant");
      for (let t = ch.pollTimeout(); t !== undefined && t <= now; t = ch.pollTimeout()) {
        step();
        invariant(Number.isFinite(t), "pollTimeout not finite");
        ch.handleTimeout(now);
      }
    };
    for (const act of input.actions) {
      switch (act.a) {
        case "packet": {
          const seq = act.seq === undefined ? undefined : act.seq >>> 0;
          const ack = act.ack === undefined ? undefined : act.ack >>> 0;
          const n = emitGreHeader(out, 0, act.callId, Math.max(0, Math.min(0xffff, act.len + act.lenDelta)), seq, ack);
          out.fill(0x21, n, n + act.len);
          if (seq !== undefined && act.len >= 12) {
            out.set(MARK, n);
            out[n + 8] = seq >>> 24;
            out[n + 9] = (seq >>> 16) & 0xff;
            out[n + 10] = (seq >>> 8) & 0xff;
            out[n + 11] = seq & 0xff;
          }
          ch.handlePacket(now, out, 0, n + act.len);
          break;
        }
        case "raw":
          ch.handlePacket(now, act.bytes, 0, act.bytes.length);
          break;
        case "send":
          if (act.len <= MAX_PAYLOAD) ch.send(now, payload, 0, act.len);
          else count(cov, "oversize not sent");
          break;
        case "wait":
          now += act.ms;
          break;
      }
      timers();
      if (backwardAfter !== undefined) {
        const b = backwardAfter;
        invariant(ch.stats.resyncs > b.resyncs, () => `delivered sequence ${b.tag} after ${b.lastTag} without a re-synchronisation: out of order or twice`);
        backwardAfter = undefined;
      }
    }
    now += 60_000;
    timers();
    invariant(ch.stats.rx <= input.actions.length, "delivered more payloads than packets received");
    count(cov, "runs");
    if (ch.stats.reordered > 0) count(cov, "reordered");
    if (ch.stats.lost > 0) count(cov, "gap skipped");
  },
};
