/**
 * Mutation from valid seeds, as fast-check arbitraries.
 *
 * Random bytes almost never get past a length field and a magic cookie, so they exercise the first three checks of
 * a parser and nothing behind them. These arbitraries start from valid encoded messages (or whole valid exchanges)
 * and apply a few byte-level edits — bit flips, "interesting" values written over 8/16/32-bit fields, inserts,
 * deletes, truncation, splicing in part of another seed — so most inputs are valid up to one field and reach the
 * code that handles that field. fast-check shrinks a failing input back towards the unmutated seed.
 */
import fc from "fast-check";
import { concatBytes as concat } from "../../src/wire/bytes.js";

export type Mutation =
  | { readonly op: "flip"; readonly pos: number; readonly bit: number }
  | { readonly op: "byte"; readonly pos: number; readonly value: number }
  | { readonly op: "word"; readonly pos: number; readonly size: 2 | 4; readonly value: number }
  | { readonly op: "insert"; readonly pos: number; readonly bytes: Uint8Array }
  | { readonly op: "delete"; readonly pos: number; readonly count: number }
  | { readonly op: "truncate"; readonly pos: number }
  | { readonly op: "splice"; readonly pos: number; readonly other: number; readonly from: number; readonly count: number };

/** Values that sit on boundaries of length and count fields. */
const INTERESTING = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x400, 0x401, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

const position = fc.nat({ max: 0xffff });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("flip" as const), pos: position, bit: fc.nat({ max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("byte" as const), pos: position, value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.nat({ max: 255 })) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("word" as const),
      pos: position,
      size: fc.constantFrom(2 as const, 4 as const),
      value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 0x1000 }), fc.nat()),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), pos: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), pos: position, count: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), pos: position }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("splice" as const), pos: position, other: fc.nat(), from: position, count: fc.integer({ min: 1, max: 64 }) }),
  },
);

/** Applies the mutations in order; `pool` supplies the other seed for splices. Never changes its input. */
export function applyMutations(seed: Uint8Array, mutations: readonly Mutation[], pool: readonly Uint8Array[]): Uint8Array {
  let b: Uint8Array = seed.slice();
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.pos % (b.length + (m.op === "insert" || m.op === "splice" ? 1 : 0));
    switch (m.op) {
      case "flip":
        if (b.length > 0) b[at] ^= 1 << m.bit;
        break;
      case "byte":
        if (b.length > 0) b[at] = m.value;
        break;
      case "word":
        for (let i = 0; i < m.size && at + i < b.length; i++) b[at + i] = (m.value >>> (8 * (m.size - 1 - i))) & 0xff;
        break;
      case "insert":
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      case "delete":
        b = concat(b.subarray(0, at), b.subarray(at + m.count));
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "splice": {
        if (pool.length === 0) break;
        const other = pool[m.other % pool.length];
        const from = other.length === 0 ? 0 : m.from % other.length;
        b = concat(b.subarray(0, at), other.subarray(from, from + m.count), b.subarray(at));
        break;
      }
    }
  }
  return b;
}


/** One of the seeds, mutated 0..maxMutations times; now and then plain random bytes (the parser's first checks). */
export function mutatedBytes(seeds: readonly Uint8Array[], maxMutations = 6, randomMaxLength = 64): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error("mutatedBytes needs seeds");
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { maxLength: maxMutations }))
        .map(([i, ms]) => applyMutations(seeds[i], ms, seeds)),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: randomMaxLength }) },
  );
}

/** Text seeds mutated as bytes and read back as UTF-8 (so invalid sequences become U+FFFD, as a file read would). */
export function mutatedText(seeds: readonly string[], maxMutations = 6): fc.Arbitrary<string> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const bytes = seeds.map((s) => enc.encode(s));
  const lines = seeds.flatMap((s) => s.split("\n")).map((l) => enc.encode(l + "\n"));
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { maxLength: maxMutations }))
    .map(([i, ms]) => dec.decode(applyMutations(bytes[i], ms, lines)));
}

/**
 * A sequence of messages (a recorded exchange) edited at the message level — drop, duplicate, swap, insert a
 * message from the pool — with some of its messages mutated at the byte level.
 */
export type SequenceEdit =
  | { readonly op: "drop"; readonly at: number }
  | { readonly op: "dup"; readonly at: number }
  | { readonly op: "swap"; readonly at: number; readonly with: number }
  | { readonly op: "insert"; readonly at: number; readonly from: number }
  | { readonly op: "mutate"; readonly at: number; readonly mutations: readonly Mutation[] };

export const sequenceEditArb: fc.Arbitrary<SequenceEdit> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ op: fc.constant("drop" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("dup" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), at: fc.nat(), from: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("mutate" as const), at: fc.nat(), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }) },
);

export function applySequenceEdits(seq: readonly Uint8Array[], edits: readonly SequenceEdit[], pool: readonly Uint8Array[]): Uint8Array[] {
  const out = seq.slice();
  for (const e of edits) {
    const n = out.length;
    switch (e.op) {
      case "drop":
        if (n > 0) out.splice(e.at % n, 1);
        break;
      case "dup":
        if (n > 0) out.splice(e.at % n, 0, out[e.at % n]);
        break;
      case "swap":
        if (n > 1) {
          const i = e.at % n;
          const j = e.with % n;
          [out[i], out[j]] = [out[j], out[i]];
        }
        break;
      case "insert":
        if (pool.length > 0) out.splice(e.at % (n + 1), 0, pool[e.from % pool.length]);
        break;
      case "mutate":
        if (n > 0) out[e.at % n] = applyMutations(out[e.at % n], e.mutations, pool);
        break;
    }
  }
  return out;
}
