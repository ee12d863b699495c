/**
 * LCP option negotiation (RFC 1661 §6): the `CpHandler` that `LcpEngine` gives the automaton.
 *
 * Options we negotiate:
 *  - MRU (1): we ask for `mru` (default 1400: an IP datagram of that size, plus PPP (4) + MPPE (4) + GRE (16) +
 *    outer IP (20) headers, stays under a 1500-octet Ethernet MTU with room for one more encapsulation such as
 *    PPPoE). We accept a peer MRU of at least `minPeerMru` (default 576, the datagram size every IPv4 host must
 *    accept, RFC 791 / RFC 1122 §3.3.3 — smaller would fragment ordinary traffic) and Nak smaller ones up to it.
 *    Larger-than-default values are fine: RFC 1661 §6.1 only obliges the peer to *be able to* receive them.
 *  - ACCM (2): meaningless on PPTP's synchronous-style GRE framing but peers send it; we accept any value and
 *    only ask for one when configured.
 *  - Authentication-Protocol (3): as authenticator we ask for `authenticate[0]` and walk down that preference
 *    list on Naks (RFC 1661 §6.2 "attempt the next most desirable protocol"), switching straight to a method
 *    the peer Naks with if we allow it; a Reject, or running out, fails LCP with a reason naming our methods.
 *    As authenticatee we Ack a method in `acceptAuth`, otherwise Nak with our favourite (RFC 1994 §3: the Nak
 *    carries the desired protocol), and Reject the option when we accept none.
 *    Every method the peer asks for is remembered (`authAskedByPeer`), so that a client whose server never
 *    came round to a method it accepts can say which ones the server offered.
 *  - Magic-Number (5) with loop-back detection (§6.4).
 *  - PFC (7), ACFC (8): boolean options, so refused with Reject, never Nak (§5.3).
 * Everything else — Quality-Protocol, Callback (Windows asks for it), the multilink options MRRU,
 * Short-Sequence and Endpoint-Discriminator (Windows sends those too), Link-Discriminator, FCS-Alternatives,
 * unknown types — is Configure-Rejected. A second instance of an option is rejected as well (§6: none of
 * these "can be listed more than once").
 */
import type { RandomSource } from "../core/clock.js";
import type { AuthMethod } from "../wire/ppp-protocols.js";
import type { CpHandler, ReplyOutcome, RequestVerdict } from "./fsm.js";
import { type AskedAuth, authProtocolLabel } from "./explain.js";
import {
  type CpOption,
  type LcpOption,
  LCP_OPT_MRU,
  LCP_OPT_ACCM,
  LCP_OPT_AUTH_PROTOCOL,
  LCP_OPT_MAGIC_NUMBER,
  LCP_OPT_PFC,
  LCP_OPT_ACFC,
  parseLcpOption,
  emitLcpOption,
  authProtocolOption,
  authMethodOf,
  describeAuthProtocol,
} from "../wire/ppp-cp.js";

/** RFC 1661 §6.1: the MRU every implementation assumes when none was negotiated. */
export const DEFAULT_MRU = 1500;
/** RFC 1662 §7.1: the ACCM in force until one is negotiated. */
export const DEFAULT_ACCM = 0xffffffff;

export interface LcpOptionsConfig {
  /** MRU we ask for; default 1400 (see above). 1500 means "don't ask" (§5.1: defaults are not sent). */
  readonly mru?: number;
  /** Smallest peer MRU we accept; default 576. */
  readonly minPeerMru?: number;
  /** Authenticator: methods we require the peer to use, best first. Empty/absent: we do not ask. */
  readonly authenticate?: readonly AuthMethod[];
  /** Authenticatee: methods we agree to prove ourselves with, best first. Empty/absent: we refuse. */
  readonly acceptAuth?: readonly AuthMethod[];
  /** Negotiate a Magic-Number (default true). */
  readonly magicNumber?: boolean;
  /** Ask for and accept Protocol-Field-Compression (default true). */
  readonly pfc?: boolean;
  /** Ask for and accept Address-and-Control-Field-Compression (default true). */
  readonly acfc?: boolean;
  /** ACCM to ask for; absent: do not ask. */
  readonly accm?: number;
  /** Times the peer's request may carry our own Magic-Number before we declare the link looped back; default 3. */
  readonly maxLoopback?: number;
}

/** What LCP agreed, valid once LCP is Opened. */
export interface LcpResult {
  /** Largest Information field the peer may send us: our MRU as Acked (1500 when we did not ask). */
  readonly localMru: number;
  /** Largest Information field we may send: the peer's MRU as we Acked it (1500 when it did not ask). */
  readonly peerMru: number;
  /** Our Magic-Number, 0 when not negotiated (§6.4: then 0 goes in Echo/Discard packets). */
  readonly localMagic: number;
  /** The peer's Magic-Number, 0 when it did not send one. */
  readonly peerMagic: number;
  /** As authenticator: the method the peer agreed to (it Acked our Authentication-Protocol). */
  readonly authenticatePeer: AuthMethod | undefined;
  /** As authenticatee: the method the peer demanded and we Acked. */
  readonly authenticateToPeer: AuthMethod | undefined;
  /** We may send compressed Protocol fields (the peer asked for PFC and we Acked). */
  readonly sendPfc: boolean;
  /** The peer may send compressed Protocol fields (it Acked our PFC). Receivers accept both forms anyway. */
  readonly receivePfc: boolean;
  /** We may omit Address/Control (the peer asked for ACFC and we Acked). */
  readonly sendAcfc: boolean;
  /** The peer may omit Address/Control (it Acked our ACFC). */
  readonly receiveAcfc: boolean;
  /** ACCM the peer asked us to use when sending (RFC 1662 §7.1); irrelevant on PPTP. */
  readonly peerAccm: number;
  /** ACCM we asked for and the peer Acked. */
  readonly localAccm: number;
}

export type LcpNegotiatorEvent = { readonly type: "looped-back"; readonly reason: string };

const DEFAULT_OUR_MRU = 1400;
const DEFAULT_MIN_PEER_MRU = 576;
const DEFAULT_MAX_LOOPBACK = 3;

export function formatMethods(methods: readonly AuthMethod[]): string {
  return methods.join(", ");
}

export class LcpNegotiator implements CpHandler {
  private readonly cfgMru: number;
  private readonly minPeerMru: number;
  private readonly authenticate: readonly AuthMethod[];
  private readonly acceptAuth: readonly AuthMethod[];
  private readonly useMagic: boolean;
  private readonly usePfc: boolean;
  private readonly useAcfc: boolean;
  private readonly cfgAccm: number | undefined;
  private readonly maxLoopback: number;
  private readonly random: RandomSource;
  private readonly emit: (e: LcpNegotiatorEvent) => void;

  // What our next Configure-Request asks for.
  private wantMru: number | undefined;
  private wantAccm: number | undefined;
  private wantAuth: AuthMethod | undefined;
  /** Made when the peer first refuses one (an idle session keeps no empty Set). */
  private refusedAuth: Set<AuthMethod> | undefined;
  private wantMagic = false;
  private magic = 0;
  private wantPfc = false;
  private wantAcfc = false;

  // What the peer's last Configure-Request asked for (the last one we answered; §4 guarantees it was Acked
  // by the time the layer comes up).
  private peerMru = DEFAULT_MRU;
  private peerAccm = DEFAULT_ACCM;
  private peerAuth: AuthMethod | undefined;
  private peerMagic = 0;
  private peerPfc = false;
  private peerAcfc = false;

  private loopbackCount = 0;
  private lastNakMagic: number | undefined;

  /** Every Authentication-Protocol the peer asked us to use, in the order first asked; kept across renegotiations. */
  private readonly asked: AskedAuth[] = [];

  constructor(config: LcpOptionsConfig, random: RandomSource, emit: (e: LcpNegotiatorEvent) => void = () => {}) {
    this.cfgMru = config.mru ?? DEFAULT_OUR_MRU;
    this.minPeerMru = config.minPeerMru ?? DEFAULT_MIN_PEER_MRU;
    this.authenticate = config.authenticate ?? [];
    this.acceptAuth = config.acceptAuth ?? [];
    this.useMagic = config.magicNumber ?? true;
    this.usePfc = config.pfc ?? true;
    this.useAcfc = config.acfc ?? true;
    this.cfgAccm = config.accm;
    this.maxLoopback = config.maxLoopback ?? DEFAULT_MAX_LOOPBACK;
    this.random = random;
    this.emit = emit;
    // Our wishes are set by resetRequest(), which the automaton calls before its first Configure-Request.
  }

  /** The negotiated values; meaningful once the automaton is Opened. */
  result(): LcpResult {
    return {
      localMru: this.wantMru ?? DEFAULT_MRU,
      peerMru: this.peerMru,
      localMagic: this.wantMagic ? this.magic : 0,
      peerMagic: this.peerMagic,
      authenticatePeer: this.wantAuth,
      authenticateToPeer: this.peerAuth,
      sendPfc: this.peerPfc,
      receivePfc: this.wantPfc,
      sendAcfc: this.peerAcfc,
      receiveAcfc: this.wantAcfc,
      peerAccm: this.peerAccm,
      localAccm: this.wantAccm ?? DEFAULT_ACCM,
    };
  }

  /**
   * As authenticatee: the methods the peer asked for, in its order, whether or not we accepted them — what a
   * client needs to say why no authentication method was agreed.
   */
  get authAskedByPeer(): readonly AskedAuth[] {
    return this.asked;
  }

  /** Our current Magic-Number, 0 when we are not (or no longer) negotiating one. */
  get localMagic(): number {
    return this.wantMagic ? this.magic : 0;
  }

  // ------------------------------------------------------------------------------------------------------
  // CpHandler

  resetRequest(): void {
    this.wantMru = this.cfgMru === DEFAULT_MRU ? undefined : this.cfgMru;
    this.wantAccm = this.cfgAccm;
    this.refusedAuth = undefined;
    this.wantAuth = this.authenticate[0];
    this.wantMagic = this.useMagic;
    this.magic = this.useMagic ? this.freshMagic(0) : 0;
    this.wantPfc = this.usePfc;
    this.wantAcfc = this.useAcfc;
    this.loopbackCount = 0;
    this.lastNakMagic = undefined;
  }

  buildRequest(): CpOption[] {
    const out: LcpOption[] = [];
    if (this.wantMru !== undefined) out.push({ kind: "mru", mru: this.wantMru });
    if (this.wantAccm !== undefined) out.push({ kind: "accm", accm: this.wantAccm });
    if (this.wantAuth !== undefined) out.push(authProtocolOption(this.wantAuth));
    if (this.wantMagic) out.push({ kind: "magic-number", magic: this.magic });
    if (this.wantPfc) out.push({ kind: "pfc" });
    if (this.wantAcfc) out.push({ kind: "acfc" });
    return out.map(emitLcpOption);
  }

  processRequest(options: readonly CpOption[]): RequestVerdict {
    this.peerMru = DEFAULT_MRU;
    this.peerAccm = DEFAULT_ACCM;
    this.peerAuth = undefined;
    this.peerMagic = 0;
    this.peerPfc = false;
    this.peerAcfc = false;

    const rejects: CpOption[] = [];
    const naks: CpOption[] = [];
    const seen = new Set<number>();
    for (const o of options) {
      if (seen.has(o.type)) {
        rejects.push(o);
        continue;
      }
      seen.add(o.type);
      const parsed = parseLcpOption(o);
      switch (o.type) {
        case LCP_OPT_MRU: {
          // §6: a negotiable option with a bad Length is Nak'd with a well-formed one.
          const mru = parsed.ok && parsed.value.kind === "mru" ? parsed.value.mru : -1;
          if (mru < this.minPeerMru) naks.push(emitLcpOption({ kind: "mru", mru: mru < 0 ? DEFAULT_MRU : this.minPeerMru }));
          else this.peerMru = mru;
          break;
        }
        case LCP_OPT_ACCM:
          if (parsed.ok && parsed.value.kind === "accm") this.peerAccm = parsed.value.accm;
          else naks.push(emitLcpOption({ kind: "accm", accm: 0 }));
          break;
        case LCP_OPT_AUTH_PROTOCOL: {
          if (parsed.ok && parsed.value.kind === "auth-protocol") this.noteAsked(parsed.value.protocol, parsed.value.data);
          if (this.acceptAuth.length === 0) {
            rejects.push(o);
            break;
          }
          const m = parsed.ok && parsed.value.kind === "auth-protocol" ? authMethodOf(parsed.value.protocol, parsed.value.data) : undefined;
          if (m !== undefined && this.acceptAuth.includes(m)) this.peerAuth = m;
          else naks.push(emitLcpOption(authProtocolOption(this.acceptAuth[0])));
          break;
        }
        case LCP_OPT_MAGIC_NUMBER: {
          const magic = parsed.ok && parsed.value.kind === "magic-number" ? parsed.value.magic : 0;
          if (magic !== 0 && !(this.wantMagic && magic === this.magic)) {
            this.peerMagic = magic;
            break;
          }
          if (magic !== 0) {
            // §6.4: equal Magic-Numbers — possibly our own request coming back. Nak with a different value.
            this.loopbackCount++;
            if (this.loopbackCount >= this.maxLoopback) return { kind: "fail", reason: this.loopedBack() };
          }
          // §6.4: "A Magic-Number of zero is illegal and MUST always be Nak'd".
          this.lastNakMagic = this.freshMagic(this.magic);
          naks.push(emitLcpOption({ kind: "magic-number", magic: this.lastNakMagic }));
          break;
        }
        case LCP_OPT_PFC:
          if (this.usePfc && o.data.length === 0) this.peerPfc = true;
          else rejects.push(o);
          break;
        case LCP_OPT_ACFC:
          if (this.useAcfc && o.data.length === 0) this.peerAcfc = true;
          else rejects.push(o);
          break;
        default:
          rejects.push(o);
      }
    }
    if (rejects.length > 0) return { kind: "reject", options: rejects };
    if (naks.length > 0) return { kind: "nak", options: naks };
    return { kind: "ack" };
  }

  nakReceived(options: readonly CpOption[]): ReplyOutcome {
    for (const o of options) {
      const parsed = parseLcpOption(o);
      if (!parsed.ok) continue; // a malformed suggestion is no suggestion; keep what we had
      const v = parsed.value;
      switch (v.kind) {
        case "mru":
          // The peer suggests another MRU for us: fine unless it is below what IP needs; then stop asking
          // (we can always receive the 1500-octet default, §6.1).
          this.wantMru = v.mru >= this.minPeerMru && v.mru !== DEFAULT_MRU ? v.mru : undefined;
          break;
        case "accm":
          // RFC 1662 §7.1: escape at least what either side wants.
          this.wantAccm = ((this.wantAccm ?? 0) | v.accm) >>> 0;
          break;
        case "auth-protocol": {
          if (this.wantAuth === undefined) break; // we do not authenticate the peer; an appended suggestion is moot
          const outcome = this.authNaked(authMethodOf(v.protocol, v.data), describeAuthProtocol(v.protocol, v.data));
          if (outcome !== undefined) return outcome;
          break;
        }
        case "magic-number":
          if (!this.wantMagic) break;
          // §6.4: a Nak carrying the Magic-Number we last Nak'd with makes a loop more likely; either way we
          // pick a new number for the next request.
          if (this.lastNakMagic !== undefined && v.magic === this.lastNakMagic) {
            this.loopbackCount++;
            if (this.loopbackCount >= this.maxLoopback) return { fail: this.loopedBack() };
          }
          this.magic = this.freshMagic(this.magic);
          break;
        default:
          // PFC/ACFC may not be Nak'd (§5.3); unrequested extras (MRRU...) we simply do not add.
          break;
      }
    }
    return "applied";
  }

  rejectReceived(options: readonly CpOption[]): ReplyOutcome {
    for (const o of options) {
      switch (o.type) {
        case LCP_OPT_MRU:
          this.wantMru = undefined;
          break;
        case LCP_OPT_ACCM:
          this.wantAccm = undefined;
          break;
        case LCP_OPT_AUTH_PROTOCOL:
          return {
            fail: `peer refused to authenticate: it rejected the Authentication-Protocol option (we allow ${formatMethods(this.authenticate)})`,
          };
        case LCP_OPT_MAGIC_NUMBER:
          // §6.4: a Reject "can only mean that the link is not looped-back"; carry on without one.
          this.wantMagic = false;
          break;
        case LCP_OPT_PFC:
          this.wantPfc = false;
          break;
        case LCP_OPT_ACFC:
          this.wantAcfc = false;
          break;
      }
    }
    return "applied";
  }

  verifyOpen(): string | undefined {
    // A server that requires authentication never opens without the option having been Acked.
    if (this.authenticate.length > 0 && this.wantAuth === undefined) {
      return `peer refused all of the authentication methods we allow (${formatMethods(this.authenticate)})`;
    }
    return undefined;
  }

  // ------------------------------------------------------------------------------------------------------

  private authNaked(suggested: AuthMethod | undefined, described: string): ReplyOutcome | undefined {
    if (this.wantAuth !== undefined) (this.refusedAuth ??= new Set()).add(this.wantAuth);
    if (suggested !== undefined && this.authenticate.includes(suggested) && !this.refusedAuth?.has(suggested)) {
      this.wantAuth = suggested;
      return undefined;
    }
    const next = this.authenticate.find((m) => !this.refusedAuth?.has(m));
    if (next === undefined) {
      this.wantAuth = undefined;
      return {
        fail: `peer refused all of the authentication methods we allow (${formatMethods(this.authenticate)}); it asked for ${described}`,
      };
    }
    this.wantAuth = next;
    return undefined;
  }

  private noteAsked(protocol: number, data: Uint8Array): void {
    const label = authProtocolLabel(protocol, data);
    if (this.asked.some((a) => a.label === label)) return;
    // `data` is a view into the received packet: keep a copy.
    this.asked.push({ protocol, data: data.slice(), method: authMethodOf(protocol, data), label });
  }

  /** Report the loop and return the reason LCP closes with. */
  private loopedBack(): string {
    const reason = `looped-back link: the peer's Magic-Number equalled ours ${this.loopbackCount} times (RFC 1661 §6.4)`;
    this.emit({ type: "looped-back", reason });
    return reason;
  }

  /** A random non-zero Magic-Number different from `avoid` (§6.4). */
  private freshMagic(avoid: number): number {
    for (let i = 0; i < 16; i++) {
      const b = this.random(4);
      const m = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      if (m !== 0 && m !== avoid) return m;
    }
    // A broken random source; still honour "non-zero and different".
    return ((avoid + 1) >>> 0) || 1;
  }
}

