/**
 * The per-direction MPPE key state: the start key, the current session key and the RC4 tables keyed with it.
 * `changeKey()` is RFC 3078 §7.3 and runs before every packet in stateless mode, so it allocates nothing: the
 * SHA-1 input Start || SHApad1 || Session || SHApad2 is kept preformatted (with its SHA-1 padding) in one 128-byte
 * buffer. The current session key lives inside that buffer, at its place in the SHA-1 input, so a key is one
 * 128-byte allocation; the SHA-1 state, schedule and digest are scratch used synchronously inside one call, shared
 * by every key of the process (issue 11: an idle session held six typed arrays per direction here).
 */
import { type MppeBits, checkMasterKey, mppeKeyLength } from "./mppe-keys.js";
import { Rc4 } from "./rc4.js";
import { sha1Compress, sha1Digest, sha1Init, sha1Pad } from "./sha1.js";

/** SHA-1 state, message schedule and digest: filled and read within one synchronous call, so one per process. */
const H = new Int32Array(5);
const W = new Int32Array(80);
const DIGEST = new Uint8Array(20);

export class MppeSessionKey {
  readonly bits: MppeBits;
  readonly keyLen: 8 | 16;
  /** The current session key (RFC 3078 §7.3 SessionKey), a view into `msg`; its RC4 tables are in `rc4`. */
  readonly session: Uint8Array;
  /** RC4 tables of the current session key, positioned wherever the data stream has got to. */
  readonly rc4 = new Rc4();

  /** Start | 40 x 00 | Session | 40 x F2 | SHA-1 padding: the input of GetNewKeyFromSHA (RFC 3079 §3.3). */
  private readonly msg = new Uint8Array(128);

  /** `masterKey` is the direction's 16-byte start key; 40/56-bit keys use its first 8 bytes (RFC 3079 §3.1). */
  constructor(masterKey: Uint8Array, bits: MppeBits) {
    const keyLen = mppeKeyLength(bits);
    checkMasterKey(masterKey, keyLen);
    this.bits = bits;
    this.keyLen = keyLen;

    // Layout: Start(keyLen) | 40 x 00 | Session(keyLen) | 40 x F2 | SHA-1 padding; 96 or 112 bytes -> 2 blocks.
    const msg = this.msg;
    const start = masterKey.subarray(0, keyLen);
    msg.set(start, 0);
    const sessionOff = keyLen + 40;
    this.session = msg.subarray(sessionOff, sessionOff + keyLen);
    msg.fill(0xf2, sessionOff + keyLen, sessionOff + keyLen + 40);
    sha1Pad(msg, 2 * keyLen + 80);

    // Initial session key (RFC 3079 §3.1-3.3): GetNewKeyFromSHA(Start, Start), reduced, no RC4 step.
    this.session.set(start);
    this.hashStartAndSession();
    for (let i = 0; i < keyLen; i++) this.session[i] = DIGEST[i];
    this.reduce();
    this.rc4.setKey(this.session, keyLen);
  }

  /**
   * RFC 3078 §7.3 key change: interim = GetNewKeyFromSHA(Start, Session); Session = RC4(interim, interim); strength
   * reduction; and, unless `initTables` is false, the RC4 tables are re-initialised with the new key. A receiver
   * catching up over lost packets passes false for all but the last change, since only the last key is used.
   */
  changeKey(initTables: boolean = true): void {
    const keyLen = this.keyLen;
    this.hashStartAndSession();
    this.rc4.setKey(DIGEST, keyLen);
    this.rc4.process(DIGEST, 0, this.session, 0, keyLen);
    this.reduce();
    if (initTables) this.rc4.setKey(this.session, keyLen);
  }

  /** Rewinds the RC4 tables to the start of the current session key's stream (rc4_key(SessionKey), RFC 3078 §8.2). */
  resetTables(): void {
    this.rc4.setKey(this.session, this.keyLen);
  }

  /**
   * Copies the current session key into `into` (at least `keyLen` bytes, allocated once by the caller), so that key
   * changes can be tried speculatively and undone with `restoreSession`. This is the whole key state that matters:
   * the start key never changes and every later use of the key begins with a table re-initialisation, so the RC4
   * stream position is not saved.
   */
  saveSession(into: Uint8Array): void {
    const session = this.session;
    for (let i = 0; i < this.keyLen; i++) into[i] = session[i];
  }

  /** Makes a session key saved by `saveSession` current again, with freshly initialised RC4 tables. */
  restoreSession(from: Uint8Array): void {
    const session = this.session;
    for (let i = 0; i < this.keyLen; i++) session[i] = from[i];
    this.resetTables();
  }

  /** SHA-1 of `msg` (Start and the current Session in place) into DIGEST. */
  private hashStartAndSession(): void {
    const msg = this.msg;
    sha1Init(H);
    sha1Compress(H, W, msg, 0);
    sha1Compress(H, W, msg, 64);
    sha1Digest(H, DIGEST, 0);
  }

  private reduce(): void {
    // Same rule as reduceKeyStrength(), inlined to keep this class monomorphic and call-free on the hot path.
    if (this.bits === 128) return;
    this.session[0] = 0xd1;
    if (this.bits === 40) {
      this.session[1] = 0x26;
      this.session[2] = 0x9e;
    }
  }
}
