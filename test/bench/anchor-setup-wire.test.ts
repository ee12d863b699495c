import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readWirePackets, setupsFromPcap, type SetupWire } from "../../bench/anchor/setup-wire.js";
import { buildAnchorFigures, parseSide } from "../../bench/anchor/figures.js";
import { formatFigure } from "../../bench/load/report.js";

const CLIENT = [10, 98, 0, 2];
const SERVER = [10, 99, 0, 2];

/** A classic little-endian µs pcap, Ethernet, of the given IPv4 packets (time s, payload after the IP header). */
function pcap(pkts: Array<{ t: number; from: "c" | "s"; proto: 6 | 47; l4: number[] }>): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number): void => void parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  u32(0xa1b2c3d4);
  parts.push(2, 0, 4, 0);
  u32(0);
  u32(0);
  u32(256);
  u32(1);
  for (const p of pkts) {
    const [src, dst] = p.from === "c" ? [CLIENT, SERVER] : [SERVER, CLIENT];
    const ipLen = 20 + p.l4.length;
    const ip = [0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0x40, 0, 64, p.proto, 0, 0, ...src, ...dst];
    const frame = [...Array(12).fill(0), 0x08, 0x00, ...ip, ...p.l4];
    u32(Math.floor(p.t));
    u32(Math.round((p.t - Math.floor(p.t)) * 1e6));
    u32(frame.length);
    u32(frame.length);
    parts.push(...frame);
  }
  return Uint8Array.from(parts);
}

/** A TCP segment to/from 1723 carrying one PPTP control message of the given type (RFC 2637 §2). */
function pptp(from: "c" | "s", type: number): number[] {
  const [sp, dp] = from === "c" ? [40000, 1723] : [1723, 40000];
  const tcp = [sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x18, 0, 0, 0, 0, 0, 0];
  return [...tcp, 0, 16, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d, type >> 8, type & 0xff, 0, 0, 0, 0, 0, 0];
}

/** An enhanced GRE packet (S set, A clear) with FF 03 and a PPP control packet of the given protocol and Code. */
function gre(protocol: number, code: number, ff03 = true): number[] {
  const ppp = [...(ff03 ? [0xff, 0x03] : []), protocol >> 8, protocol & 0xff, code, 1, 0, 4];
  return [0x30, 0x01, 0x88, 0x0b, 0, ppp.length, 0, 7, 0, 0, 0, 1, ...ppp];
}

const T = 1000;
/** One setup: times in ms after the SCCRQ; the IPCP needs two rounds on the client's side. */
function setup(t0: number, serverDelay: number): Array<{ t: number; from: "c" | "s"; proto: 6 | 47; l4: number[] }> {
  const at = (ms: number): number => t0 + ms / 1000;
  return [
    { t: at(0), from: "c", proto: 6, l4: pptp("c", 1) },
    { t: at(10 + serverDelay), from: "s", proto: 6, l4: pptp("s", 2) },
    { t: at(1000), from: "c", proto: 6, l4: pptp("c", 7) },
    { t: at(1010 + serverDelay), from: "s", proto: 6, l4: pptp("s", 8) },
    { t: at(1020), from: "c", proto: 47, l4: gre(0xc021, 1) },
    { t: at(1030), from: "s", proto: 47, l4: gre(0xc021, 1) },
    { t: at(1040), from: "c", proto: 47, l4: gre(0xc021, 2) },
    { t: at(1050), from: "s", proto: 47, l4: gre(0xc021, 2) },
    { t: at(1060), from: "s", proto: 47, l4: gre(0xc223, 1) },
    { t: at(1070), from: "c", proto: 47, l4: gre(0xc223, 2) },
    { t: at(1100 + serverDelay), from: "s", proto: 47, l4: gre(0xc223, 3) },
    { t: at(1110), from: "c", proto: 47, l4: gre(0x80fd, 1, false) },
    { t: at(1120), from: "s", proto: 47, l4: gre(0x80fd, 1) },
    { t: at(1130), from: "s", proto: 47, l4: gre(0x80fd, 2) },
    { t: at(1140), from: "c", proto: 47, l4: gre(0x80fd, 2) },
    { t: at(1150), from: "c", proto: 47, l4: gre(0x8021, 1) },
    { t: at(1160), from: "s", proto: 47, l4: gre(0x8021, 1) },
    { t: at(1170), from: "s", proto: 47, l4: gre(0x8021, 3) },
    { t: at(1180), from: "c", proto: 47, l4: gre(0x8021, 2) },
    { t: at(1190), from: "c", proto: 47, l4: gre(0x8021, 1) },
    { t: at(1200), from: "s", proto: 47, l4: gre(0x8021, 2) },
    // after IPCP up: LCP Terminate (not part of the setup)
    { t: at(3000), from: "c", proto: 47, l4: gre(0xc021, 5) },
  ];
}

describe("bench anchor: setups on the wire (guest-setup.pcap)", () => {
  test("cuts the capture at each SCCRQ and times SCCRQ → IPCP up, split by who was awaited", () => {
    const buf = pcap([...setup(T, 500), ...setup(T + 10, 0)]);
    assert.equal(readWirePackets(buf).length, 44);
    const s = setupsFromPcap(buf);
    assert.equal(s.length, 2);
    const [a, b] = s;
    // first setup: the server took 500 ms more at SCCRP, OCRP and the CHAP Success
    assert.ok(Math.abs((a.totalMs ?? 0) - 1200) < 0.01, String(a.totalMs));
    assert.ok(Math.abs(a.serverMs - (b.serverMs + 1500)) < 0.01, `${a.serverMs} ${b.serverMs}`);
    assert.ok(Math.abs(a.serverMs + a.clientMs - 1200) < 0.01);
    assert.equal(a.ipcp, "c1 s1 s3 c2 c1 s2");
    const m = a.marks;
    assert.deepEqual(
      Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v as number)])),
      { sccrp: 510, ocrq: 1000, ocrp: 1510, lcpUp: 1050, authOk: 1600, ccpUp: 1140, ipcpUp: 1200 },
    );
  });

  test("a setup whose IPCP never came up has no total; garbage is not a capture", () => {
    const cut = setup(T, 0).slice(0, 18);
    const [s] = setupsFromPcap(pcap(cut));
    assert.equal(s.totalMs, undefined);
    assert.deepEqual(setupsFromPcap(Uint8Array.from([1, 2, 3])), []);
    assert.deepEqual(setupsFromPcap(new Uint8Array(100).fill(0xa1)), []);
    // a truncated record ends the reading without throwing
    const full = pcap(setup(T, 0));
    assert.equal(setupsFromPcap(full.subarray(0, full.length - 5)).length, 1);
  });

  test("anchor.setup_ms (first) and anchor.setup_warm_ms (median of the rest), each against pptpd's", () => {
    const w = (totalMs: number, serverMs: number): SetupWire => ({ index: 0, start: 0, totalMs, serverMs, clientMs: totalMs - serverMs, marks: {}, ipcp: "c1 s3 c1 s2" });
    const pptpd = { ...parseSide([]), wire: [w(1600, 600), w(1500, 450), w(1400, 350), w(1450, 400)] };
    const ours = { ...parseSide([]), wire: [w(3200, 2000), w(2000, 700), w(1500, 380), w(1450, 360)] };
    const lines = buildAnchorFigures(pptpd, ours).map(formatFigure);
    const byName = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")), l]));
    assert.match(byName.get("anchor.pptpd.setup_ms") ?? "", /^anchor\.pptpd\.setup_ms: 1600 ms \(first setup after the server started/);
    assert.match(byName.get("anchor.setup_ms") ?? "", /^anchor\.setup_ms: 3200 ms \(ratio 2\.000 to pptpd 1600 ms; goal ≤ 1\.0 × pptpd; first setup/);
    assert.match(byName.get("anchor.setup_warm_ms") ?? "", /^anchor\.setup_warm_ms: 1500 ms \(ratio 1\.034 to pptpd 1450 ms; goal ≤ 1\.0 × pptpd; median of setups 2-4: 2000, 1500, 1450 ms/);
    assert.match(byName.get("anchor.setup_server_ms") ?? "", /^anchor\.setup_server_ms: 2000 ms \(ratio 3\.333 to pptpd 600 ms;/);
    assert.match(byName.get("anchor.setup_warm_server_ms") ?? "", /^anchor\.setup_warm_server_ms: 380 ms \(ratio 0\.950 to pptpd 400 ms;/);
  });
});
