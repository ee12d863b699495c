/**
 * Config values of the session side of AAA: named address pools (`[pools]`, one key per pool; RADIUS Framed-Pool
 * names one), the per-user session limit's policy and the accounting interim interval. Parsing helpers only;
 * the keys live in SPECS (src/config/config.ts).
 */
import { addressValue, checkPoolRanges, formatAddressRange, type AddressRange } from "./address-range.js";
import { duration, list, poolRange, words, type ValueParser } from "./config-values.js";

export type PerUserPolicy = "deny" | "replace";
export const PER_USER_POLICIES: readonly PerUserPolicy[] = ["deny", "replace"];
export const perUserPolicy: ValueParser<PerUserPolicy> = words(PER_USER_POLICIES);

/** A pool name as RADIUS servers write Framed-Pool values: letters, digits, '.', '_' and '-'. */
const POOL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const POOL_NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

/** The ranges of the pool `name` (a key of [pools]); the name itself is checked here too. */
export function namedPoolRanges(name: string): ValueParser<AddressRange[]> {
  return (raw) => {
    if (!POOL_NAME.test(name)) {
      const tidy = name.replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+/, "") || "office";
      return { ok: false, problems: [{ problem: `"${name}" is not a pool name (${POOL_NAME_RULE})`, fix: `rename it, e.g. "${tidy} = ${raw}"` }] };
    }
    const p = list(poolRange, 1, Infinity, "ranges")(raw);
    if (!p.ok) return p;
    const total = checkPoolRanges(p.value);
    if (!total.ok) return { ok: false, problems: [{ problem: total.error.message, fix: "list each address once, at most 65536 in all" }] };
    return p;
  };
}

/** Interim-Update interval: 0 = off, else at least 60 s (RFC 2869 §5.16: "SHOULD NOT be smaller than 60"). */
export const interimInterval: ValueParser<number> = (raw) => {
  const p = duration(0, 86_400_000)(raw);
  if (p.ok && p.value !== 0 && p.value < 60_000) {
    return { ok: false, problems: [{ problem: `"${raw}" is less than 60 s (RFC 2869 §5.16)`, fix: `use 0 (off) or e.g. "interim-interval = 5m"` }] };
  }
  return p;
};

/**
 * Two pools that share an address would hand it to two sessions (each pool tracks only its own): the first
 * overlap between a named pool and [ppp] pool, another named pool, or [ppp] local-address.
 */
export function namedPoolConflict(
  pools: Readonly<Record<string, readonly AddressRange[]>>,
  defaultPool: readonly AddressRange[],
  localAddress: string,
): { readonly pool: string; readonly problem: string; readonly fix: string } | undefined {
  const span = (r: AddressRange): [number, number] => [addressValue(r.first), addressValue(r.last)];
  const overlap = (a: readonly AddressRange[], b: readonly AddressRange[]): [AddressRange, AddressRange] | undefined => {
    for (const x of a)
      for (const y of b) {
        const [x1, x2] = span(x);
        const [y1, y2] = span(y);
        if (x1 <= y2 && y1 <= x2) return [x, y];
      }
    return undefined;
  };
  const names = Object.keys(pools);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const mine = pools[name];
    const local = addressValue(localAddress);
    if (mine.some((r) => local >= addressValue(r.first) && local <= addressValue(r.last))) {
      return { pool: name, problem: `holds the server's local-address ${localAddress}`, fix: "leave local-address out of every pool" };
    }
    const d = overlap(mine, defaultPool);
    if (d) return { pool: name, problem: `${formatAddressRange(d[0])} overlaps [ppp] pool ${formatAddressRange(d[1])}`, fix: "give each pool its own addresses" };
    for (const other of names.slice(i + 1)) {
      const o = overlap(mine, pools[other]);
      if (o) return { pool: name, problem: `${formatAddressRange(o[0])} overlaps pool "${other}" ${formatAddressRange(o[1])}`, fix: "give each pool its own addresses" };
    }
  }
  return undefined;
}
