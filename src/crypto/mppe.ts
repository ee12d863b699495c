/**
 * MPPE packet engine (RFC 3078): turns the PPP protocol field + payload into the 2-byte MPPE header followed by
 * RC4 ciphertext, and back. One MppeSender and one MppeReceiver per link, each with its own start key
 * (mppe-keys.ts). Pure computation over caller-supplied buffers: no I/O, no clock, no allocation per packet.
 *
 * Header (RFC 3078 §3.1), first two bytes of the MPPE datagram:
 *   A (0x80) FLUSHED: the RC4 tables were re-initialised before this packet
 *   B (0x40), C (0x20): MPPC bits; C ("compressed") is never valid for us since we do not negotiate MPPC
 *   D (0x10) ENCRYPTED
 *   low 12 bits: coherency count, +1 per packet, modulo 4096
 *
 * Key changes (RFC 3078 §7):
 * - stateless (the CCP "H" bit): before every packet; every packet has A set.
 * - stateful: before each "flag" packet, whose count's low byte is 0xFF (§7.2), and before the first packet after
 *   a CCP Reset-Request (§8.2); both are sent with A set.
 *
 * What a reset does in stateful mode is where implementations part from the text: RFC 3078 §8.2 says the sender
 * only re-initialises the RC4 tables with the *current* key, but pppd's Linux kernel code (ppp_mppe.c) performs a
 * full key change before the flushed packet and its receiver performs one on every packet with A set. We follow
 * pppd, our interoperability target, on both sides; the receiver also treats a flag packet as flushed even if a
 * peer left its A bit clear, which under that rule means the same key change.
 */
import { type MppeBits } from "./mppe-keys.js";
import { MppeSessionKey } from "./mppe-session-key.js";

export type { MppeBits } from "./mppe-keys.js";

export interface MppeOptions {
  /** The direction's 16-byte start key (MppeMasterKeys.send for a sender, .recv for a receiver). 40/56-bit use its first 8. */
  masterKey: Uint8Array;
  bits: MppeBits;
  /** Stateless mode (RFC 3078 §7.1, CCP option bit H): key change before every packet. */
  stateless: boolean;
}

export const MPPE_BIT_FLUSHED = 0x80;
export const MPPE_BIT_B = 0x40;
export const MPPE_BIT_COMPRESSED = 0x20;
export const MPPE_BIT_ENCRYPTED = 0x10;
/** Bytes the MPPE header adds in front of the encrypted protocol field. */
export const MPPE_HEADER_LEN = 2;

/** Stateful: lost sync; the caller must send a CCP Reset-Request and drop packets until a flushed one arrives. */
export const MPPE_NEED_RESET = -1;
/** Malformed, not encrypted, compressed, or stale (duplicate / older than the last accepted): drop silently and count it. */
export const MPPE_DROP = -2;

const COUNT_MASK = 0xfff;
/** Forward distances above half the 12-bit count space are read as "behind" (the standard serial-number rule). */
const HALF_COUNT_SPACE = 2048;
/**
 * The count "before" the first packet, so that the first packet sent carries 0 and the receiver expects 0; RFC
 * 3078 does not say where counting starts and 0 is what Windows and pppd send.
 */
const INITIAL_COUNT = COUNT_MASK;

export class MppeSender {
  private readonly key: MppeSessionKey;
  private readonly stateless: boolean;
  private count = INITIAL_COUNT;
  private flushPending = false;

  constructor(opts: MppeOptions) {
    this.key = new MppeSessionKey(opts.masterKey, opts.bits);
    this.stateless = opts.stateless;
  }

  /** Coherency count of the last packet sent (4095 before the first). */
  get coherencyCount(): number {
    return this.count;
  }

  /**
   * Encrypts src[srcOff, srcOff+len) — the PPP protocol field plus payload — into dst at dstOff as the 2-byte MPPE
   * header followed by ciphertext. Returns bytes written (len + 2). No allocation.
   *
   * `dst` may be `src` (the same array object), in any arrangement: the usual one is the plaintext at offset k and
   * dstOff = k - 2, so the header lands in front and the data is encrypted in place. Two *different* views over
   * overlapping memory are not supported.
   */
  encrypt(src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number {
    if (len < 1 || srcOff < 0 || srcOff + len > src.length || dstOff < 0 || dstOff + len + MPPE_HEADER_LEN > dst.length) {
      throw new RangeError(
        `MPPE encrypt: ${len} bytes at ${srcOff} of ${src.length} into ${dst.length}-byte buffer at ${dstOff} do not fit`,
      );
    }
    const count = (this.count + 1) & COUNT_MASK;
    this.count = count;
    let flags = MPPE_BIT_ENCRYPTED;
    if (this.stateless || (count & 0xff) === 0xff || this.flushPending) {
      this.key.changeKey(true);
      this.flushPending = false;
      flags |= MPPE_BIT_FLUSHED;
    }

    const out = dstOff + MPPE_HEADER_LEN;
    if (src === dst && out > srcOff && out < srcOff + len) {
      // Writing ahead of the unread plaintext would clobber it: move it into place first, then encrypt in place.
      dst.copyWithin(out, srcOff, srcOff + len);
      this.key.rc4.process(dst, out, dst, out, len);
    } else {
      this.key.rc4.process(src, srcOff, dst, out, len);
    }
    // Header last: in the in-place arrangements it may sit where plaintext was.
    dst[dstOff] = flags | (count >>> 8);
    dst[dstOff + 1] = count & 0xff;
    return len + MPPE_HEADER_LEN;
  }

  /**
   * The peer sent a CCP Reset-Request (RFC 3078 §8.2): the next packet goes out after a key change with the FLUSHED
   * bit set. Harmless in stateless mode, where every packet is sent that way anyway.
   */
  resetRequest(): void {
    this.flushPending = true;
  }
}

export class MppeReceiver {
  private readonly key: MppeSessionKey;
  private readonly stateless: boolean;
  private count = INITIAL_COUNT;
  /** Stateful only: a loss was seen and packets are dropped until one with the FLUSHED bit arrives (RFC 3078 §8.2). */
  private discarding = false;

  constructor(opts: MppeOptions) {
    this.key = new MppeSessionKey(opts.masterKey, opts.bits);
    this.stateless = opts.stateless;
  }

  /** Coherency count of the last packet accepted (4095 before the first); while awaiting a flush, the first one missed. */
  get coherencyCount(): number {
    return this.count;
  }

  /**
   * Stateful only: true after MPPE_NEED_RESET until a flushed packet resynchronises. While true, decrypt returns
   * MPPE_DROP for each non-flushed packet (not MPPE_NEED_RESET again, so the caller does not send a Reset-Request
   * per packet); re-sending the Reset-Request on a timer until a CCP Reset-Ack arrives is the CCP layer's job
   * (RFC 1962 §2.9).
   */
  get awaitingFlush(): boolean {
    return this.discarding;
  }

  /**
   * Decrypts an MPPE datagram (src[srcOff] is the first header byte, `len` includes the 2 header bytes) into
   * dst[dstOff..]: the PPP protocol field plus payload. Returns that plaintext length (len - 2), or MPPE_NEED_RESET /
   * MPPE_DROP. `dst` may be `src` (same array object) in any arrangement, e.g. dstOff = srcOff + 2 to decrypt in
   * place or dstOff = srcOff to shift the plaintext over the header.
   */
  decrypt(src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number {
    // A header plus at least one byte of (possibly compressed, RFC 1661 §6.5) protocol field.
    if (len < MPPE_HEADER_LEN + 1 || srcOff < 0 || srcOff + len > src.length) return MPPE_DROP;
    const dataLen = len - MPPE_HEADER_LEN;
    if (dstOff < 0 || dstOff + dataLen > dst.length) {
      throw new RangeError(`MPPE decrypt: ${dataLen} plaintext bytes do not fit ${dst.length}-byte buffer at ${dstOff}`);
    }
    const b0 = src[srcOff];
    const count = ((b0 & 0x0f) << 8) | src[srcOff + 1];
    // RFC 3078 §3.1: D clear means "not encrypted", which we never accept once MPPE is negotiated (§9: an attacker
    // could otherwise strip encryption); C set means MPPC-compressed, which we never negotiate.
    if ((b0 & MPPE_BIT_ENCRYPTED) === 0 || (b0 & MPPE_BIT_COMPRESSED) !== 0) return MPPE_DROP;
    const flushed = (b0 & MPPE_BIT_FLUSHED) !== 0;

    if (this.stateless) {
      // RFC 3078 §3.1: in stateless mode A "MUST be set on every encrypted packet".
      if (!flushed) return MPPE_DROP;
      const gap = (count - this.count) & COUNT_MASK;
      // RFC 3078 §8.1: perform gap key changes to catch up with a sender whose intervening packets were lost.
      // A packet that is not ahead (gap 0: duplicate; gap > half the space: an older packet arriving late) is
      // dropped: each key is derived from the previous one (RFC 3078 §7.3), so an older key is gone once we moved
      // past it, and keeping old keys around would make every captured packet replayable. RFC 3078 §3 expects
      // in-order delivery; the GRE layer beneath restores order within its window. A forged count costs at most
      // 2048 key changes (a few milliseconds) — MPPE has no integrity check, so such a packet can always desync us.
      if (gap === 0 || gap > HALF_COUNT_SPACE) return MPPE_DROP;
      for (let k = 1; k < gap; k++) this.key.changeKey(false);
      this.key.changeKey(true);
      this.count = count;
    } else {
      // A flag packet implies a key change whether or not the peer set A (see the file comment).
      const rekey = flushed || (count & 0xff) === 0xff;
      if (!this.discarding) {
        const step = (count - this.count) & COUNT_MASK;
        if (step !== 1) {
          // Duplicate or late packet: we have not consumed any keystream for it, so simply ignore it.
          if (step === 0 || step > HALF_COUNT_SPACE) return MPPE_DROP;
          // RFC 3078 §8.2: packets were lost, so our RC4 stream position is unknown; drop and ask for a reset.
          this.discarding = true;
          this.count = (this.count + 1) & COUNT_MASK;
          return MPPE_NEED_RESET;
        }
        this.count = count;
      } else {
        if (!rekey) return MPPE_DROP;
        // A flushed packet from before the loss point (delayed, not a response to our Reset-Request): ignore it.
        if (((count - this.count) & COUNT_MASK) > HALF_COUNT_SPACE) return MPPE_DROP;
        // The sender changed keys at every flag packet we missed (RFC 3078 §8.2 "256 or more consecutive packets
        // could be lost"): one change per 256-block boundary crossed between the first missed count and this one.
        while ((count & 0xf00) !== (this.count & 0xf00)) {
          this.key.changeKey(false);
          this.count = (this.count + 256) & COUNT_MASK;
        }
        this.count = count;
        this.discarding = false;
      }
      if (rekey) this.key.changeKey(true);
    }

    const from = srcOff + MPPE_HEADER_LEN;
    if (src === dst && dstOff > from && dstOff < from + dataLen) {
      dst.copyWithin(dstOff, from, from + dataLen);
      this.key.rc4.process(dst, dstOff, dst, dstOff, dataLen);
    } else {
      this.key.rc4.process(src, from, dst, dstOff, dataLen);
    }
    return dataLen;
  }
}
