// Shared test harness (no tests of its own; named *.test.ts to stay within the fsm*.test.ts files):
//  - a scriptable CpHandler and a Driver that pokes an Fsm and reads back what it did as RFC 1661 §4.4
//    action names (scr, sca, scn, str, sta, scj, ser, tlu, tld, tls, tlf);
//  - pump(), which wires two sans-I/O engines back to back on a fake clock.
import { Fsm, type CpHandler, type FsmConfig, type RequestVerdict, type ReplyOutcome, type ExtraCodeOutcome } from "../../src/ppp/fsm.js";
import { type CpOption, type CpPacket, emitCpPacket, emitCpOptions, parseCpPacket } from "../../src/wire/ppp-cp.js";
import { unwrap } from "../../src/wire/result.js";

export const OUR_OPTION: CpOption = { type: 1, data: Uint8Array.of(0x05, 0x78) };
export const NAK_OPTION: CpOption = { type: 1, data: Uint8Array.of(0x05, 0xdc) };

/** A handler whose answers the test sets. Echo-Request is answered (ser) in Opened, like LCP. */
export class ScriptedHandler implements CpHandler {
  fsm!: Fsm;
  verdict: () => RequestVerdict = () => ({ kind: "ack" });
  nakOutcome: ReplyOutcome = "applied";
  rejectOutcome: ReplyOutcome = "applied";
  veto: string | undefined;
  request: CpOption[] = [OUR_OPTION];
  resets = 0;
  rejectedCodes: number[] = [];

  resetRequest(): void {
    this.resets++;
  }
  buildRequest(): CpOption[] {
    return this.request;
  }
  processRequest(): RequestVerdict {
    return this.verdict();
  }
  nakReceived(): ReplyOutcome {
    return this.nakOutcome;
  }
  rejectReceived(): ReplyOutcome {
    return this.rejectOutcome;
  }
  verifyOpen(): string | undefined {
    return this.veto;
  }
  extraCode(_now: number, p: CpPacket): ExtraCodeOutcome {
    if (p.code === 9) {
      if (this.fsm.isOpened) this.fsm.sendPacket(10, p.id, p.data);
      return "handled";
    }
    return "unknown";
  }
  codeRejected(_now: number, code: number): void {
    this.rejectedCodes.push(code);
  }
}

const ACTION_BY_CODE: Record<number, string> = { 1: "scr", 2: "sca", 3: "scn", 4: "scn", 5: "str", 6: "sta", 7: "scj", 10: "ser" };
const ACTION_BY_EVENT: Record<string, string> = {
  "this-layer-up": "tlu",
  "this-layer-down": "tld",
  "this-layer-started": "tls",
  "this-layer-finished": "tlf",
};

export interface Drained {
  /** RFC 1661 §4.4 action names, packets first then layer events, in order. */
  actions: string[];
  packets: CpPacket[];
  events: { type: string; reason?: string; message?: string }[];
}

export class Driver {
  readonly handler = new ScriptedHandler();
  readonly fsm: Fsm;
  now = 0;
  lastRequest: CpPacket | undefined;

  constructor(config: FsmConfig = {}) {
    this.fsm = new Fsm("TEST", this.handler, config);
    this.handler.fsm = this.fsm;
  }

  drain(): Drained {
    const out: Drained = { actions: [], packets: [], events: [] };
    for (let b = this.fsm.pollTransmit(); b; b = this.fsm.pollTransmit()) {
      const p = unwrap(parseCpPacket(b));
      out.packets.push(p);
      out.actions.push(ACTION_BY_CODE[p.code] ?? `code${p.code}`);
      if (p.code === 1) this.lastRequest = p;
    }
    for (let e = this.fsm.pollEvent(); e; e = this.fsm.pollEvent()) {
      out.events.push(e);
      const a = ACTION_BY_EVENT[e.type];
      if (a) out.actions.push(a);
    }
    return out;
  }

  receive(code: number, id: number, data: Uint8Array = new Uint8Array(0)): void {
    this.fsm.handlePacket(this.now, emitCpPacket(code, id, data));
  }

  /** Ack our outstanding request exactly. */
  ack(): void {
    const r = this.lastRequest;
    this.receive(2, r ? r.id : 0, r ? r.data : new Uint8Array(0));
  }

  nak(options: CpOption[] = [NAK_OPTION]): void {
    this.receive(3, this.lastRequest?.id ?? 0, emitCpOptions(options));
  }

  peerRequest(id = 0x42): void {
    this.receive(1, id, emitCpOptions([NAK_OPTION]));
  }

  /** Fire the Restart timer if it runs. */
  timeout(): void {
    const t = this.fsm.pollTimeout();
    this.now = t ?? this.now + 60000;
    this.fsm.handleTimeout(this.now);
  }
}

/** The sans-I/O surface every control-protocol engine here has. */
export interface Engine {
  handlePacket(now: number, payload: Uint8Array): void;
  handleTimeout(now: number): void;
  pollTransmit(): Uint8Array | undefined;
  pollTimeout(): number | undefined;
}

export interface PumpOptions {
  /** Stop once this returns true (checked whenever no packet is in flight). */
  until: () => boolean;
  /** Drop a packet on its way: return true to lose it. */
  lose?: (from: "a" | "b", packet: Uint8Array) => boolean;
  /** Give up after this much fake time. */
  maxMs?: number;
}

/**
 * Deliver packets between a and b (instantly, in order) until `until()` holds or nothing can happen any more;
 * when both are idle, jump the fake clock to the earliest deadline. Returns every packet sent, per side.
 */
export function pump(a: Engine, b: Engine, clock: { now: number }, opts: PumpOptions): { a: Uint8Array[]; b: Uint8Array[] } {
  const sent = { a: [] as Uint8Array[], b: [] as Uint8Array[] };
  const maxMs = opts.maxMs ?? 600000;
  const start = clock.now;
  for (let guard = 0; guard < 100000; guard++) {
    let moved = false;
    for (let p = a.pollTransmit(); p; p = a.pollTransmit()) {
      sent.a.push(p);
      moved = true;
      if (!opts.lose?.("a", p)) b.handlePacket(clock.now, p);
    }
    for (let p = b.pollTransmit(); p; p = b.pollTransmit()) {
      sent.b.push(p);
      moved = true;
      if (!opts.lose?.("b", p)) a.handlePacket(clock.now, p);
    }
    if (moved) continue;
    if (opts.until()) return sent;
    const ta = a.pollTimeout();
    const tb = b.pollTimeout();
    const next = ta === undefined ? tb : tb === undefined ? ta : Math.min(ta, tb);
    if (next === undefined || next - start > maxMs) return sent;
    clock.now = Math.max(clock.now, next);
    a.handleTimeout(clock.now);
    b.handleTimeout(clock.now);
  }
  throw new Error("pump: no quiescence after 100000 steps");
}

/** Deterministic RandomSource: a counter-based byte stream, different per seed. */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}
