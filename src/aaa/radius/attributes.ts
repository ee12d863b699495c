/**
 * Building and reading attribute values (RFC 2865 §5 data types, RFC 2868 §3 tags, RFC 2865 §5.26 VSAs).
 * Builders throw RangeError on a value that cannot be encoded (callers check user-controlled sizes first);
 * readers return undefined on a value of the wrong shape and never throw.
 */
import { put32, u32, utf8, fromUtf8 } from "../../wire/bytes.js";
import { type RadiusAttribute, type RadiusPacket, RADIUS_MAX_VALUE } from "./packet.js";
import { Attr, decodeVendorSpecific, type VendorAttribute } from "./dictionary.js";

function checkSize(type: number, v: Uint8Array): Uint8Array {
  if (v.length > RADIUS_MAX_VALUE) throw new RangeError(`RADIUS attribute ${type}: ${v.length} octets exceed 253`);
  return v;
}

export function octetsAttr(type: number, value: Uint8Array): RadiusAttribute {
  return { type, value: checkSize(type, value) };
}

export function textAttr(type: number, s: string): RadiusAttribute {
  return { type, value: checkSize(type, utf8(s)) };
}

export function integerAttr(type: number, n: number): RadiusAttribute {
  const v = new Uint8Array(4);
  put32(v, 0, n >>> 0);
  return { type, value: v };
}

/** Dotted IPv4 address. Throws RangeError on anything else. */
export function ipv4Bytes(addr: string): Uint8Array {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (m === null) throw new RangeError(`not an IPv4 address: ${addr}`);
  const v = Uint8Array.from(m.slice(1, 5).map(Number));
  if (m.slice(1, 5).some((x) => Number(x) > 255)) throw new RangeError(`not an IPv4 address: ${addr}`);
  return v;
}

export function ipaddrAttr(type: number, addr: string): RadiusAttribute {
  return { type, value: ipv4Bytes(addr) };
}

/** RFC 2868 §3.1/3.2: Tag(1) + 24-bit value. Tag 0 = "unused". */
export function taggedIntegerAttr(type: number, n: number, tag = 0): RadiusAttribute {
  return { type, value: Uint8Array.of(tag & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff) };
}

/**
 * RFC 2868 §3.3: the Tag octet of a tagged string is optional; with tag 0 we send the string alone, as a first
 * octet 0x00..0x1F would be taken for a tag (our values are addresses, which never start that way).
 */
export function taggedTextAttr(type: number, s: string, tag = 0): RadiusAttribute {
  const body = utf8(s);
  if (tag === 0) return { type, value: checkSize(type, body) };
  const v = new Uint8Array(body.length + 1);
  v[0] = tag;
  v.set(body, 1);
  return { type, value: checkSize(type, v) };
}

/** One Vendor-Specific attribute holding one sub-attribute (RFC 2865 §5.26 suggested format). */
export function vendorAttr(vendorId: number, vendorType: number, value: Uint8Array): RadiusAttribute {
  if (value.length > RADIUS_MAX_VALUE - 6) throw new RangeError(`vendor attribute ${vendorId}/${vendorType}: ${value.length} octets exceed 247`);
  const v = new Uint8Array(6 + value.length);
  put32(v, 0, vendorId);
  v[4] = vendorType;
  v[5] = value.length + 2;
  v.set(value, 6);
  return { type: Attr.VendorSpecific, value: v };
}

export function readInteger(v: Uint8Array | undefined): number | undefined {
  return v !== undefined && v.length === 4 ? u32(v, 0) : undefined;
}

export function readIpv4(v: Uint8Array | undefined): string | undefined {
  return v !== undefined && v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined;
}

export function readText(v: Uint8Array | undefined): string | undefined {
  return v === undefined ? undefined : fromUtf8(v);
}

/** Every sub-attribute of `vendorId`/`type` in the packet, in order (malformed VSAs are skipped). */
export function findVendorAttributes(p: RadiusPacket, vendorId: number, type: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const a of p.attributes) {
    if (a.type !== Attr.VendorSpecific) continue;
    const subs: VendorAttribute[] | undefined = decodeVendorSpecific(a.value);
    if (subs === undefined) continue;
    for (const s of subs) if (s.vendorId === vendorId && s.type === type) out.push(s.value);
  }
  return out;
}

export function findVendorAttribute(p: RadiusPacket, vendorId: number, type: number): Uint8Array | undefined {
  return findVendorAttributes(p, vendorId, type)[0];
}
