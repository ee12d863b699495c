/**
 * Bytes captured from real PPTP sessions, copied from the Cisco PPTP FAQs (IOS "debug vpdn" and
 * PIX 6.x "debug pptp" output with Windows NT / Windows 9x clients). The PIX prints only the
 * first 22 octets of a control message ("009c00011a2b3c4d...") and the first 16-22 of a GRE packet;
 * where it did, the rest is rebuilt from the RFC 2637 layout using the values the same debug output
 * printed next to it, and tests assert only what the capture shows (plus round trips).
 */
import { fromHex } from "../../src/wire/bytes.js";

/** Test-only deterministic PRNG (xorshift32): the one in test/support/random.ts. */
export { seededInts as prng } from "../support/random.js";

function zeros(n: number): string {
  return "00".repeat(n);
}

/** ASCII into a NUL-padded fixed field, as hex. */
function field(text: string, width: number): string {
  let h = "";
  for (let i = 0; i < text.length; i++) h += text.charCodeAt(i).toString(16).padStart(2, "0");
  return h + zeros(width - text.length);
}

// --- Start-Control-Connection-Request from Windows NT (PIX "Tnl 9"): printed
//     protocol version 0x100, framing caps 0x1, bearer caps 0x1, max channels 0, firmware rev 0x870,
//     hostname "", vendor "Microsoft Windows NT".
export const SEED_SCCRQ_WINDOWS_PREFIX = "009c00011a2b3c4d0001000001000000000000010000";
export const SEED_SCCRQ_WINDOWS = fromHex(
  SEED_SCCRQ_WINDOWS_PREFIX + "0001" + "0000" + "0870" + field("", 64) + field("Microsoft Windows NT", 64),
);

// --- SCCRQ from a Windows 9x client (PIX "Tnl 42"): same first 22 octets; firmware rev 0x0,
//     hostname "local", vendor "9x".
export const SEED_SCCRQ_9X = fromHex(
  SEED_SCCRQ_WINDOWS_PREFIX + "0001" + "0000" + "0000" + field("local", 64) + field("9x", 64),
);

// --- Start-Control-Connection-Reply the PIX sent (len=156): version 0x100, result 1, error 0,
//     framing capabilities 3; the bearer capabilities are cut after "0000".
export const SEED_SCCRP_PREFIX = "009c00011a2b3c4d0002000001000100000000030000";
export const SEED_SCCRP = fromHex(SEED_SCCRP_PREFIX + "0001" + "0001" + "0000" + field("", 64) + field("", 64));

// --- Outgoing-Call-Request from Windows NT (168 bytes): call id 0x4000, serial num 58613,
//     min bps 300, max bps 100000000 (0x5f5e100), bearer type 3, framing type 3, recv win size 64,
//     ppd 0, phone num len 0, phone num "".
export const SEED_OCRQ_WINDOWS_PREFIX = "00a800011a2b3c4d000700004000e4f50000012c05f5";
export const SEED_OCRQ_WINDOWS = fromHex(
  SEED_OCRQ_WINDOWS_PREFIX + "e100" + "00000003" + "00000003" + "0040" + "0000" + "0000" + "0000" + zeros(64) + zeros(64),
);

// --- OCRQ from Windows 9x: call id 0x0, serial num 0, min bps 56000 (0xdac0), max bps 64000
//     (0xfa00), bearer 3, framing 3, recv win size 16, ppd 0, phone num len 0.
export const SEED_OCRQ_9X_PREFIX = "00a800011a2b3c4d00070000000000000000dac00000";
export const SEED_OCRQ_9X = fromHex(
  SEED_OCRQ_9X_PREFIX + "fa00" + "00000003" + "00000003" + "0010" + "0000" + "0000" + "0000" + zeros(64) + zeros(64),
);

// --- Outgoing-Call-Reply the PIX sent (Len=32): call id 9, peer's call id 0x4000, result 1, error 0,
//     cause 0; the connect speed is cut after "00fa".
export const SEED_OCRP_WINDOWS_PREFIX = "002000011a2b3c4d00080000000940000100000000fa";
export const SEED_OCRP_WINDOWS = fromHex(SEED_OCRP_WINDOWS_PREFIX + "0000" + "0040" + "0000" + "00000000");
// Same for the 9x session: call id 42, peer's call id 0.
export const SEED_OCRP_9X_PREFIX = "002000011a2b3c4d00080000002a00000100000000fa";
export const SEED_OCRP_9X = fromHex(SEED_OCRP_9X_PREFIX + "0000" + "0010" + "0000" + "00000000");

// --- Set-Link-Info from Windows (24 bytes) for PIX call id 9: first with the default ACCM
//     0xffffffff, later (after LCP) with ACCM 0.
export const SEED_SLI_FFFF_PREFIX = "001800011a2b3c4d000f000000090000ffffffffffff";
export const SEED_SLI_FFFF = fromHex(SEED_SLI_FFFF_PREFIX + "ffff");
export const SEED_SLI_ZERO_PREFIX = "001800011a2b3c4d000f000000090000000000000000";
export const SEED_SLI_ZERO = fromHex(SEED_SLI_ZERO_PREFIX + "0000");

// --- Call-Clear-Request a Windows client sent to IOS ("Tnl 17 PPTP: CC I ... ClearRQ"), complete.
export const SEED_CCRQ_HEX = "001000011A2B3C4D000C000000000000";
export const SEED_CCRQ = fromHex(SEED_CCRQ_HEX);

/**
 * GRE packets the PIX sent ("Sending xGRE pak to <peer>, Len <n>, seq <s>, ack <a>, data: <hex>").
 * `hex` is what was printed (header + the start of the PPP payload); `len` the total length.
 * The 99.99.99.5 lines also appear in the Japanese copy with the leading zero of single-digit
 * octets dropped ("...000000500000004c223..."); the intact English copies are used here.
 */
export interface SeedGre {
  readonly len: number;
  readonly seq: number;
  readonly ack: number;
  readonly hex: string;
}

export const SEED_GRE_SENT: readonly SeedGre[] = [
  // to 10.44.17.104, Windows NT, peer call id 0x4000
  { len: 39, seq: 1, ack: 0, hex: "3081880b001740000000000100000000ff03c0210101" },
  { len: 54, seq: 2, ack: 0, hex: "3081880b002640000000000200000000ff03c0210400" },
  { len: 34, seq: 3, ack: 2, hex: "3081880b001240000000000300000002ff03c0210201" },
  { len: 31, seq: 4, ack: 2, hex: "3081880b000f40000000000400000002c2230101000d" },
  { len: 22, seq: 5, ack: 5, hex: "3081880b000640000000000500000005c22303010004" },
  { len: 22, seq: 6, ack: 6, hex: "3081880b000640000000000600000006c22303010004" },
  { len: 28, seq: 7, ack: 7, hex: "3081880b000c4000000000070000000780fd0101000a" },
  { len: 28, seq: 8, ack: 7, hex: "3081880b000c4000000000080000000780fd0304000a" },
  { len: 28, seq: 9, ack: 8, hex: "3081880b000c4000000000090000000880210101000a" },
  { len: 46, seq: 10, ack: 8, hex: "3081880b001e40000000000a0000000880210405001c" },
  { len: 28, seq: 11, ack: 10, hex: "3081880b000c40000000000b0000000a80fd0206000a" },
  { len: 28, seq: 12, ack: 12, hex: "3081880b000c40000000000c0000000c80210307000a" },
  { len: 28, seq: 13, ack: 13, hex: "3081880b000c40000000000d0000000d80210308000a" },
  { len: 28, seq: 14, ack: 14, hex: "3081880b000c40000000000e0000000e80210209000a" },
  // to 99.99.99.5, Windows 9x, peer call id 0
  { len: 39, seq: 1, ack: 1, hex: "3081880b001700000000000100000001ff03c0210101" },
  { len: 33, seq: 2, ack: 1, hex: "3081880b001100000000000200000001ff03c0210401" },
  { len: 34, seq: 3, ack: 3, hex: "3081880b001200000000000300000003ff03c0210202" },
  { len: 31, seq: 4, ack: 3, hex: "3081880b000f00000000000400000003c2230101000d" },
  { len: 22, seq: 5, ack: 4, hex: "3081880b000600000000000500000004c22303010004" },
  { len: 28, seq: 6, ack: 5, hex: "3081880b000c0000000000060000000580210101000a" },
  { len: 52, seq: 7, ack: 5, hex: "3081880b002400000000000700000005802104010022" },
  { len: 22, seq: 8, ack: 6, hex: "3081880b00060000000000080000000680fd01010004" },
  { len: 33, seq: 9, ack: 6, hex: "3081880b00110000000000090000000680fd0401000f" },
  { len: 22, seq: 10, ack: 9, hex: "3081880b000600000000000a0000000980fd02020004" },
  { len: 22, seq: 11, ack: 10, hex: "3081880b000600000000000b0000000a80fd06030004" },
  { len: 46, seq: 12, ack: 11, hex: "3081880b001e00000000000c0000000b80210402001c" },
  { len: 28, seq: 13, ack: 12, hex: "3081880b000c00000000000d0000000c80210303000a" },
  { len: 28, seq: 14, ack: 13, hex: "3081880b000c00000000000e0000000d80210204000a" },
];

/** A seed GRE packet padded with zeros to its printed total length. */
export function seedGrePacket(s: SeedGre): Uint8Array {
  const shown = fromHex(s.hex);
  const p = new Uint8Array(Math.max(s.len, shown.length));
  p.set(shown, 0);
  return p;
}
