/**
 * Value parsers for pptp-ts.conf: each turns the text after "key =" into a typed value, or explains what is
 * wrong with it ("problem", phrased about the value seen) and, when a generic example would not help, how to
 * fix it. config.ts prefixes "[section] key: " and supplies the default fix `use e.g. "key = example"`.
 */
import { formatIpv4, parseIpv4 } from "../wire/ipv4.js";
import type { Ipv4Prefix } from "./peer-types.js";
import { parseAddressRange, type AddressRange } from "./address-range.js";

export interface Problem {
  readonly problem: string;
  readonly fix?: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T; readonly warnings?: readonly string[] }
  | { readonly ok: false; readonly problems: readonly Problem[] };

export type ValueParser<T> = (raw: string) => Parsed<T>;

function good<T>(value: T, warnings?: readonly string[]): Parsed<T> {
  return warnings !== undefined && warnings.length > 0 ? { ok: true, value, warnings } : { ok: true, value };
}

function bad<T>(problem: string, fix?: string): Parsed<T> {
  return { ok: false, problems: [fix === undefined ? { problem } : { problem, fix }] };
}

export function integer(min: number, max: number): ValueParser<number> {
  return (raw) => {
    if (!/^[0-9]+$/.test(raw)) return bad(`"${raw}" is not a whole number`);
    const n = Number(raw);
    if (n < min || n > max) return bad(`${n} is outside ${min}..${max}`);
    return good(n);
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90", "90s", "1.5m", "50ms", "2h"; a bare number is seconds. The result is whole milliseconds. */
export function duration(minMs: number, maxMs: number): ValueParser<number> {
  return (raw) => {
    const m = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?$/i.exec(raw);
    if (m === null) {
      return bad(`"${raw}" is not a duration`, `write seconds ("60"), or a number with ms, s, m or h ("50ms", "2m")`);
    }
    const ms = Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? "s").toLowerCase()]);
    if (ms < minMs || ms > maxMs) return bad(`"${raw}" is outside ${formatDuration(minMs)}..${formatDuration(maxMs)}`);
    return good(ms);
  };
}

/** The largest unit that divides `ms` exactly: "50ms", "90s", "2m", "1h", "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const TRUE_WORDS = ["yes", "true", "on", "1"];
const FALSE_WORDS = ["no", "false", "off", "0"];

export const boolean: ValueParser<boolean> = (raw) => {
  const w = raw.toLowerCase();
  if (TRUE_WORDS.includes(w)) return good(true);
  if (FALSE_WORDS.includes(w)) return good(false);
  return bad(`"${raw}" is not yes or no`);
};

/** One of fixed words (compared case-insensitively), mapped to their values. */
export function oneOf<T>(choices: readonly (readonly [string, T])[]): ValueParser<T> {
  return (raw) => {
    const w = raw.toLowerCase();
    const hit = choices.find(([word]) => word === w);
    if (hit === undefined) return bad(`"${raw}" is not one of ${choices.map(([word]) => word).join(", ")}`);
    return good(hit[1]);
  };
}

export function words<T extends string>(choices: readonly T[]): ValueParser<T> {
  return oneOf(choices.map((c) => [c, c] as const));
}

/**
 * A comma-separated list; an empty value is the empty list. Every bad item is its own problem. Repeated items
 * are dropped with a warning (a list here is a set, or an order of preference where a repeat means nothing).
 */
export function list<T>(item: ValueParser<T>, min: number, max: number, noun = "items"): ValueParser<T[]> {
  return (raw) => {
    const texts = raw.trim() === "" ? [] : raw.split(",").map((s) => s.trim());
    const problems: Problem[] = [];
    const warnings: string[] = [];
    const values: T[] = [];
    const seen = new Set<string>();
    for (const t of texts) {
      if (t === "") {
        problems.push({ problem: `"${raw}" has an empty item`, fix: "separate items with single commas" });
        continue;
      }
      const p = item(t);
      if (!p.ok) {
        problems.push(...p.problems);
        continue;
      }
      if (p.warnings !== undefined) warnings.push(...p.warnings);
      const key = JSON.stringify(p.value);
      if (seen.has(key)) {
        warnings.push(`"${t}" is listed twice; the repeat is ignored`);
        continue;
      }
      seen.add(key);
      values.push(p.value);
    }
    if (problems.length > 0) return { ok: false, problems };
    if (values.length < min) return bad(min === 1 ? `needs at least one of the ${noun}` : `needs at least ${min} ${noun}`);
    if (values.length > max) return bad(`${values.length} ${noun} given, at most ${max} allowed`);
    return good(values, warnings);
  };
}

/** Blocks no peer or server address may come from: this-network, loopback, multicast/reserved/broadcast. */
const NOT_UNICAST: readonly (readonly [number, number, string])[] = [
  [0x00000000, 0x00ffffff, "0.0.0.0/8 (\"this network\", RFC 1122)"],
  [0x7f000000, 0x7fffffff, "127.0.0.0/8 (loopback)"],
  [0xe0000000, 0xffffffff, "224.0.0.0/3 (multicast, reserved and broadcast)"],
];

function specialBlock(first: number, last: number): string | undefined {
  for (const [lo, hi, name] of NOT_UNICAST) if (first <= hi && last >= lo) return name;
  return undefined;
}

/** Any IPv4 address, 0.0.0.0 included (a listen address). */
export const ipv4Address: ValueParser<string> = (raw) => {
  const a = parseIpv4(raw);
  if (!a.ok) return bad(`"${raw}" is not an IPv4 address`);
  return good(formatIpv4(a.value));
};

/** An address a host can have: the server's tunnel end, a peer's, a DNS or WINS server. */
export const unicastAddress: ValueParser<string> = (raw) => {
  const a = parseIpv4(raw);
  if (!a.ok) return bad(`"${raw}" is not an IPv4 address`);
  const block = specialBlock(a.value, a.value);
  if (block !== undefined) return bad(`${raw} is in ${block}, not a usable host address`);
  return good(formatIpv4(a.value));
};

export const poolRange: ValueParser<AddressRange> = (raw) => {
  const r = parseAddressRange(raw);
  if (!r.ok) return bad(r.error.message, `write ranges as "10.0.0.10-10.0.0.200", "10.0.0.10-200" or "10.0.0.0/24"`);
  const first = parseIpv4(r.value.first);
  const last = parseIpv4(r.value.last);
  if (first.ok && last.ok) {
    const block = specialBlock(first.value, last.value);
    if (block !== undefined) return bad(`"${raw}" reaches into ${block}`, "use private addresses, e.g. \"192.168.50.10-192.168.50.254\"");
  }
  return good(r.value);
};

/**
 * The PPTP Host Name field is 64 octets (RFC 2637 §2.1) and the same name is our CHAP Name; printable ASCII
 * without spaces or quotes keeps it identical on the wire, in chap-secrets' server column and in logs.
 */
export const hostName: ValueParser<string> = (raw) => {
  if (raw === "") return bad("is empty");
  if (!/^[\x21-\x7e]+$/.test(raw) || raw.includes('"')) {
    return bad(`"${raw}" has characters other than printable ASCII without spaces and quotes`);
  }
  if (raw.length > 64) return bad(`"${raw}" is ${raw.length} characters, the PPTP Host Name field holds 64 (RFC 2637 §2.1)`);
  return good(raw);
};

/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL), no '/', ':' or spaces; one "%d" allowed. */
export const interfaceName: ValueParser<string> = (raw) => {
  if (raw === "") return bad("is empty");
  if (!/^[A-Za-z0-9_.%-]+$/.test(raw)) return bad(`"${raw}" may only hold letters, digits, '_', '.', '-' and one "%d"`);
  if (raw === "." || raw === "..") return bad(`"${raw}" is not a valid interface name`);
  if (raw.length > 15) return bad(`"${raw}" is ${raw.length} characters, Linux allows at most 15`);
  const percent = raw.split("%").length - 1;
  if (percent > 0 && (percent > 1 || !raw.includes("%d"))) return bad(`"${raw}": '%' is only allowed once, as "%d"`);
  return good(raw);
};

export const nonEmpty: ValueParser<string> = (raw) => (raw === "" ? bad("is empty") : good(raw));

/**
 * Where to dial: a host name (printable ASCII, as for the PPTP Host Name), or an IPv4 address. Text of only
 * digits and dots is taken as an address and must be a valid one, so "10.0.0.300" is not looked up as a name.
 */
export const remoteHost: ValueParser<string> = (raw) => {
  if (/^[0-9.]+$/.test(raw)) {
    const a = parseIpv4(raw);
    return a.ok ? good(formatIpv4(a.value)) : bad(`"${raw}" is not an IPv4 address`);
  }
  return hostName(raw);
};

/** The first and last address of a prefix, as numbers. */
export function prefixBounds(p: Ipv4Prefix): { readonly first: number; readonly last: number } {
  const a = parseIpv4(p.network);
  const first = a.ok ? a.value : 0;
  return { first, last: first + hostSize(p.prefix) - 1 };
}

/** Two prefixes overlap exactly when one contains the other. */
export function prefixesOverlap(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const x = prefixBounds(a);
  const y = prefixBounds(b);
  return x.first <= y.last && y.first <= x.last;
}

export function formatPrefix(p: Ipv4Prefix): string {
  return `${p.network}/${p.prefix}`;
}

function hostSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/**
 * "192.168.20.0/24", or a bare address for one host (/32). Host bits must be clear: "192.168.20.1/24" is more
 * likely a typo for the network than a wish to route it, and the kernel refuses it anyway.
 */
export const ipv4Prefix: ValueParser<Ipv4Prefix> = (raw) => {
  const slash = raw.indexOf("/");
  const addressText = (slash < 0 ? raw : raw.slice(0, slash)).trim();
  const bitsText = slash < 0 ? "32" : raw.slice(slash + 1).trim();
  const a = parseIpv4(addressText);
  if (!a.ok) return bad(`"${addressText}" is not an IPv4 address`, `write networks as "192.168.20.0/24", or a single address`);
  if (!/^[0-9]{1,2}$/.test(bitsText) || Number(bitsText) > 32) {
    return bad(`"${raw}": prefix length "${bitsText}" is not 0..32`, `write networks as "192.168.20.0/24", or a single address`);
  }
  const prefix = Number(bitsText);
  const network = a.value - (a.value % hostSize(prefix));
  if (network !== a.value) {
    const meant = formatPrefix({ network: formatIpv4(network), prefix });
    return bad(`"${raw}" has host bits set`, `did you mean ${meant}?`);
  }
  return good({ network: formatIpv4(network), prefix });
};

/**
 * A server as "HOST", "HOST:PORT" or "[IPv6]:PORT" (RADIUS, accounting): `port` when none is written. IPv4 literals
 * come back in canonical form; names must be valid host names.
 */
export function serverAddress(port: number, example: string): ValueParser<{ host: string; port: number }> {
  const fix = `write HOST or HOST:PORT, e.g. "10.0.0.5" or "${example}"`;
  return (raw) => {
    let host: string;
    let p = port;
    const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(raw);
    if (v6 !== null) {
      host = v6[1];
      if (v6[2] !== undefined) p = Number(v6[2]);
    } else {
      const m = /^([^:\s]+)(?::(\d+))?$/.exec(raw);
      if (m === null) return { ok: false, problems: [{ problem: `"${raw}" is not HOST or HOST:PORT`, fix }] };
      host = m[1];
      if (m[2] !== undefined) p = Number(m[2]);
      if (/^[0-9.]+$/.test(host)) {
        const a = parseIpv4(host);
        if (!a.ok) return { ok: false, problems: [{ problem: `"${host}" is not an IPv4 address`, fix }] };
        host = formatIpv4(a.value);
      } else {
        const h = hostName(host);
        if (!h.ok) return h;
      }
    }
    if (!Number.isInteger(p) || p < 1 || p > 65535) return { ok: false, problems: [{ problem: `port ${p} is outside 1..65535`, fix }] };
    return { ok: true, value: { host, port: p } };
  };
}
