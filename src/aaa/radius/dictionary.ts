/**
 * Names and data types of the RADIUS attributes pptp-ts sends, receives or logs: RFC 2865 §5, RFC 2866 §5,
 * RFC 2868 §3 (Tunnel-*, with a Tag octet), RFC 2869 §5, RFC 5176 §3.5 (Error-Cause), and Microsoft's
 * vendor-specific attributes (vendor 311, RFC 2548 §2). Used to validate fixed-size values when decoding and to
 * print attributes in logs without ever printing a secret.
 */
import { u32, toHex, fromUtf8 } from "../../wire/bytes.js";

export type AttributeType =
  | "text" // UTF-8, 1..253 octets
  | "string" // opaque octets
  | "integer" // 32-bit unsigned
  | "ipaddr" // 4 octets
  | "date" // 32-bit seconds since 1970
  | "tagged-integer" // Tag(1) + 24-bit value (RFC 2868 §3.1)
  | "tagged-text" // optional Tag (0x01..0x1F) + text (RFC 2868 §3.5)
  | "vsa" // Vendor-Id(4) + vendor data (RFC 2865 §5.26)
  | "secret"; // never logged (User-Password, CHAP-Password, Tunnel-Password, keys)

export interface AttributeSpec {
  readonly name: string;
  readonly type: AttributeType;
  /** Fixed value size in octets, checked when decoding. */
  readonly size?: number;
}

export const Attr = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  ServiceType: 6,
  FramedProtocol: 7,
  FramedIpAddress: 8,
  FramedIpNetmask: 9,
  FramedMtu: 12,
  ReplyMessage: 18,
  FramedRoute: 22,
  State: 24,
  Class: 25,
  VendorSpecific: 26,
  SessionTimeout: 27,
  IdleTimeout: 28,
  TerminationAction: 29,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctDelayTime: 41,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctAuthentic: 45,
  AcctSessionTime: 46,
  AcctInputPackets: 47,
  AcctOutputPackets: 48,
  AcctTerminateCause: 49,
  AcctMultiSessionId: 50,
  AcctLinkCount: 51,
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  EventTimestamp: 55,
  ChapChallenge: 60,
  NasPortType: 61,
  PortLimit: 62,
  TunnelType: 64,
  TunnelMediumType: 65,
  TunnelClientEndpoint: 66,
  TunnelServerEndpoint: 67,
  AcctTunnelConnection: 68,
  TunnelPassword: 69,
  ConnectInfo: 77,
  EapMessage: 79,
  MessageAuthenticator: 80,
  TunnelPrivateGroupId: 81,
  TunnelAssignmentId: 82,
  TunnelPreference: 83,
  AcctInterimInterval: 85,
  NasPortId: 87,
  FramedPool: 88,
  ChargeableUserIdentity: 89,
  TunnelClientAuthId: 90,
  TunnelServerAuthId: 91,
  NasIpv6Address: 95,
  ErrorCause: 101,
} as const;

/** Values of the enumerated attributes we send (RFC 2865 §5.6/5.7/5.41, RFC 2868 §3.1/3.2). */
export const ServiceTypeFramed = 2;
export const FramedProtocolPpp = 1;
export const NasPortTypeVirtual = 5;
export const TunnelTypePptp = 1;
export const TunnelMediumIpv4 = 1;

/** Microsoft's SMI Network Management Private Enterprise Code (RFC 2548 §2). */
export const VENDOR_MICROSOFT = 311;

/** Microsoft vendor-specific attribute types (RFC 2548 §2.3, §2.4). */
export const MsAttr = {
  ChapResponse: 1,
  ChapError: 2,
  ChapCpw1: 3,
  ChapCpw2: 4,
  ChapLmEncPw: 5,
  ChapNtEncPw: 6,
  MppeEncryptionPolicy: 7,
  MppeEncryptionTypes: 8,
  RasVendor: 9,
  ChapDomain: 10,
  ChapChallenge: 11,
  ChapMppeKeys: 12,
  MppeSendKey: 16,
  MppeRecvKey: 17,
  Chap2Response: 25,
  Chap2Success: 26,
  Chap2Cpw: 27,
  PrimaryDnsServer: 28,
  SecondaryDnsServer: 29,
} as const;

const t = (name: string, type: AttributeType, size?: number): AttributeSpec => (size === undefined ? { name, type } : { name, type, size });

const STANDARD: Record<number, AttributeSpec> = {
  1: t("User-Name", "text"),
  2: t("User-Password", "secret"),
  3: t("CHAP-Password", "secret", 17),
  4: t("NAS-IP-Address", "ipaddr", 4),
  5: t("NAS-Port", "integer", 4),
  6: t("Service-Type", "integer", 4),
  7: t("Framed-Protocol", "integer", 4),
  8: t("Framed-IP-Address", "ipaddr", 4),
  9: t("Framed-IP-Netmask", "ipaddr", 4),
  10: t("Framed-Routing", "integer", 4),
  11: t("Filter-Id", "text"),
  12: t("Framed-MTU", "integer", 4),
  13: t("Framed-Compression", "integer", 4),
  18: t("Reply-Message", "text"),
  22: t("Framed-Route", "text"),
  24: t("State", "string"),
  25: t("Class", "string"),
  26: t("Vendor-Specific", "vsa"),
  27: t("Session-Timeout", "integer", 4),
  28: t("Idle-Timeout", "integer", 4),
  29: t("Termination-Action", "integer", 4),
  30: t("Called-Station-Id", "text"),
  31: t("Calling-Station-Id", "text"),
  32: t("NAS-Identifier", "text"),
  33: t("Proxy-State", "string"),
  40: t("Acct-Status-Type", "integer", 4),
  41: t("Acct-Delay-Time", "integer", 4),
  42: t("Acct-Input-Octets", "integer", 4),
  43: t("Acct-Output-Octets", "integer", 4),
  44: t("Acct-Session-Id", "text"),
  45: t("Acct-Authentic", "integer", 4),
  46: t("Acct-Session-Time", "integer", 4),
  47: t("Acct-Input-Packets", "integer", 4),
  48: t("Acct-Output-Packets", "integer", 4),
  49: t("Acct-Terminate-Cause", "integer", 4),
  50: t("Acct-Multi-Session-Id", "text"),
  51: t("Acct-Link-Count", "integer", 4),
  52: t("Acct-Input-Gigawords", "integer", 4),
  53: t("Acct-Output-Gigawords", "integer", 4),
  55: t("Event-Timestamp", "date", 4),
  60: t("CHAP-Challenge", "string"),
  61: t("NAS-Port-Type", "integer", 4),
  62: t("Port-Limit", "integer", 4),
  64: t("Tunnel-Type", "tagged-integer", 4),
  65: t("Tunnel-Medium-Type", "tagged-integer", 4),
  66: t("Tunnel-Client-Endpoint", "tagged-text"),
  67: t("Tunnel-Server-Endpoint", "tagged-text"),
  68: t("Acct-Tunnel-Connection", "text"),
  69: t("Tunnel-Password", "secret"),
  77: t("Connect-Info", "text"),
  79: t("EAP-Message", "string"),
  80: t("Message-Authenticator", "string", 16),
  81: t("Tunnel-Private-Group-ID", "tagged-text"),
  82: t("Tunnel-Assignment-ID", "tagged-text"),
  83: t("Tunnel-Preference", "tagged-integer", 4),
  85: t("Acct-Interim-Interval", "integer", 4),
  87: t("NAS-Port-Id", "text"),
  88: t("Framed-Pool", "text"),
  89: t("Chargeable-User-Identity", "string"),
  90: t("Tunnel-Client-Auth-ID", "tagged-text"),
  91: t("Tunnel-Server-Auth-ID", "tagged-text"),
  95: t("NAS-IPv6-Address", "string", 16),
  101: t("Error-Cause", "integer", 4),
};

const MICROSOFT: Record<number, AttributeSpec> = {
  1: t("MS-CHAP-Response", "string", 50),
  2: t("MS-CHAP-Error", "text"),
  3: t("MS-CHAP-CPW-1", "secret"),
  4: t("MS-CHAP-CPW-2", "secret"),
  5: t("MS-CHAP-LM-Enc-PW", "secret"),
  6: t("MS-CHAP-NT-Enc-PW", "secret"),
  7: t("MS-MPPE-Encryption-Policy", "integer", 4),
  8: t("MS-MPPE-Encryption-Types", "integer", 4),
  9: t("MS-RAS-Vendor", "integer", 4),
  10: t("MS-CHAP-Domain", "text"),
  11: t("MS-CHAP-Challenge", "string"),
  12: t("MS-CHAP-MPPE-Keys", "secret"),
  16: t("MS-MPPE-Send-Key", "secret"),
  17: t("MS-MPPE-Recv-Key", "secret"),
  25: t("MS-CHAP2-Response", "string", 50),
  26: t("MS-CHAP2-Success", "text"),
  27: t("MS-CHAP2-CPW", "secret"),
  28: t("MS-Primary-DNS-Server", "ipaddr", 4),
  29: t("MS-Secondary-DNS-Server", "ipaddr", 4),
};

export function attributeSpec(type: number): AttributeSpec | undefined {
  return STANDARD[type];
}

export function vendorAttributeSpec(vendorId: number, type: number): AttributeSpec | undefined {
  return vendorId === VENDOR_MICROSOFT ? MICROSOFT[type] : undefined;
}

/** One vendor sub-attribute in the RFC 2865 §5.26 suggested format: Vendor-Type(1) Vendor-Length(1) Data. */
export interface VendorAttribute {
  readonly vendorId: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * Split a Vendor-Specific value into its sub-attributes. Returns undefined when the value does not follow the
 * suggested format (a vendor may use its own); never throws.
 */
export function decodeVendorSpecific(value: Uint8Array): VendorAttribute[] | undefined {
  if (value.length < 4) return undefined;
  const vendorId = u32(value, 0);
  const out: VendorAttribute[] = [];
  let off = 4;
  while (off < value.length) {
    if (off + 2 > value.length) return undefined;
    const len = value[off + 1];
    if (len < 2 || off + len > value.length) return undefined;
    const type = value[off];
    const spec = vendorAttributeSpec(vendorId, type);
    if (spec?.size !== undefined && len - 2 !== spec.size) return undefined;
    out.push({ vendorId, type, value: value.subarray(off + 2, off + len) });
    off += len;
  }
  return out;
}

function formatValue(spec: AttributeSpec | undefined, v: Uint8Array): string {
  if (spec === undefined) return `0x${toHex(v)}`;
  switch (spec.type) {
    case "secret":
      return `<${v.length} octets hidden>`;
    case "text":
      return JSON.stringify(fromUtf8(v));
    case "integer":
    case "date":
      return v.length === 4 ? String(u32(v, 0)) : `0x${toHex(v)}`;
    case "ipaddr":
      return v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : `0x${toHex(v)}`;
    case "tagged-integer":
      return v.length === 4 ? `${(v[1] << 16) | (v[2] << 8) | v[3]} (tag ${v[0]})` : `0x${toHex(v)}`;
    case "tagged-text":
      return v.length > 0 && v[0] <= 0x1f ? `${JSON.stringify(fromUtf8(v.subarray(1)))} (tag ${v[0]})` : JSON.stringify(fromUtf8(v));
    case "string":
    case "vsa":
      return `0x${toHex(v)}`;
  }
}

/** `Name = value` for logs and test failures; secrets show only their length. */
export function formatAttribute(type: number, value: Uint8Array): string {
  const spec = attributeSpec(type);
  if (type === Attr.VendorSpecific) {
    const subs = decodeVendorSpecific(value);
    if (subs !== undefined && subs.length > 0) {
      return subs
        .map((s) => {
          const vs = vendorAttributeSpec(s.vendorId, s.type);
          return `${vs?.name ?? `Vendor-${s.vendorId}-Attr-${s.type}`} = ${formatValue(vs, s.value)}`;
        })
        .join(", ");
    }
  }
  return `${spec?.name ?? `Attr-${type}`} = ${formatValue(spec, value)}`;
}
