/**
 * Peer MRU on the data path, both roles, through the networked drivers (PptpServer, PptpClient) over loopback
 * TCP with in-memory GRE and TUN: a side whose peer negotiated an MRU below the datagrams routed to it never
 * puts a longer frame on the wire. A datagram with DF clear arrives in fragments that reassemble to it; one with
 * DF set is answered with ICMP "fragmentation needed" carrying the peer's MRU less MPPE's 4 octets, written into
 * the sender's TUN, and nothing reaches the far side.
 */
import { udpDatagram } from "../support/ip-datagram.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PptpServer } from "../../src/server/server.js";
import { AddressPool } from "../../src/server/pool.js";
import { PptpClient } from "../../src/client/client.js";
import type { LogCategory } from "../../src/session/connection.js";
import { LocalUsers } from "../../src/aaa/local.js";
import { MemoryGreNetwork, MemoryTun } from "../../src/io/memory.js";
import { GreDemux } from "../../src/io/gre-demux.js";
import type { RouteInfo, SystemNetwork } from "../../src/io/system-net.js";
import { GreHeader, parseGreHeader } from "../../src/wire/gre.js";
import { parsePppHeader } from "../../src/wire/ppp-frame.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import { internetChecksum } from "../../src/wire/ipv4-fragment.js";
import { unwrap } from "../../src/wire/result.js";
import { config, sleep, waitFor } from "./driver-support.js";



class NullNetwork implements SystemNetwork {
  async routeTo(dst: string): Promise<RouteInfo> {
    return { dev: "lo", src: dst };
  }
  async addRoute(): Promise<void> {}
  async deleteRoute(): Promise<void> {}
  async setLink(): Promise<void> {}
}

const quiet = (lines: string[]) => ({ enabled: (_c: LogCategory) => true, log: (c: LogCategory, m: string) => lines.push(`[${c}] ${m}`) });


/** Reassembles the fragments of datagram `id` among `packets` (RFC 791), or undefined if incomplete. */
function reassemble(packets: Uint8Array[], id: number): { datagram: Uint8Array; fragments: Uint8Array[] } | undefined {
  const frags = packets.filter((p) => p[0] >> 4 === 4 && ((p[4] << 8) | p[5]) === id);
  if (frags.length === 0) return undefined;
  let total = -1;
  const parts: Array<[number, Uint8Array]> = [];
  for (const f of frags) {
    const hl = (f[0] & 15) * 4;
    const fo = (f[6] << 8) | f[7];
    const off = (fo & 0x1fff) * 8;
    if (!(fo & 0x2000)) total = off + f.length - hl;
    parts.push([off, f.subarray(hl)]);
  }
  if (total < 0) return undefined;
  const data = new Uint8Array(total);
  let covered = 0;
  for (const [off, d] of parts) {
    data.set(d, off);
    covered += d.length;
  }
  if (covered !== total) return undefined;
  const out = new Uint8Array(20 + total);
  out.set(frags[0].subarray(0, 20));
  out.set(data, 20);
  return { datagram: out, fragments: frags };
}

interface Rig {
  server: PptpServer;
  serverTun: MemoryTun;
  clientTun: () => MemoryTun;
  client: PptpClient;
  /** What the client asked openTun for. */
  opened: Array<{ mtu: number; maxMtu: number }>;
  /** Largest PPP Information field seen on the wire, per direction. */
  maxInfo: { toClient: number; toServer: number };
  lines: string[];
  stop(): Promise<void>;
}

/** Our server and our client over loopback TCP and memory GRE/TUN; `serverExtra` / `peerExtra` set the MRUs. */
async function rig(serverExtra: string, peerExtra: string): Promise<Rig> {
  const grenet = new MemoryGreNetwork();
  const serverTun = new MemoryTun("pptp0", 1400);
  const lines: string[] = [];
  const s = config(`[server]\nlisten = 127.0.0.1\nport = 0\n[ppp]\n${serverExtra}\n[mppe]\nstrengths = 128\n`);
  const server = new PptpServer({
    settings: s,
    auth: new LocalUsers([{ user: "alice", password: "pw1" }]),
    pool: new AddressPool(s.ppp.pool),
    gre: grenet.attach("127.0.0.1"),
    tun: serverTun,
    log: quiet(lines),
  });
  const a = await server.listen();
  const maxInfo = { toClient: 0, toServer: 0 };
  const h = new GreHeader();
  const serverIp = unwrap(parseIpv4("127.0.0.1"));
  grenet.dropIf = (src, _dst, bytes) => {
    const g = parseGreHeader(bytes, 0, bytes.length, h);
    if (g.ok && h.payloadLength > 0) {
      const ppp = unwrap(parsePppHeader(bytes, h.payloadOffset, h.payloadLength));
      const info = h.payloadLength - ppp.headerLen;
      if (src === serverIp) maxInfo.toClient = Math.max(maxInfo.toClient, info);
      else maxInfo.toServer = Math.max(maxInfo.toServer, info);
    }
    return false;
  };
  const cfg = config(`[server]\nenable = no\n[peer hq]\nrole = client\nremote = 127.0.0.1\nport = ${a.port}\nuser = alice\npassword = pw1\n${peerExtra}`);
  let tun: MemoryTun | undefined;
  const opened: Array<{ mtu: number; maxMtu: number }> = [];
  const demux = new GreDemux(grenet.attach("127.0.0.2"), () => performance.now());
  const client = new PptpClient({
    peer: cfg.peers[0],
    gre: demux,
    // slots wider than the MTU: the test plays an operator who raised it after the link came up
    openTun: (t) => {
      opened.push({ mtu: t.mtu, maxMtu: t.maxMtu });
      return (tun = new MemoryTun(t.name, t.mtu, { slotSize: 2048 }));
    },
    net: new NullNetwork(),
    log: quiet(lines),
    bindAddress: "127.0.0.2",
  });
  const iv = setInterval(() => {
    grenet.settle();
    serverTun.deliver();
    tun?.deliver();
  }, 2);
  await client.start();
  await waitFor(() => client.state === "up", `client up\n${lines.join("\n")}`);
  return {
    server,
    serverTun,
    clientTun: () => tun!,
    client,
    opened,
    maxInfo,
    lines,
    async stop() {
      await client.stop("test over");
      demux.close();
      await server.close("test over");
      clearInterval(iv);
    },
  };
}

/** The ICMP "fragmentation needed" messages among `packets`: [next-hop MTU, quoted datagram id, to, from]. */
function fragNeeded(packets: Uint8Array[]): Array<{ mtu: number; id: number; to: string; from: string }> {
  const dotted = (p: Uint8Array, i: number) => `${p[i]}.${p[i + 1]}.${p[i + 2]}.${p[i + 3]}`;
  return packets
    .filter((p) => p[9] === 1 && p[20] === 3 && p[21] === 4)
    .map((p) => {
      assert.equal(internetChecksum(p, 0, 20), 0, "ICMP's IP header checksum");
      assert.equal(internetChecksum(p, 20, p.length - 20), 0, "ICMP checksum");
      return { mtu: (p[26] << 8) | p[27], id: (p[32] << 8) | p[33], to: dotted(p, 16), from: dotted(p, 12) };
    });
}

describe("peer MRU on the data path (PptpServer / PptpClient, memory GRE and TUN)", () => {
  test("server role: the client negotiated MRU 1200 — 1300 octets with DF clear arrive fragmented, with DF set the sender gets ICMP mtu 1196", async () => {
    const r = await rig("", "mru = 1200");
    try {
      assert.match(r.lines.join("\n"), /session up: .*peer MRU 1200 \(datagrams up to 1196 octets\)/);
      const clientAddr = r.client.snapshot().localAddress!;
      // DF clear: fragmented by us, reassembled at the client's TUN exactly
      const big = udpDatagram(1300, "10.0.0.9", clientAddr, 0x1111, false);
      r.serverTun.inject(big);
      await waitFor(() => reassemble(r.clientTun().written, 0x1111) !== undefined, "fragments at the client");
      const got = reassemble(r.clientTun().written, 0x1111)!;
      assert.equal(got.fragments.length, 2);
      assert.ok(got.fragments.every((f) => f.length <= 1196), `fragment sizes ${got.fragments.map((f) => f.length)}`);
      assert.deepEqual(got.datagram.subarray(20), big.subarray(20));
      // DF set: nothing goes to the client; the sender is told the next-hop MTU through our TUN
      const df = udpDatagram(1300, "10.0.0.9", clientAddr, 0x2222, true);
      r.serverTun.inject(df);
      await waitFor(() => fragNeeded(r.serverTun.written).length > 0, "ICMP frag-needed into the server's TUN");
      assert.deepEqual(fragNeeded(r.serverTun.written), [{ mtu: 1196, id: 0x2222, to: "10.0.0.9", from: clientAddr }]);
      // a datagram that fits goes through whole
      const fits = udpDatagram(1196, "10.0.0.9", clientAddr, 0x3333, true);
      r.serverTun.inject(fits);
      await waitFor(() => r.clientTun().written.some((p) => p.length === 1196), "1196 octets whole");
      await sleep(50);
      assert.equal(r.clientTun().written.filter((p) => ((p[4] << 8) | p[5]) === 0x2222).length, 0, "the DF datagram never reached the client");
      assert.ok(r.maxInfo.toClient <= 1200, `largest frame to the client: Information field ${r.maxInfo.toClient} > MRU 1200`);
      assert.equal(r.maxInfo.toClient, 1200, "and the MRU is used to the full");
    } finally {
      await r.stop();
    }
  });

  test("client role: the server negotiated MRU 1200 — TUN MTU 1196; larger datagrams fragmented or answered with ICMP", async () => {
    const r = await rig("mru = 1200", "");
    try {
      const st = r.client.snapshot();
      assert.equal(st.mtu, 1196, "TUN MTU: the server's MRU less MPPE's 4 octets");
      // the device outlives the session: its receive buffers fit the configured MTU a later session may set
      assert.deepEqual(r.opened, [{ mtu: 1196, maxMtu: 1400 }]);
      // What still comes larger (a queued on-demand packet, an MTU an operator raised) must not leave as one frame.
      const big = udpDatagram(1300, st.localAddress!, "10.0.0.9", 0x4444, false);
      r.clientTun().inject(big);
      await waitFor(() => reassemble(r.serverTun.written, 0x4444) !== undefined, "fragments at the server");
      const got = reassemble(r.serverTun.written, 0x4444)!;
      assert.ok(got.fragments.every((f) => f.length <= 1196));
      assert.deepEqual(got.datagram.subarray(20), big.subarray(20));
      const df = udpDatagram(1300, st.localAddress!, "10.0.0.9", 0x5555, true);
      r.clientTun().inject(df);
      await waitFor(() => fragNeeded(r.clientTun().written).length > 0, "ICMP frag-needed into the client's TUN");
      assert.deepEqual(fragNeeded(r.clientTun().written), [{ mtu: 1196, id: 0x5555, to: st.localAddress!, from: "10.0.0.9" }]);
      await sleep(50);
      assert.equal(r.serverTun.written.filter((p) => ((p[4] << 8) | p[5]) === 0x5555).length, 0);
      assert.ok(r.maxInfo.toServer <= 1200, `largest frame to the server: Information field ${r.maxInfo.toServer}`);
    } finally {
      await r.stop();
    }
  });

  test("a flood of oversized DF datagrams gets a rate-limited answer, and the session keeps working", async () => {
    const r = await rig("", "mru = 1200");
    try {
      const clientAddr = r.client.snapshot().localAddress!;
      for (let i = 0; i < 200; i++) r.serverTun.inject(udpDatagram(1300, "10.0.0.9", clientAddr, 0x6000 + i, true));
      await waitFor(() => r.serverTun.pending === 0, "flood delivered");
      await sleep(30);
      const n = fragNeeded(r.serverTun.written).length;
      assert.ok(n >= 1 && n < 50, `${n} ICMP messages for 200 datagrams`);
      const ok = udpDatagram(500, "10.0.0.9", clientAddr, 0x7000, true);
      r.serverTun.inject(ok);
      await waitFor(() => r.clientTun().written.some((p) => ((p[4] << 8) | p[5]) === 0x7000), "traffic still flows");
    } finally {
      await r.stop();
    }
  });
});
