/** PPP protocol numbers (IANA "PPP DLL Protocol Numbers"; RFC 1661 §2, RFC 1332, RFC 1962, RFC 1334, RFC 1994). */
export const PPP_IP = 0x0021;
export const PPP_IPV6 = 0x0057;
/** MPPE/MPPC compressed-or-encrypted datagram (RFC 1962 §2: "Compressed datagram"). */
export const PPP_COMP = 0x00fd;
export const PPP_IPCP = 0x8021;
export const PPP_IPV6CP = 0x8057;
export const PPP_CCP = 0x80fd;
export const PPP_LCP = 0xc021;
export const PPP_PAP = 0xc023;
export const PPP_CHAP = 0xc223;

/** The authentication methods we negotiate in the LCP Authentication-Protocol option (RFC 1661 §6.2, RFC 1994 §3, RFC 2433, RFC 2759). */
export type AuthMethod = "pap" | "chap-md5" | "mschap-v1" | "mschap-v2";

/** The names operators know from Windows' and pppd's settings, for every log line and message. */
export function authMethodLabel(m: AuthMethod): string {
  switch (m) {
    case "pap":
      return "PAP";
    case "chap-md5":
      return "CHAP-MD5";
    case "mschap-v1":
      return "MS-CHAPv1";
    case "mschap-v2":
      return "MS-CHAPv2";
  }
}

/** CHAP algorithm octet carried after 0xC223 in the Authentication-Protocol option. */
export const CHAP_MD5 = 0x05;
export const CHAP_MSCHAP_V1 = 0x80;
export const CHAP_MSCHAP_V2 = 0x81;

export function protocolName(p: number): string {
  switch (p) {
    case PPP_IP: return "IP";
    case PPP_IPV6: return "IPv6";
    case PPP_COMP: return "CompressedDatagram";
    case PPP_IPCP: return "IPCP";
    case PPP_IPV6CP: return "IPV6CP";
    case PPP_CCP: return "CCP";
    case PPP_LCP: return "LCP";
    case PPP_PAP: return "PAP";
    case PPP_CHAP: return "CHAP";
    default: return "0x" + p.toString(16).padStart(4, "0");
  }
}
