/**
 * The peer's MRU on the PPP link (RFC 1661 §6.1): what each end may send follows what the other asked for or
 * was talked down to, less MPPE's 4 octets (RFC 3078 §3), and PppLink.sendIp never builds a longer frame.
 * Unequal MRUs on the two sides, a peer that Naks our MRU down, and oversized datagrams refused.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PppLink, MPPE_OVERHEAD } from "../../src/ppp/link.js";
import { LocalUsers } from "../../src/aaa/local.js";
import { parsePppHeader } from "../../src/wire/ppp-frame.js";
import { unwrap } from "../../src/wire/result.js";
import { tunnelMtu } from "../../src/client/link-config.js";
import { fakeIpPacket } from "../support/random.js";
import { makePair, run, serverLinkConfig, clientLinkConfig, type Pair, type LinkOpts } from "./link-harness.js";

const users = new LocalUsers([{ user: "alice", password: "s3cret-pass" }]);

async function establish(o: LinkOpts & { serverMru?: number; clientMru?: number }, filter?: Pair["filter"]): Promise<Pair> {
  const s = serverLinkConfig(o);
  const c = clientLinkConfig(o);
  const pair = makePair(
    { ...s, lcp: { ...s.lcp, ...(o.serverMru !== undefined ? { mru: o.serverMru } : {}) } },
    { ...c, lcp: { ...c.lcp, ...(o.clientMru !== undefined ? { mru: o.clientMru } : {}) } },
  );
  if (filter) pair.filter = filter;
  await run(pair, users);
  assert.ok(pair.server.networkUp && pair.client.networkUp, "link up");
  return pair;
}

/** Sends a datagram of `size`; returns the PPP Information field length of the frame built, or 0 if refused. */
function infoLength(link: PppLink, size: number): number {
  const buf = new Uint8Array(4096);
  const pkt = fakeIpPacket(size, size & 0xff);
  const n = link.sendIp(pkt, 0, pkt.length, buf, 0);
  if (n === 0) return 0;
  return n - unwrap(parsePppHeader(buf, 0, n)).headerLen;
}

describe("peer MRU on the PPP link", () => {
  test("client asks for MRU 1200, server for 1400: each side's maxIpOut follows the other's MRU, less MPPE", async () => {
    const pair = await establish({ clientMru: 1200, serverMru: 1400 });
    assert.equal(pair.server.lcpInfo?.peerMru, 1200);
    assert.equal(pair.client.lcpInfo?.peerMru, 1400);
    assert.equal(pair.server.maxIpOut, 1200 - MPPE_OVERHEAD);
    assert.equal(pair.client.maxIpOut, 1400 - MPPE_OVERHEAD);
    assert.equal(MPPE_OVERHEAD, 4);
    // the largest datagram fills the MRU exactly: MPPE header 2 + encrypted protocol 2 + datagram
    assert.equal(infoLength(pair.server, 1196), 1200);
    assert.equal(infoLength(pair.client, 1396), 1400);
  });

  test("without MPPE the whole MRU carries the datagram", async () => {
    const pair = await establish({ clientMru: 1200, serverPolicy: "deny", clientPolicy: "deny" });
    assert.equal(pair.server.mppeInfo, undefined);
    assert.equal(pair.server.maxIpOut, 1200);
    assert.equal(infoLength(pair.server, 1200), 1200);
    assert.equal(infoLength(pair.server, 1201), 0);
  });

  test("a datagram over the peer's MRU is refused and counted, never framed; the next one that fits still goes", async () => {
    const pair = await establish({ clientMru: 1200 });
    const before = pair.server.stats.ipOut;
    for (const size of [1197, 1300, 1400, 3000]) assert.equal(infoLength(pair.server, size), 0, `size ${size}`);
    assert.equal(pair.server.stats.droppedTooBig, 4);
    assert.equal(pair.server.stats.ipOut, before);
    assert.equal(infoLength(pair.server, 1196), 1200);
    assert.equal(pair.server.stats.ipOut, before + 1);
  });

  test("the peer Naks our MRU down to 1200: we take it, its maxIpOut follows, and so does our TUN MTU", async () => {
    let naked = 0;
    // The server acks the client's MRU 1400 in the first round; this peer answers with a Nak suggesting 1200.
    const filter: Pair["filter"] = (from, f) => {
      const lcpAck = from === "server" && f[0] === 0xff && f[1] === 0x03 && f[2] === 0xc0 && f[3] === 0x21 && f[4] === 2;
      if (!lcpAck) return [f];
      for (let i = 8; i + 1 < f.length; i += Math.max(2, f[i + 1])) {
        if (f[i] === 1 && f[i + 1] === 4 && ((f[i + 2] << 8) | f[i + 3]) > 1200) {
          naked++;
          return [Uint8Array.of(0xff, 0x03, 0xc0, 0x21, 3, f[5], 0, 8, 1, 4, 1200 >> 8, 1200 & 0xff)];
        }
      }
      return [f];
    };
    const pair = await establish({ clientMru: 1400 }, filter);
    assert.equal(naked, 1, "one Nak");
    assert.equal(pair.client.lcpInfo?.localMru, 1200, "we asked again with the suggested MRU");
    assert.equal(pair.server.lcpInfo?.peerMru, 1200);
    assert.equal(pair.server.maxIpOut, 1196);
    assert.equal(pair.client.maxIpIn, 1196);
    // Our TUN MTU (what local TCP derives its MSS from) follows our acknowledged MRU too, as pppd's ppp0 does.
    const info = pair.client.lcpInfo!;
    assert.equal(tunnelMtu(1400, info.peerMru, true, info.localMru), 1196);
    assert.equal(tunnelMtu(1400, info.peerMru, false, info.localMru), 1200);
    assert.equal(tunnelMtu(1100, info.peerMru, true, info.localMru), 1096, "a smaller configured MTU wins");
  });
});
