/** The MPPE receiver fed arbitrary ciphertext: recorded packets, mutated, dropped, repeated, reordered, or random. */
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { MPPE_DROP, MPPE_NEED_RESET, MppeReceiver } from "../../../src/crypto/mppe.js";
import type { MppeBits } from "../../../src/crypto/mppe-keys.js";
import { applyMutations, mutationArb, type Mutation } from "../mutate.js";
import { MPPE_MASTER_KEY, mppeStream } from "../seeds.js";
import { count, invariant, type FuzzTarget } from "../target.js";

const STREAM_LEN = 24;
const streams = new Map<string, ReturnType<typeof mppeStream>>();
function stream(bits: MppeBits, stateless: boolean): ReturnType<typeof mppeStream> {
  const k = `${bits}/${stateless}`;
  let s = streams.get(k);
  if (s === undefined) streams.set(k, (s = mppeStream(bits, stateless, STREAM_LEN)));
  return s;
}

type Feed = { readonly i: number; readonly mutations: readonly Mutation[] } | { readonly random: Uint8Array };

export interface MppeInput {
  readonly bits: MppeBits;
  readonly stateless: boolean;
  readonly validate: boolean;
  readonly inPlace: boolean;
  readonly feeds: readonly Feed[];
}

const validateIp = (p: Uint8Array, off: number, len: number): boolean => len >= 21 && p[off] === 0x21 && p[off + 1] >> 4 === 4;

const cov: Record<string, number> = {};
export const mppeDecrypt: FuzzTarget<MppeInput> = {
  name: "mppe-decrypt",
  description: "MppeReceiver (40/56/128, stateless/stateful, with and without validation, in place or not) fed edited ciphertext; results in range, genuine packets decrypt right",
  arbitrary: fc.record({
    bits: fc.constantFrom(40 as const, 56 as const, 128 as const),
    stateless: fc.boolean(),
    validate: fc.boolean(),
    inPlace: fc.boolean(),
    feeds: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.record({ i: fc.nat({ max: STREAM_LEN - 1 }), mutations: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }) }) },
        { weight: 1, arbitrary: fc.record({ random: fc.uint8Array({ maxLength: 40 }) }) },
      ),
      { maxLength: 30 },
    ),
  }),
  coverage: cov,
  run(input) {
    const { plain, cipher } = stream(input.bits, input.stateless);
    const rx = new MppeReceiver({ masterKey: MPPE_MASTER_KEY, bits: input.bits, stateless: input.stateless, validate: input.validate ? validateIp : undefined });
    const dst = new Uint8Array(2048);
    /** Stateless: key changes made so far; below 4096 the key of a count is unambiguous. */
    let advanced = 0;
    let last = 4095;
    for (const f of input.feeds) {
      const genuine = "i" in f && f.mutations.length === 0;
      const pkt = "i" in f ? applyMutations(cipher[f.i], f.mutations, cipher) : f.random;
      let src: Uint8Array = pkt;
      let srcOff = 0;
      let out: Uint8Array = dst;
      let outOff = 0;
      if (input.inPlace) {
        src = new Uint8Array(pkt.length + 4);
        src.set(pkt, 2);
        srcOff = 2;
        out = src;
        outOff = 4;
        if (src.length < outOff + pkt.length - 2) continue;
      }
      const n = rx.decrypt(src, srcOff, pkt.length, out, outOff);
      invariant(n === MPPE_DROP || n === MPPE_NEED_RESET || n === pkt.length - 2, () => `decrypt returned ${n} for a ${pkt.length}-octet packet`);
      invariant(!(input.stateless && n === MPPE_NEED_RESET), "stateless receiver asked for a reset");
      if (n < 0) {
        count(cov, n === MPPE_DROP ? "dropped" : "need reset");
        continue;
      }
      count(cov, "decrypted");
      if (input.stateless && pkt.length >= 2) {
        const c = ((pkt[0] & 0x0f) << 8) | pkt[1];
        advanced += (c - last) & 0xfff;
        last = c;
        if (genuine && advanced < 4096 && "i" in f) {
          invariant(isDeepStrictEqual(out.subarray(outOff, outOff + n), plain[f.i]), () => `genuine packet ${f.i} decrypted wrong after ${advanced} key changes`);
          count(cov, "genuine checked");
        }
      }
    }
  },
};
