/**
 * The pcap writer: the file and record headers octet for octet (libpcap's format, microsecond magic, little-endian),
 * LINKTYPE_PPP_WITH_DIR records, and tshark reading a file written with them (fields ip.src, ip.dst, icmp.type, the
 * direction and an LCP packet).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  LINKTYPE_PPP_WITH_DIR,
  PCAP_DIR_RECEIVED,
  PCAP_DIR_SENT,
  pcapFileHeader,
  pppRecord,
  pppRecordLength,
  writePcapRecordHeader,
} from "../../src/wire/pcap.js";
import { PPP_IP, PPP_LCP } from "../../src/wire/ppp-protocols.js";
import { internetChecksum } from "../../src/wire/ipv4-fragment.js";
import { requireOrSkip, tsharkMissing } from "../support/prerequisites.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** An ICMP echo request (8) or reply (0) in IPv4, checksums right. */
function icmpEcho(type: 0 | 8, src: string, dst: string, seq: number): Uint8Array {
  const p = new Uint8Array(20 + 8 + 4);
  p.set([0x45, 0, 0, p.length, 0, seq, 0, 0, 64, 1], 0);
  p.set(src.split(".").map(Number), 12);
  p.set(dst.split(".").map(Number), 16);
  let c = internetChecksum(p, 0, 20);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p.set([type, 0, 0, 0, 0x12, 0x34, 0, seq, 0xde, 0xad, 0xbe, 0xef], 20);
  c = internetChecksum(p, 20, 12);
  p[22] = c >> 8;
  p[23] = c & 0xff;
  return p;
}

describe("pcap writer", () => {
  test("file header: magic a1b2c3d4 (LE), version 2.4, zone 0, sigfigs 0, snaplen, link type 204", () => {
    assert.equal(hex(pcapFileHeader(LINKTYPE_PPP_WITH_DIR)), "d4c3b2a1" + "0200" + "0400" + "00000000" + "00000000" + "ffff0000" + "cc000000");
    assert.equal(hex(pcapFileHeader(101, 1500)), "d4c3b2a1020004000000000000000000dc05000065000000");
  });

  test("record header: seconds and microseconds of the millisecond time, captured and original length", () => {
    const b = new Uint8Array(20).fill(0xee);
    writePcapRecordHeader(b, 2, 1_700_000_000_123.456, 35, 40);
    // 1700000000 = 0x6553f100, 123456 µs = 0x0001e240
    assert.equal(hex(b), "eeee" + "00f15365" + "40e20100" + "23000000" + "28000000" + "eeee");
    // 999.9996 ms rounds to a whole second: never 1000000 µs
    writePcapRecordHeader(b, 0, 999.9996, 1, 1);
    assert.equal(hex(b.subarray(0, 8)), "01000000" + "00000000");
  });

  test("a LINKTYPE_PPP_WITH_DIR record: header, direction octet, two-octet protocol, the packet", () => {
    const r = pppRecord(2_000.5, PCAP_DIR_SENT, PPP_LCP, new Uint8Array([9, 9, 0x09, 0x01, 0x00, 0x08, 1, 2, 3, 4, 9]), 2, 8);
    assert.equal(r.length, pppRecordLength(8));
    assert.equal(hex(r), "02000000" + "f4010000" + "0b000000" + "0b000000" + "01" + "c021" + "0901000801020304");
    assert.equal(pppRecord(0, PCAP_DIR_RECEIVED, PPP_IP, new Uint8Array([0x45]), 0, 1)[16], 0);
  });

  const skip = requireOrSkip("tshark", tsharkMissing());
  test("tshark reads a written file: the echo request and reply with their addresses, directions, and an LCP Echo-Request", { skip }, () => {
    const t0 = 1_765_000_000_000;
    const file = join(mkdtempSync(join(tmpdir(), "pptpts-pcap-")), "t.pcap");
    const lcp = new Uint8Array([0x09, 0x07, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44]);
    const req = icmpEcho(8, "192.168.50.10", "10.0.0.1", 1);
    const rep = icmpEcho(0, "10.0.0.1", "192.168.50.10", 1);
    const parts = [
      pcapFileHeader(LINKTYPE_PPP_WITH_DIR),
      pppRecord(t0, PCAP_DIR_RECEIVED, PPP_IP, req, 0, req.length),
      pppRecord(t0 + 1.25, PCAP_DIR_SENT, PPP_IP, rep, 0, rep.length),
      pppRecord(t0 + 500, PCAP_DIR_SENT, PPP_LCP, lcp, 0, lcp.length),
    ];
    writeFileSync(file, Buffer.concat(parts));
    const out = execFileSync("tshark", ["-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.p2p_dir", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type", "-e", "frame.time_epoch", "-e", "_ws.col.Info"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const lines = out.trim().split("\n");
    assert.equal(lines.length, 3, out);
    // tshark's p2p direction: 1 received, 0 sent
    assert.match(lines[0], /^1\|192\.168\.50\.10\|10\.0\.0\.1\|8\|1765000000\.000000000\|Echo \(ping\) request/);
    assert.match(lines[1], /^0\|10\.0\.0\.1\|192\.168\.50\.10\|0\|1765000000\.001250000\|Echo \(ping\) reply/);
    assert.match(lines[2], /^0\|\|\|\|1765000000\.500000000\|Echo Request/);
    // and nothing in it is malformed for tshark (checksums right, lengths right)
    const expert = execFileSync("tshark", ["-r", file, "-Y", "_ws.malformed || _ws.expert.severity >= warning"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    assert.equal(expert.trim(), "");
  });
});
