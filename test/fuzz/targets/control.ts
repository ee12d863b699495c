/**
 * The PPTP control stream: the framer, and the control connection engine in both roles fed a recorded valid
 * exchange (SCCRQ/OCRQ/SLI/echo/CCRQ/StopCCRQ from a client, or the server's replies) that was edited at the
 * message level, mutated at the byte level, cut into arbitrary TCP chunks and interleaved with timer expiries.
 */
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { ControlConnection, type ControlConnectionOptions } from "../../../src/pptp/control.js";
import type { ControlEvent } from "../../../src/pptp/control-events.js";
import { ControlStreamFramer, emitControlMessage, parseControlMessage } from "../../../src/wire/pptp-control.js";
import { applySequenceEdits, sequenceEditArb, type SequenceEdit } from "../mutate.js";
import { concatBytes as concat } from "../../../src/wire/bytes.js";
import { CLIENT_OPTIONS, controlMessageSeeds, controlTranscript, reactToEvent, SERVER_OPTIONS } from "../seeds.js";
import { bounded, count, invariant, type FuzzTarget } from "../target.js";

export interface StreamInput {
  /** Message-level edits of the recorded exchange. */
  readonly edits: readonly SequenceEdit[];
  /** TCP read sizes, used in turn (empty: the whole stream in one read). */
  readonly cuts: readonly number[];
  /** Milliseconds that pass before each read, used in turn. */
  readonly steps: readonly number[];
  /** Answers to the engine's requests (x % 4 === 3 refuses), used in turn. */
  readonly choices: readonly number[];
  /** The peer closes TCP at the end instead of going quiet. */
  readonly closeTransport: boolean;
}

export const streamInputArb: fc.Arbitrary<StreamInput> = fc.record({
  edits: fc.array(sequenceEditArb, { maxLength: 5 }),
  cuts: fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 400 })), { maxLength: 6 }),
  steps: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 }), fc.constantFrom(30_000, 59_999, 60_000, 61_000, 120_000)), { maxLength: 4 }),
  choices: fc.array(fc.nat({ max: 3 }), { maxLength: 4 }),
  closeTransport: fc.boolean(),
});

function pool(): Uint8Array[] {
  const t = controlTranscript();
  return [...controlMessageSeeds(), ...t.fromClient, ...t.fromServer];
}

/** The peer's byte stream for an input: the recorded messages, edited, concatenated. */
export function peerStream(recorded: readonly Uint8Array[], edits: readonly SequenceEdit[]): Uint8Array {
  return concat(...applySequenceEdits(recorded, edits, pool()));
}

export interface EngineRunReport {
  established: boolean;
  callConnected: boolean;
  closed: boolean;
  sent: string[];
}

/**
 * Feeds `stream` to a fresh engine as `input` says and checks, after every step: each message it sends parses
 * (strictly); nothing is sent and no event raised once `closed` was reported and drained; there is one `closed`
 * at most; pollTimeout is undefined or a finite time. Throws InvariantError on a violation.
 */
export function driveEngine(options: ControlConnectionOptions, stream: Uint8Array, input: Omit<StreamInput, "edits">): EngineRunReport {
  const cc = new ControlConnection(options);
  const report: EngineRunReport = { established: false, callConnected: false, closed: false, sent: [] };
  let choice = 0;
  const choose = (): number => (input.choices.length === 0 ? 0 : input.choices[choice++ % input.choices.length]);
  let closedDrained = false;
  const drain = (now: number): void => {
    const step = bounded(10_000, "draining the control engine");
    for (let e: ControlEvent | undefined = cc.pollEvent(); e !== undefined; e = cc.pollEvent()) {
      step();
      invariant(!report.closed, () => `event ${e?.type} after "closed"`);
      if (e.type === "established") report.established = true;
      if (e.type === "call-connected") report.callConnected = true;
      if (e.type === "closed") report.closed = true;
      reactToEvent(cc, now, e, choose);
    }
    for (let b = cc.pollTransmit(); b !== undefined; b = cc.pollTransmit()) {
      step();
      invariant(!closedDrained, "sent a message after the connection closed");
      const m = parseControlMessage(b);
      invariant(m.ok, () => `sent a message that does not parse: ${m.ok ? "" : m.error.message}`);
      invariant(isDeepStrictEqual(emitControlMessage(m.value), b), "sent message is not canonical");
      report.sent.push(m.value.type);
    }
    if (report.closed) {
      closedDrained = true;
      invariant(cc.isClosed, "a closed event but the engine is not closed");
    }
    const t = cc.pollTimeout();
    invariant(t === undefined || Number.isFinite(t), "pollTimeout is not a finite time");
  };
  let now = 0;
  cc.start(now);
  drain(now);
  let k = 0;
  for (let pos = 0; pos < stream.length; k++) {
    now += input.steps.length === 0 ? 0 : input.steps[k % input.steps.length];
    const due = cc.pollTimeout();
    if (due !== undefined && due <= now) {
      cc.handleTimeout(now);
      drain(now);
    }
    const size = input.cuts.length === 0 ? stream.length : input.cuts[k % input.cuts.length];
    cc.handleBytes(now, stream.subarray(pos, pos + size));
    pos += size;
    drain(now);
  }
  // Let the timers run out: keepalives, reply time-outs, the peer's silence.
  for (let i = 0; i < 8; i++) {
    const due = cc.pollTimeout();
    if (due === undefined) break;
    invariant(due >= now - 1_000_000, "deadline far in the past");
    now = Math.max(now, due);
    cc.handleTimeout(now);
    drain(now);
  }
  if (input.closeTransport) {
    cc.handleTransportClosed(now);
    drain(now);
  }
  // Nothing more may come out of a closed engine, whatever it is asked.
  if (cc.isClosed) {
    cc.handleBytes(now + 1, controlMessageSeeds()[0]);
    cc.handleTimeout(now + 1_000_000);
    cc.stop(now + 1);
    drain(now + 1);
  }
  return report;
}

function engineTarget(name: string, options: ControlConnectionOptions, recorded: () => Uint8Array[]): FuzzTarget<StreamInput> {
  const coverage: Record<string, number> = {};
  return {
    name,
    description: `ControlConnection (${options.role}) fed the recorded peer exchange, edited and mutated, in random chunks and times; every message sent parses, nothing after close`,
    arbitrary: streamInputArb,
    coverage,
    run(input) {
      const r = driveEngine(options, peerStream(recorded(), input.edits), input);
      count(coverage, "runs");
      if (r.established) count(coverage, "established");
      if (r.callConnected) count(coverage, "call connected");
      if (r.closed) count(coverage, "closed");
    },
  };
}

export const controlServer = engineTarget("pptp-control-server", SERVER_OPTIONS, () => controlTranscript().fromClient);
export const controlClient = engineTarget("pptp-control-client", CLIENT_OPTIONS, () => controlTranscript().fromServer);

const framerCov: Record<string, number> = {};
export const controlFramer: FuzzTarget<StreamInput> = {
  name: "pptp-control-framer",
  description: "ControlStreamFramer on edited/mutated recorded streams in random chunks; next() always ends, messages round-trip, failure is final",
  arbitrary: streamInputArb,
  coverage: framerCov,
  run(input) {
    const t = controlTranscript();
    const stream = peerStream(input.choices.length % 2 === 0 ? t.fromClient : t.fromServer, input.edits);
    const f = new ControlStreamFramer({ maxBuffered: 4096 });
    let pushed = 0;
    let consumed = 0;
    let failedSeen = false;
    for (let pos = 0, k = 0; pos < stream.length; k++) {
      const size = input.cuts.length === 0 ? stream.length : input.cuts[k % input.cuts.length];
      const chunk = stream.subarray(pos, pos + size);
      pos += size;
      f.push(chunk);
      pushed += chunk.length;
      // Each next() either consumes a whole message (>= 12 octets) or ends the loop, so this many calls must do.
      const step = bounded(Math.floor(pushed / 12) + 3, "ControlStreamFramer.next()");
      for (let r = f.next(); r !== undefined; r = f.next()) {
        step();
        invariant(!failedSeen, "framer returned something after reporting a framing failure");
        if (r.ok) {
          const b = emitControlMessage(r.value);
          consumed += b.length;
          count(framerCov, "message");
          invariant(isDeepStrictEqual(parseControlMessage(b).ok && (parseControlMessage(b) as { value: unknown }).value, r.value), "framed message does not round-trip");
        } else if (f.failed) {
          failedSeen = true;
          count(framerCov, "failed");
        } else {
          count(framerCov, "bad message");
        }
      }
      invariant(f.buffered >= 0 && f.buffered <= 4096, () => `framer holds ${f.buffered} octets`);
      invariant(f.failed || consumed <= pushed, "framer returned more octets than it was given");
    }
  },
};
