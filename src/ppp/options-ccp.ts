/**
 * CCP option negotiation for MPPE (RFC 1962 §4, RFC 3078 §2): the `CpHandler` that `CcpEngine` gives the
 * automaton.
 *
 * Policy (`policy`):
 *  - "require": we ask for MPPE and insist. CCP only reaches Opened with MPPE agreed in both directions;
 *    a peer that Rejects MPPE, cannot meet our strengths, or lets CCP die, fails the link (RFC 3078 §2:
 *    "If ... MPPE negotiation is attempted and fails, the link SHOULD be terminated").
 *  - "prefer": we ask for MPPE; if the peer Rejects it we carry on unencrypted (CCP opens with nothing).
 *  - "allow": we do not ask, but when the peer asks for MPPE we agree (at a strength we allow) and then ask
 *    for the same ourselves, because MPPE is used symmetrically.
 *  - "deny": we Reject MPPE; a peer that requires it will hang up.
 * Any other compressor (Stac LZS 17, BSD 21, Deflate 24/26, Predictor...) is Rejected, and MPPC (the C bit of
 * option 18) is Nak'd away: we only encrypt, we never compress.
 *
 * Strength (`strengths`: the allowed set): our Configure-Request offers every allowed strength (RFC 3078 §2.1:
 * "the negotiation initiator SHOULD request all of the options it supports"); when answering we Nak with ONE
 * strength (§2.1: "The responder SHOULD NAK with a single encryption option"): the strongest the peer offered
 * that we allow ("the option selected SHOULD be the 'strongest' option offered"), or our strongest if it
 * offered none we allow. The order of the list does not matter: always picking the strongest common one is
 * what lets two peers with different lists converge instead of following each other's choice forever.
 *
 * Stateless mode (`stateless`, the H bit): "require" insists on it, "deny" refuses it, "prefer" asks for it
 * and Naks once to add it, then follows the peer; "allow" follows the peer. RFC 3078 §9 says stateful mode
 * "SHOULD NOT be used in lossy network environments (e.g., layer two tunnels on the Internet)", hence the
 * default "prefer".
 *
 * Symmetry: when we Ack the peer's MPPE option and our own request does not carry the same strength and H
 * bit, our request is re-sent to match (`resendRequest`). Before Opened, `verifyOpen` checks that both
 * directions carry MPPE with a common strength and the same H bit; the result is ONE strength.
 */
import type { CpHandler, ReplyOutcome, RequestVerdict } from "./fsm.js";
import type { MppeOfferSeen, MppeProfile } from "./explain.js";
import {
  type CpOption,
  CCP_OPT_MPPE,
  MPPE_BIT_STATELESS,
  MPPE_BIT_40,
  MPPE_BIT_56,
  MPPE_BIT_128,
  parseCcpOption,
  emitCcpOption,
  describeMppeBits,
} from "../wire/ppp-cp.js";

/** MPPE session key strength in bits (the crypto layer calls the same values MppeBits). */
export type MppeStrength = 40 | 56 | 128;
export type CcpPolicy = "require" | "prefer" | "allow" | "deny";

export interface CcpOptionsConfig {
  readonly policy: CcpPolicy;
  /** Allowed strengths (any order: the strongest common one wins); default all three. */
  readonly strengths?: readonly MppeStrength[];
  /** How we feel about stateless mode (H bit); default "prefer". */
  readonly stateless?: CcpPolicy;
}

/** The MPPE agreement, valid once CCP is Opened; CCP may also open with no MPPE (prefer/allow/deny). */
export interface CcpResult {
  readonly bits: MppeStrength;
  readonly stateless: boolean;
}

const STRENGTH_BIT: Record<MppeStrength, number> = { 40: MPPE_BIT_40, 56: MPPE_BIT_56, 128: MPPE_BIT_128 };
const ALL_STRENGTHS: readonly MppeStrength[] = [128, 56, 40];

export function mppeStrengthBit(s: MppeStrength): number {
  return STRENGTH_BIT[s];
}

/** Supported Bits for some strengths plus the H bit. */
export function mppeBits(strengths: readonly MppeStrength[], stateless: boolean): number {
  let b = stateless ? MPPE_BIT_STATELESS : 0;
  for (const s of strengths) b |= STRENGTH_BIT[s];
  return b >>> 0;
}

function formatStrengths(list: readonly MppeStrength[]): string {
  return list.map((s) => `${s}-bit`).join(", ");
}

interface Want {
  readonly strengths: readonly MppeStrength[];
  readonly stateless: boolean;
}

export class CcpNegotiator implements CpHandler {
  readonly policy: CcpPolicy;
  private readonly allowed: readonly MppeStrength[];
  private readonly statelessPolicy: CcpPolicy;

  /** What our request asks for; undefined = no MPPE option. */
  private want: Want | undefined;
  private peerRefusedMppe = false;
  private statelessNakTried = false;
  /** MPPE bits of the peer's last answered request; undefined when it carried no MPPE option. */
  private peerBits: number | undefined;
  private agreed: CcpResult | undefined;
  /** Every MPPE strength and H-bit form the peer offered (its requests and its Naks of ours), until agreement. */
  private seenBits = 0;
  private seenStateful = false;

  constructor(config: CcpOptionsConfig) {
    this.policy = config.policy;
    const list = config.strengths ?? ALL_STRENGTHS;
    if (list.length === 0 && config.policy !== "deny") {
      throw new RangeError(`CCP configuration: policy "${config.policy}" needs at least one MPPE strength`);
    }
    this.allowed = [...new Set(list)].sort((a, b) => b - a); // strongest first
    this.statelessPolicy = config.stateless ?? "prefer";
    this.resetRequest();
  }

  /** Our side as configured: for explaining a disagreement. */
  get profile(): MppeProfile {
    return { policy: this.policy, strengths: this.allowed, stateless: this.statelessPolicy };
  }

  /**
   * What the peer has shown of its MPPE wishes since the negotiation started (or since the last agreement):
   * the strengths and H-bit forms in its Configure-Requests and in its Naks of ours. Empty when it never offered
   * MPPE — it Rejected ours, or only asked for other compressors, or said nothing.
   */
  get peerOffer(): MppeOfferSeen {
    const b = this.seenBits;
    return {
      strengths: ALL_STRENGTHS.filter((s) => (b & STRENGTH_BIT[s]) !== 0).reverse(),
      stateless: (b & MPPE_BIT_STATELESS) !== 0,
      stateful: this.seenStateful,
    };
  }

  /** The agreement reached by the last successful verifyOpen (undefined = CCP open without MPPE). */
  result(): CcpResult | undefined {
    return this.agreed;
  }

  // ------------------------------------------------------------------------------------------------------
  // CpHandler

  resetRequest(): void {
    this.peerRefusedMppe = false;
    this.statelessNakTried = false;
    this.agreed = undefined;
    this.want =
      this.policy === "require" || this.policy === "prefer"
        ? { strengths: this.allowed, stateless: this.statelessPolicy === "require" || this.statelessPolicy === "prefer" }
        : undefined;
  }

  buildRequest(): CpOption[] {
    if (!this.want) return [];
    return [emitCcpOption({ kind: "mppe", bits: mppeBits(this.want.strengths, this.want.stateless) })];
  }

  processRequest(options: readonly CpOption[]): RequestVerdict {
    this.peerBits = undefined;
    const rejects: CpOption[] = [];
    const naks: CpOption[] = [];
    let resend = false;
    let sawMppe = false;
    for (const o of options) {
      if (o.type === CCP_OPT_MPPE) this.noteOffer(o);
      if (o.type !== CCP_OPT_MPPE || sawMppe || this.policy === "deny" || (this.peerRefusedMppe && this.policy !== "require")) {
        // Other compressors; a second option 18; MPPE we deny; or MPPE after the peer refused it for our
        // direction (keeping both directions alike: none).
        rejects.push(o);
        continue;
      }
      sawMppe = true;
      const parsed = parseCcpOption(o);
      const offered = parsed.ok && parsed.value.kind === "mppe" ? parsed.value.bits : undefined;
      if (offered !== undefined && this.policy === "allow" && !this.offersAnyStrength(offered)) {
        // "allow": the peer asked for MPPC alone (no encryption bit); we neither compress nor push MPPE.
        rejects.push(o);
        continue;
      }
      const target = this.target(offered);
      if (offered === target.bits) {
        this.peerBits = offered;
        if (!this.compatible(target.strength, target.stateless)) {
          this.want = { strengths: [target.strength], stateless: target.stateless };
          resend = true;
        }
      } else {
        naks.push(emitCcpOption({ kind: "mppe", bits: target.bits }));
      }
    }
    if (rejects.length > 0) return { kind: "reject", options: rejects };
    if (!sawMppe && this.want && !this.peerRefusedMppe && (this.policy === "require" || this.policy === "prefer")) {
      // RFC 1661 §5.3: an option we want the peer to use may be appended to a Nak, "to prompt the peer to
      // include that option in its next Configure-Request".
      naks.push(emitCcpOption({ kind: "mppe", bits: mppeBits([this.want.strengths[0]], this.want.stateless) }));
    }
    if (naks.length > 0) return { kind: "nak", options: naks };
    return { kind: "ack", resendRequest: resend };
  }

  nakReceived(options: readonly CpOption[]): ReplyOutcome {
    for (const o of options) {
      if (o.type !== CCP_OPT_MPPE) continue; // we never ask for anything else
      this.noteOffer(o);
      const parsed = parseCcpOption(o);
      if (!parsed.ok || parsed.value.kind !== "mppe") continue;
      if (this.policy === "deny") continue; // the peer wants MPPE from us; we will not
      const suggested = parsed.value.bits;
      const usable = this.offeredStrengths(suggested);
      if (usable.length === 0) {
        if (this.policy === "require") {
          return {
            fail: `peer offered MPPE ${describeMppeBits(suggested)} but we only allow ${formatStrengths(this.allowed)} (MPPE is required)`,
          };
        }
        this.want = undefined;
        continue;
      }
      const h = (suggested & MPPE_BIT_STATELESS) !== 0;
      let stateless: boolean;
      switch (this.statelessPolicy) {
        case "require":
          if (!h) return { fail: "peer refused stateless MPPE, which we require" };
          stateless = true;
          break;
        case "deny":
          stateless = false;
          break;
        default:
          stateless = h;
      }
      this.want = { strengths: [usable[0]], stateless };
    }
    return "applied";
  }

  rejectReceived(options: readonly CpOption[]): ReplyOutcome {
    if (!options.some((o) => o.type === CCP_OPT_MPPE)) return "applied";
    this.peerRefusedMppe = true;
    this.want = undefined;
    if (this.policy === "require") return { fail: "peer refused MPPE but MPPE is required" };
    return "applied";
  }

  verifyOpen(): string | undefined {
    this.agreed = undefined;
    const ours = this.want ? mppeBits(this.want.strengths, this.want.stateless) : undefined;
    const theirs = this.peerBits;
    if (ours === undefined && theirs === undefined) {
      return this.policy === "require" ? "peer refused MPPE but MPPE is required" : undefined;
    }
    if (ours === undefined || theirs === undefined) {
      return `MPPE was negotiated in one direction only (ours: ${ours === undefined ? "none" : describeMppeBits(ours)}, peer's: ${
        theirs === undefined ? "none" : describeMppeBits(theirs)
      })`;
    }
    const strength = this.allowed.find((s) => (ours & theirs & STRENGTH_BIT[s]) !== 0);
    if (strength === undefined) {
      return `no common MPPE strength (ours: ${describeMppeBits(ours)}, peer's: ${describeMppeBits(theirs)})`;
    }
    const hOurs = (ours & MPPE_BIT_STATELESS) !== 0;
    const hTheirs = (theirs & MPPE_BIT_STATELESS) !== 0;
    if (hOurs !== hTheirs) return "stateless mode (H bit) was negotiated in one direction only";
    if (this.statelessPolicy === "require" && !hOurs) return "peer refused stateless MPPE, which we require";
    if (this.statelessPolicy === "deny" && hOurs) return "peer insisted on stateless MPPE, which we deny";
    this.agreed = { bits: strength, stateless: hOurs };
    // Agreement reached: what the peer offered on the way is no longer a disagreement to explain.
    this.seenBits = 0;
    this.seenStateful = false;
    return undefined;
  }

  // ------------------------------------------------------------------------------------------------------

  /** Remember the strengths and H-bit form of an MPPE option from the peer (request or Nak). */
  private noteOffer(o: CpOption): void {
    const parsed = parseCcpOption(o);
    if (!parsed.ok || parsed.value.kind !== "mppe") return;
    const bits = parsed.value.bits;
    const strengths = bits & (MPPE_BIT_40 | MPPE_BIT_56 | MPPE_BIT_128);
    if (strengths === 0) return; // MPPC alone (C bit): no encryption offered
    this.seenBits = (this.seenBits | strengths | (bits & MPPE_BIT_STATELESS)) >>> 0;
    if ((bits & MPPE_BIT_STATELESS) === 0) this.seenStateful = true;
  }

  /** Allowed strengths present in `bits`, strongest first. */
  private offeredStrengths(bits: number): MppeStrength[] {
    return this.allowed.filter((s) => (bits & STRENGTH_BIT[s]) !== 0);
  }

  private offersAnyStrength(bits: number): boolean {
    return (bits & (MPPE_BIT_40 | MPPE_BIT_56 | MPPE_BIT_128)) !== 0;
  }

  /** The single option we would Ack for the peer's direction, given what it offered. */
  private target(offered: number | undefined): { bits: number; strength: MppeStrength; stateless: boolean } {
    const bits = offered ?? 0;
    const strength = this.offeredStrengths(bits)[0] ?? (this.want?.strengths ?? this.allowed)[0];
    const h = (bits & MPPE_BIT_STATELESS) !== 0;
    let stateless: boolean;
    switch (this.statelessPolicy) {
      case "require":
        stateless = true;
        break;
      case "deny":
        stateless = false;
        break;
      case "prefer":
        // Ask once for stateless mode; if the peer still offers it without H, follow the peer.
        if (h || !this.statelessNakTried) {
          if (!h) this.statelessNakTried = true;
          stateless = true;
        } else {
          stateless = false;
        }
        break;
      case "allow":
        stateless = h;
        break;
    }
    return { bits: mppeBits([strength], stateless), strength, stateless };
  }

  /** Does our own request already carry this strength and H bit? */
  private compatible(strength: MppeStrength, stateless: boolean): boolean {
    return this.want !== undefined && this.want.strengths.includes(strength) && this.want.stateless === stateless;
  }
}
