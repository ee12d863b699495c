/**
 * The MPPE data path in C (native/mppe.c: RC4, the RFC 3078 §7.3 key change, stateless packets, one per call; the
 * batch calls went in session 9: no layer had a batch to give, and the crossing is lost in the cipher's cost), as
 * the crypto layer sees it. The addon is loaded by the I/O layer (src/io/native.ts), which hands its
 * `mppe` object to installMppeNative(); until then, and where the addon is missing, MppeSender and MppeReceiver run
 * the TypeScript code (rc4.ts, mppe-session-key.ts), which is also the tests' oracle. Only stateless mode runs in C:
 * stateful mode (RFC 3078 §7.2, with the resync of mppe.ts) stays in TypeScript; the stock clients negotiate
 * stateless, and there the per-packet key change made the cipher ~40 % of the server's CPU (bench/README.md).
 *
 * Key state: a Uint8Array of `stateLength` bytes owned by the JS object (native/mppe.h gives the layout: start key,
 * session key, key length, strength, count). No pointer and no handle, so it goes with its owner and a worker
 * thread can run it as well.
 */
import { type MppeBits } from "./mppe-keys.js";

export interface MppeNativeBinding {
  readonly stateLength: number;
  /** A state this long also holds its own slot for the next packet's key schedule (native/mppe.h MPPE_STATE_AHEAD_LEN). */
  readonly stateAheadLength: number;
  /** The direction's start state from its 16-byte master key (RFC 3079 §3.1-3.3), count 4095. */
  init(state: Uint8Array, masterKey: Uint8Array, bits: MppeBits): void;
  /** `times` key changes (RFC 3078 §7.3). */
  changeKey(state: Uint8Array, times: number): void;
  /** Stateless sender: header + ciphertext of (protocol field, when protocol >= 0) + src span at dst[dstOff..]. */
  encrypt(state: Uint8Array, protocol: number, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number;
  /** Stateless receiver: plaintext length, or -2 (MPPE_DROP). */
  decrypt(state: Uint8Array, src: Uint8Array, srcOff: number, len: number, dst: Uint8Array, dstOff: number): number;
  /** Test hooks: RC4 of data under key, SHA-1 of data. */
  rc4(key: Uint8Array, data: Uint8Array): Uint8Array;
  sha1(data: Uint8Array): Uint8Array;
  /**
   * Test and bench hooks, process-wide: which SHA-1 runs ("default": SHA-NI when cpuid has it; throws when
   * "sha-ni" is asked for and the CPU lacks it), and whether stateless packets run the next packet's key work
   * beside their keystream (native/mppe.c "key work ahead"). Without an argument: the current choice.
   */
  shaImpl(want?: "default" | "portable" | "sha-ni"): "portable" | "sha-ni";
  keyAhead(on?: boolean): boolean;
}

/** Byte offsets inside a native state (native/mppe.h). */
export const NATIVE_STATE_SESSION = 16;
export const NATIVE_STATE_COUNT = 34;
/** 1 while the next session key, worked out ahead, is valid; cleared when a state is restored. */
export const NATIVE_STATE_NEXT_OK = 52;

let installed: MppeNativeBinding | undefined;

/**
 * Makes MPPE senders and receivers created from now on run stateless mode in C (undefined: TypeScript again).
 * Existing ones keep what they run; the two agree byte for byte (test/crypto/mppe-native.test.ts), and their
 * saveState()/restoreState() are interchangeable.
 */
export function installMppeNative(binding: MppeNativeBinding | undefined): void {
  installed = binding;
}

export function mppeNative(): MppeNativeBinding | undefined {
  return installed;
}
