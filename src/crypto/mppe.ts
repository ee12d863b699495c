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
 *
 * That rule has a blind spot: a stateful receiver that lost sync rekeys once for the flushed packet it finally
 * sees, but if earlier flushed packets were lost too (each answering one of its repeated Reset-Requests) the
 * sender has changed keys once per flushed packet it sent, and the receiver ends up behind. MPPE has no integrity
 * check, so from then on everything decrypts to garbage, silently. With the optional `validate` callback
 * (MppeOptions) the receiver can tell plaintext from garbage and recovers (receiver side only; nothing on the wire
 * changes, and the pppd rule stays the first guess):
 * - resync (discard state, flushed or flag packet): the pppd rule first; if validate rejects that plaintext, 1, 2,
 *   ... up to `maxResyncKeyChanges` further key changes, each candidate decrypting the whole packet (resync is
 *   rare, and validate always sees the complete plaintext); the first candidate validate accepts is committed. If
 *   none is, the key state is put back as it was before the attempt, the receiver keeps discarding and returns
 *   MPPE_DROP (the link keeps repeating its Reset-Request). More than `maxResyncKeyChanges` flushed packets lost
 *   in a row cannot be recovered from (each further Reset-Request adds a key change); only renegotiating CCP helps.
 * - stateful, in sync: a packet validate rejects means sync was lost after all (or the packet was corrupted):
 *   MPPE_NEED_RESET, as for a count gap, and the packet is treated as missed. If it was a flushed or flag packet,
 *   the key change made for it is undone first, since a corrupted header may have caused it; should the sender
 *   really have changed keys there, the resync finds that as one further key change.
 * - stateless: a rejected packet is MPPE_DROP; everything else is unchanged (the count alone says which key).
 */
import { type MppeBits, checkMasterKey, mppeKeyLength } from "./mppe-keys.js";
import { MppeSessionKey } from "./mppe-session-key.js";
import { type MppeNativeBinding, NATIVE_STATE_COUNT, NATIVE_STATE_NEXT_OK, NATIVE_STATE_SESSION, mppeNative } from "./mppe-native.js";

export type { MppeBits } from "./mppe-keys.js";

export interface MppeOptions {
  /** The direction's 16-byte start key (MppeMasterKeys.send for a sender, .recv for a receiver). 40/56-bit use its first 8. */
  masterKey: Uint8Array;
  bits: MppeBits;
  /** Stateless mode (RFC 3078 §7.1, CCP option bit H): key change before every packet. */
  stateless: boolean;
  /**
   * Receiver only, optional: plaintext check. Called with the decrypted protocol field + payload
   * (plain[off, off+len), always the whole packet); returns false if that cannot be a packet the peer sent, i.e.
   * the key was wrong. It must accept every protocol that is legitimately carried (a false "no" costs a reset in
   * stateful mode), must not throw, and should be cheap: it runs once per packet, and up to
   * 1 + maxResyncKeyChanges times per resync attempt. See the file comment for what the receiver does with it.
   */
  validate?: (plain: Uint8Array, off: number, len: number) => boolean;
  /**
   * Receiver, stateful, with `validate` only: how many key changes beyond the pppd rule a resync tries (default
   * DEFAULT_MAX_RESYNC_KEY_CHANGES, 0..MAX_RESYNC_KEY_CHANGES). Each one costs a key change and a packet's RC4.
   */
  maxResyncKeyChanges?: number;
  /**
   * Stateless mode only: run RC4 and the key changes in C (mppe-native.ts). Undefined: whatever
   * installMppeNative() installed (the I/O layer does when it loads the addon); null: TypeScript, whatever is
   * installed (the tests' oracle, the bench's baseline). Stateful mode always runs TypeScript.
   */
  native?: MppeNativeBinding | null;
}

export const MPPE_BIT_FLUSHED = 0x80;
export const MPPE_BIT_B = 0x40;
export const MPPE_BIT_COMPRESSED = 0x20;
export const MPPE_BIT_ENCRYPTED = 0x10;
/** Bytes the MPPE header adds in front of the encrypted protocol field. */
export const MPPE_HEADER_LEN = 2;

/** Stateful: lost sync; the caller must send a CCP Reset-Request and drop packets until a flushed one arrives. */
export const MPPE_NEED_RESET = -1;
/**
 * Malformed, not encrypted, compressed, stale (duplicate / older than the last accepted), or (stateless, or a
 * failed resync) rejected by MppeOptions.validate: drop silently and count it.
 */
export const MPPE_DROP = -2;

/** Default MppeOptions.maxResyncKeyChanges: this many flushed packets lost in a row are recovered from. */
export const DEFAULT_MAX_RESYNC_KEY_CHANGES = 8;
/** Upper bound for MppeOptions.maxResyncKeyChanges, which bounds the work a forged flushed packet can cause. */
export const MAX_RESYNC_KEY_CHANGES = 256;

const COUNT_MASK = 0xfff;
/** Forward distances above half the 12-bit count space are read as "behind" (the standard serial-number rule). */
const HALF_COUNT_SPACE = 2048;
/**
 * The count "before" the first packet, so that the first packet sent carries 0 and the receiver expects 0; RFC
 * 3078 does not say where counting starts and 0 is what Windows and pppd send.
 */
const INITIAL_COUNT = COUNT_MASK;

/**
 * One direction's key state in stateless mode (RFC 3078 §7.1: a key change before every packet, so the current
 * session key and the coherency count are all of it; the RC4 tables are re-initialised before each use). A
 * data-plane worker (src/io/workers) takes it over at hand-off and gives it back at take-back, so neither side ever
 * reuses a count (and so a keystream) the other one used.
 */
export interface MppeState {
  readonly count: number;
  /** The current session key (8 or 16 octets), a copy. */
  readonly session: Uint8Array;
}

/** The native binding a direction with these options runs on, or undefined for TypeScript (see MppeOptions.native). */
function nativeFor(opts: MppeOptions): MppeNativeBinding | undefined {
  if (!opts.stateless || opts.native === null) return undefined;
  return opts.native ?? mppeNative();
}

/** A native key state for these options (checks the key as the TypeScript key does). */
function nativeState(nat: MppeNativeBinding, opts: MppeOptions): Uint8Array {
  const st = new Uint8Array(nat.stateLength);
  checkMasterKey(opts.masterKey, mppeKeyLength(opts.bits));
  nat.init(st, opts.masterKey, opts.bits);
  return st;
}

/**
 * `st`, or a copy of it grown to `stateAheadLength`: the state then holds its own slot for the next packet's key
 * schedule worked out ahead (native/mppe.c "key work ahead"), which a shared per-thread table only gives while few
 * directions are busy at once. Made at a direction's first packet, so an idle session keeps the 56-byte state.
 */
function withAheadSlot(nat: MppeNativeBinding, st: Uint8Array): Uint8Array {
  const want = nat.stateAheadLength;
  // Not `st.length >= want`: an addon built before the own slot has no stateAheadLength, and keeps the bare state.
  if (!(want > st.length)) return st;
  const grown = new Uint8Array(want);
  grown.set(st);
  return grown;
}

function nativeCount(st: Uint8Array): number {
  return (st[NATIVE_STATE_COUNT] | (st[NATIVE_STATE_COUNT + 1] << 8)) & COUNT_MASK;
}

function saveNativeState(st: Uint8Array): MppeState {
  const keyLen = st[NATIVE_STATE_SESSION + 16];
  return { count: nativeCount(st), session: st.slice(NATIVE_STATE_SESSION, NATIVE_STATE_SESSION + keyLen) };
}

function restoreNativeState(st: Uint8Array, s: MppeState): void {
  const keyLen = st[NATIVE_STATE_SESSION + 16];
  if (s.session.length !== keyLen) throw new RangeError(`MPPE state: a ${s.session.length}-octet key for a ${keyLen}-octet one`);
  st.set(s.session, NATIVE_STATE_SESSION);
  const c = s.count & COUNT_MASK;
  st[NATIVE_STATE_COUNT] = c & 0xff;
  st[NATIVE_STATE_COUNT + 1] = c >>> 8;
  // The key worked out ahead belonged to the old session key.
  st[NATIVE_STATE_NEXT_OK] = 0;
}

function statelessOnly(stateless: boolean): void {
  // Stateful mode keeps the RC4 stream position across packets: a count and a key do not capture it.
  if (!stateless) throw new RangeError("MPPE key state moves between threads in stateless mode only");
}

/** A stateless direction's state (sender or receiver alike): its coherency count and a copy of its session key. */
function saveKeyState(stateless: boolean, key: MppeSessionKey, count: number): MppeState {
  statelessOnly(stateless);
  const session = new Uint8Array(key.keyLen);
  key.saveSession(session);
  return { count, session };
}

/** Loads a saveKeyState() result into `key` and returns the count to continue from. */
function restoreKeyState(stateless: boolean, key: MppeSessionKey, s: MppeState): number {
  statelessOnly(stateless);
  if (s.session.length !== key.keyLen) throw new RangeError(`MPPE state: a ${s.session.length}-octet key for a ${key.keyLen}-octet one`);
  key.restoreSession(s.session);
  return s.count & COUNT_MASK;
}

export class MppeSender {
  /** TypeScript key state; undefined when the direction runs in C (`nstate`). */
  private readonly key: MppeSessionKey | undefined;
  private readonly native: MppeNativeBinding | undefined;
  /** Native key state (mppe-native.ts), owned here: count and session key live in it. */
  private nstate: Uint8Array | undefined;
  private readonly stateless: boolean;
  private count = INITIAL_COUNT;
  private flushPending = false;

  constructor(opts: MppeOptions) {
    this.stateless = opts.stateless;
    this.native = nativeFor(opts);
    if (this.native !== undefined) this.nstate = nativeState(this.native, opts);
    else this.key = new MppeSessionKey(opts.masterKey, opts.bits);
  }

  /** True when this direction runs RC4 and its key changes in C. */
  get isNative(): boolean {
    return this.native !== undefined;
  }

  /** Coherency count of the last packet sent (4095 before the first). */
  get coherencyCount(): number {
    return this.nstate !== undefined ? nativeCount(this.nstate) : this.count;
  }

  /**
   * The next packet's coherency count, with a key change first where RFC 3078 §7 wants one (every packet when
   * stateless; in stateful mode when the count's low octet is 0xff, and after a Reset-Request): returns the 16-bit
   * MPPE header (flags, then the 12-bit count) for the caller to write once the ciphertext is in place.
   */
  private nextHeader(): number {
    const count = (this.count + 1) & COUNT_MASK;
    this.count = count;
    let flags = MPPE_BIT_ENCRYPTED;
    if (this.stateless || (count & 0xff) === 0xff || this.flushPending) {
      this.key!.changeKey(true);
      this.flushPending = false;
      flags |= MPPE_BIT_FLUSHED;
    }
    return ((flags | (count >>> 8)) << 8) | (count & 0xff);
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
    if (this.native !== undefined) return this.native.encrypt((this.nstate = withAheadSlot(this.native, this.nstate!)), -1, src, srcOff, len, dst, dstOff);
    const header = this.nextHeader();

    const out = dstOff + MPPE_HEADER_LEN;
    if (src === dst && out > srcOff && out < srcOff + len) {
      // Writing ahead of the unread plaintext would clobber it: move it into place first, then encrypt in place.
      dst.copyWithin(out, srcOff, srcOff + len);
      this.key!.rc4.process(dst, out, dst, out, len);
    } else {
      this.key!.rc4.process(src, srcOff, dst, out, len);
    }
    // Header last: in the in-place arrangements it may sit where plaintext was.
    dst[dstOff] = header >>> 8;
    dst[dstOff + 1] = header & 0xff;
    return len + MPPE_HEADER_LEN;
  }

  /**
   * The same as encrypt() of the 2-byte PPP protocol field `protocol` followed by src[srcOff, srcOff+len), without
   * staging the two in one buffer first: RC4 is a stream, so the field and the payload are enciphered one after
   * the other straight into dst (issue 11: that staging copy was a whole extra pass over every datagram sent).
   * Writes the MPPE header, the encrypted protocol field, then the payload at dstOff + 4; returns len + 4.
   * `dst` must not overlap `src` (the datagram comes from the TUN batch, the frame goes to the send buffer).
   */
  encryptProtocol(protocol: number, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number {
    if (len < 0 || srcOff < 0 || srcOff + len > src.length || dstOff < 0 || dstOff + len + MPPE_HEADER_LEN + 2 > dst.length) {
      throw new RangeError(`MPPE encrypt: ${len} bytes at ${srcOff} of ${src.length} into ${dst.length}-byte buffer at ${dstOff} do not fit`);
    }
    if (this.native !== undefined) return this.native.encrypt((this.nstate = withAheadSlot(this.native, this.nstate!)), protocol & 0xffff, src, srcOff, len, dst, dstOff);
    const header = this.nextHeader();
    const out = dstOff + MPPE_HEADER_LEN;
    dst[out] = protocol >>> 8;
    dst[out + 1] = protocol & 0xff;
    const rc4 = this.key!.rc4;
    rc4.process(dst, out, dst, out, 2);
    rc4.process(src, srcOff, dst, out + 2, len);
    dst[dstOff] = header >>> 8;
    dst[dstOff + 1] = header & 0xff;
    return len + 2 + MPPE_HEADER_LEN;
  }

  /**
   * The peer sent a CCP Reset-Request (RFC 3078 §8.2): the next packet goes out after a key change with the FLUSHED
   * bit set. Harmless in stateless mode, where every packet is sent that way anyway.
   */
  resetRequest(): void {
    this.flushPending = true;
  }

  /** Stateless only: the count and session key now (see MppeState). */
  saveState(): MppeState {
    if (this.nstate !== undefined) return saveNativeState(this.nstate);
    return saveKeyState(this.stateless, this.key!, this.count);
  }

  /** Stateless only: continue from a state saveState() gave (another sender of the same direction and keys). */
  restoreState(s: MppeState): void {
    if (this.nstate !== undefined) restoreNativeState(this.nstate, s);
    else this.count = restoreKeyState(this.stateless, this.key!, s);
  }
}

export class MppeReceiver {
  /** TypeScript key state; undefined when the direction runs in C (`nstate`). */
  private readonly key: MppeSessionKey | undefined;
  private readonly native: MppeNativeBinding | undefined;
  private nstate: Uint8Array | undefined;
  private readonly stateless: boolean;
  private count = INITIAL_COUNT;
  /** Stateful only: a loss was seen and packets are dropped until one with the FLUSHED bit arrives (RFC 3078 §8.2). */
  private discarding = false;
  private readonly validate: ((plain: Uint8Array, off: number, len: number) => boolean) | undefined;
  private readonly maxResync: number;
  /** Session key before a speculative key change (validate only); allocated once here, never per packet. */
  private readonly savedSession = new Uint8Array(16);
  /** Resync with validate and dst === src: the ciphertext, kept for the next candidate. Grown on demand. */
  private cipherCopy: Uint8Array | undefined;

  constructor(opts: MppeOptions) {
    this.stateless = opts.stateless;
    this.native = nativeFor(opts);
    if (this.native !== undefined) this.nstate = nativeState(this.native, opts);
    else this.key = new MppeSessionKey(opts.masterKey, opts.bits);
    this.validate = opts.validate;
    const max = opts.maxResyncKeyChanges ?? DEFAULT_MAX_RESYNC_KEY_CHANGES;
    if (!Number.isInteger(max) || max < 0 || max > MAX_RESYNC_KEY_CHANGES) {
      throw new RangeError(`MPPE maxResyncKeyChanges must be an integer 0..${MAX_RESYNC_KEY_CHANGES}, got ${max}`);
    }
    this.maxResync = max;
  }

  /** True when this direction runs RC4 and its key changes in C. */
  get isNative(): boolean {
    return this.native !== undefined;
  }

  /** Coherency count of the last packet accepted (4095 before the first); while awaiting a flush, the first one missed. */
  get coherencyCount(): number {
    return this.nstate !== undefined ? nativeCount(this.nstate) : this.count;
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

  /** Stateless only: the count and session key now (see MppeState). */
  saveState(): MppeState {
    if (this.nstate !== undefined) return saveNativeState(this.nstate);
    return saveKeyState(this.stateless, this.key!, this.count);
  }

  /** Stateless only: continue from a state saveState() gave (another receiver of the same direction and keys). */
  restoreState(s: MppeState): void {
    if (this.nstate !== undefined) restoreNativeState(this.nstate, s);
    else this.count = restoreKeyState(this.stateless, this.key!, s);
  }

  /**
   * Decrypts an MPPE datagram (src[srcOff] is the first header byte, `len` includes the 2 header bytes) into
   * dst[dstOff..]: the PPP protocol field plus payload. Returns that plaintext length (len - 2), or MPPE_NEED_RESET /
   * MPPE_DROP. `dst` may be `src` (same array object) in any arrangement, e.g. dstOff = srcOff + 2 to decrypt in
   * place or dstOff = srcOff to shift the plaintext over the header. After a negative result the bytes of dst (and
   * so, in those arrangements, of the datagram) are unspecified.
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
    if (this.native !== undefined) {
      // Stateless in C: the same checks, catch-up key changes (RFC 3078 §8.1) and decryption as below.
      const n = this.native.decrypt((this.nstate = withAheadSlot(this.native, this.nstate!)), src, srcOff, len, dst, dstOff);
      if (n < 0) return MPPE_DROP;
      return validate0(this.validate, dst, dstOff, n);
    }
    const key = this.key!;
    const flushed = (b0 & MPPE_BIT_FLUSHED) !== 0;
    const validate = this.validate;
    /** Stateful, validate given: a key change was made for this packet that a rejection must undo. */
    let undoable = false;

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
      for (let k = 1; k < gap; k++) key.changeKey(false);
      key.changeKey(true);
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
        if (rekey && validate !== undefined) {
          key.saveSession(this.savedSession);
          undoable = true;
        }
      } else {
        if (!rekey) return MPPE_DROP;
        // A flushed packet from before the loss point (delayed, not a response to our Reset-Request): ignore it.
        if (((count - this.count) & COUNT_MASK) > HALF_COUNT_SPACE) return MPPE_DROP;
        if (validate !== undefined) return this.resync(validate, src, srcOff + MPPE_HEADER_LEN, dataLen, dst, dstOff, count);
        // The sender changed keys at every flag packet we missed (RFC 3078 §8.2 "256 or more consecutive packets
        // could be lost"): one change per 256-block boundary crossed between the first missed count and this one.
        while ((count & 0xf00) !== (this.count & 0xf00)) {
          key.changeKey(false);
          this.count = (this.count + 256) & COUNT_MASK;
        }
        this.count = count;
        this.discarding = false;
      }
      if (rekey) key.changeKey(true);
    }

    const from = srcOff + MPPE_HEADER_LEN;
    if (src === dst && dstOff > from && dstOff < from + dataLen) {
      dst.copyWithin(dstOff, from, from + dataLen);
      key.rc4.process(dst, dstOff, dst, dstOff, dataLen);
    } else {
      key.rc4.process(src, from, dst, dstOff, dataLen);
    }
    if (validate !== undefined && !validate(dst, dstOff, dataLen)) {
      // Stateless: the count alone determines the key, so a bad packet is just dropped.
      if (this.stateless) return MPPE_DROP;
      // Stateful: garbage under the key we believed in means sync was lost (see the file comment). The packet is
      // treated as the first one missed; a key change made for it may have been caused by a corrupted header, so it
      // is undone (the sender's, if real, is then found as one further change by the resync).
      if (undoable) key.restoreSession(this.savedSession);
      this.discarding = true;
      return MPPE_NEED_RESET;
    }
    return dataLen;
  }

  /**
   * Stateful resync with a validator: the discard state met a flushed or flag packet (count `count`, not stale).
   * Tries the pppd rule, then up to maxResync further key changes; commits the first candidate validate accepts.
   * Each candidate decrypts the whole packet into dst, from a copy of the ciphertext if dst is src. Runs only on
   * resync, so the copy buffer may be allocated here.
   */
  private resync(
    validate: (plain: Uint8Array, off: number, len: number) => boolean,
    src: Uint8Array,
    from: number,
    dataLen: number,
    dst: Uint8Array,
    dstOff: number,
    count: number,
  ): number {
    const key = this.key!;
    key.saveSession(this.savedSession);
    let cipher = src;
    let cipherOff = from;
    if (src === dst) {
      if (this.cipherCopy === undefined || this.cipherCopy.length < dataLen) this.cipherCopy = new Uint8Array(dataLen);
      cipher = this.cipherCopy;
      cipherOff = 0;
      for (let i = 0; i < dataLen; i++) cipher[i] = src[from + i];
    }
    // The pppd rule (as in decrypt): one change per flag packet missed, then one for this packet.
    let c = this.count;
    while ((count & 0xf00) !== (c & 0xf00)) {
      key.changeKey(false);
      c = (c + 256) & COUNT_MASK;
    }
    // Keys only chain forward (RFC 3078 §7.3), so candidate k is simply one more key change than candidate k - 1.
    for (let extra = 0; extra <= this.maxResync; extra++) {
      key.changeKey(true);
      key.rc4.process(cipher, cipherOff, dst, dstOff, dataLen);
      if (validate(dst, dstOff, dataLen)) {
        this.count = count;
        this.discarding = false;
        return dataLen;
      }
    }
    // Nothing plausible: not a packet of this sender's (corrupted, forged) or too many flushed packets lost. Keep
    // the state from before the attempt and keep waiting; the caller keeps repeating its Reset-Request.
    key.restoreSession(this.savedSession);
    return MPPE_DROP;
  }
}

/** Stateless validate step: a plaintext validate rejects is a drop (the count alone says which key). */
function validate0(validate: MppeOptions["validate"], dst: Uint8Array, off: number, n: number): number {
  return validate === undefined || validate(dst, off, n) ? n : MPPE_DROP;
}
