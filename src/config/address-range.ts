/**
 * Address ranges as an operator writes them in the config and users files (`a-b`, `a-n`, `a/n`, `a`), checked
 * for overlap and size. Pure text ↔ range functions shared by the config parser and the server's AddressPool.
 */
import { formatIpv4, parseIpv4 } from "../wire/ipv4.js";
import { err, ok, type Result } from "../wire/result.js";

/** A block of consecutive addresses, both ends included. */
export interface AddressRange {
  readonly first: string;
  readonly last: string;
}

/** A pool larger than a /16 would cost memory for sessions we could never hold (call IDs are 16 bits). */
export const MAX_POOL_SIZE = 65536;

/**
 * One pool item as an operator writes it:
 *  - `10.0.0.10-10.0.0.200` (both ends included), or `10.0.0.10-200` (last octet only, accel-ppp style);
 *  - `10.0.0.0/24`: the block without its network and broadcast addresses (.0 and .255 here), because some
 *    peers and routers treat those as the subnet itself; /31 and /32 keep every address (RFC 3021);
 *  - `10.0.0.7`: a single address.
 */
export function parseAddressRange(text: string): Result<AddressRange> {
  const t = text.trim();
  const slash = t.indexOf("/");
  if (slash >= 0) return parseCidr(t, slash);
  const dash = t.indexOf("-");
  if (dash < 0) {
    const a = parseIpv4(t);
    if (!a.ok) return err("bad-range", `"${t}" is not an address, a range a-b or a CIDR block a/n`);
    return ok({ first: formatIpv4(a.value), last: formatIpv4(a.value) });
  }
  const firstText = t.slice(0, dash).trim();
  const lastText = t.slice(dash + 1).trim();
  const first = parseIpv4(firstText);
  if (!first.ok) return err("bad-range", `range "${t}": start "${firstText}" is not an IPv4 address`);
  let last: number;
  if (/^[0-9]{1,3}$/.test(lastText) && Number(lastText) <= 255) {
    last = ((first.value & 0xffffff00) | Number(lastText)) >>> 0;
  } else {
    const l = parseIpv4(lastText);
    if (!l.ok) return err("bad-range", `range "${t}": end "${lastText}" is not an IPv4 address or a last octet 0..255`);
    last = l.value;
  }
  if (last < first.value) {
    return err("bad-range", `range "${t}" ends (${formatIpv4(last)}) before it starts (${formatIpv4(first.value)})`);
  }
  return ok({ first: formatIpv4(first.value), last: formatIpv4(last) });
}

function parseCidr(t: string, slash: number): Result<AddressRange> {
  const base = parseIpv4(t.slice(0, slash));
  const bitsText = t.slice(slash + 1);
  if (!base.ok) return err("bad-range", `CIDR block "${t}": "${t.slice(0, slash)}" is not an IPv4 address`);
  if (!/^[0-9]{1,2}$/.test(bitsText) || Number(bitsText) > 32) {
    return err("bad-range", `CIDR block "${t}": prefix length "${bitsText}" is not 0..32`);
  }
  const bits = Number(bitsText);
  const hostMask = bits === 0 ? 0xffffffff : (2 ** (32 - bits) - 1) >>> 0;
  const network = (base.value & ~hostMask) >>> 0;
  if (network !== base.value) {
    return err("bad-range", `CIDR block "${t}" has host bits set; the block starting there is ${formatIpv4(network)}/${bits}`);
  }
  const broadcast = (network | hostMask) >>> 0;
  if (bits >= 31) return ok({ first: formatIpv4(network), last: formatIpv4(broadcast) });
  return ok({ first: formatIpv4(network + 1), last: formatIpv4(broadcast - 1) });
}

/** Numbers of addresses in a range (no validation beyond parsing). */
export function rangeSize(r: AddressRange): number {
  return addressValue(r.last) - addressValue(r.first) + 1;
}

/** "a-b", or "a" for a single address: how describeConfig and formatConfig print a range. */
export function formatAddressRange(r: AddressRange): string {
  return r.first === r.last ? r.first : `${r.first}-${r.last}`;
}

/** Ranges that do not overlap and add up to 1..MAX_POOL_SIZE addresses; ok(total size). */
export function checkPoolRanges(ranges: readonly AddressRange[]): Result<number> {
  if (ranges.length === 0) return err("empty-pool", "the pool has no addresses");
  const sorted: { r: AddressRange; first: number; last: number }[] = [];
  for (const r of ranges) {
    const first = parseIpv4(r.first);
    const last = parseIpv4(r.last);
    if (!first.ok) return err("bad-range", first.error.message);
    if (!last.ok) return err("bad-range", last.error.message);
    sorted.push({ r, first: first.value, last: last.value });
  }
  sorted.sort((a, b) => a.first - b.first);
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i];
    if (s.last < s.first) return err("bad-range", `range ${formatAddressRange(s.r)} ends before it starts`);
    if (i > 0 && s.first <= sorted[i - 1].last) {
      return err("overlap", `ranges ${formatAddressRange(sorted[i - 1].r)} and ${formatAddressRange(s.r)} overlap`);
    }
    total += s.last - s.first + 1;
  }
  if (total > MAX_POOL_SIZE) {
    return err("pool-too-large", `the pool holds ${total} addresses, at most ${MAX_POOL_SIZE} (a /16) are supported`);
  }
  return ok(total);
}

/** Whether `addr` lies in one of the ranges. */
export function rangesContain(ranges: readonly AddressRange[], addr: string): boolean {
  const a = parseIpv4(addr);
  if (!a.ok) return false;
  return ranges.some((r) => a.value >= addressValue(r.first) && a.value <= addressValue(r.last));
}

export function addressValue(addr: string): number {
  const a = parseIpv4(addr);
  if (!a.ok) throw new RangeError(a.error.message);
  return a.value;
}
