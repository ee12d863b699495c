/**
 * Packets built in the I/O queues' rooms (core/packet-room.ts; session/call.ts, ppp/link.ts): a call encrypts each
 * GRE packet straight into the GRE send queue's room and decrypts each datagram straight into the TUN queue's room.
 * Both ends of an in-memory session, with the harness's TestRoom behind greOut and ipOut (every room at another
 * alignment, filled with stale bytes first), under GRE loss, duplication and reordering: what arrives is byte for
 * byte what the same session delivers without rooms, the same GRE goes on the wire, every datagram was taken in its
 * room, and nothing was taken from outside one.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import type { MppeStrength } from "../../src/ppp/ccp.js";
import { seededRandom, fakeIpPacket } from "../support/random.js";
import { makeHarness, ofType, type Harness, type NetFault } from "./inproc-harness.js";

const users = new LocalUsers([{ user: "alice", password: "correct horse" }]);

function harness(bits: MppeStrength, stateless: boolean, fault: Partial<NetFault>, rooms: boolean): Harness {
  return makeHarness({
    auth: users,
    seed: 5,
    fault,
    rooms,
    serverLink: {
      random: seededRandom(21),
      lcp: { echoIntervalMs: 10_000 },
      authenticatePeer: { methods: ["mschap-v2"], hostName: "pptp-ts" },
      ccp: { policy: "require", strengths: [bits], stateless: stateless ? "prefer" : "deny" },
    },
    clientLink: {
      random: seededRandom(23),
      lcp: { echoIntervalMs: 10_000 },
      authenticateSelf: { methods: ["mschap-v2"], userName: "alice", password: "correct horse" },
      ipcp: () => ({ role: "client" }),
      ccp: { policy: "require", strengths: [bits], stateless: stateless ? "prefer" : "allow" },
    },
  });
}

/** Brings the session up, sends n datagrams of lengths 20..1400 each way; returns what each side delivered. */
async function run(h: Harness, n: number): Promise<{ up: Uint8Array[]; down: Uint8Array[]; sentUp: number; sentDown: number; oversized: number[] }> {
  h.client.start(h.clock.now);
  h.server.start(h.clock.now);
  const bothUp = (): boolean => ofType(h.serverEvents, "network-up").length > 0 && ofType(h.clientEvents, "network-up").length > 0;
  await h.settle(bothUp);
  assert.ok(bothUp(), "session did not come up");
  h.serverIpIn.length = 0;
  h.clientIpIn.length = 0;
  const serverCall = [...h.server.sessions.keys()][0];
  const clientCall = h.client.currentCallId!;
  let sentUp = 0;
  let sentDown = 0;
  for (let i = 0; i < n; i++) {
    const len = 20 + ((i * 389) % 1381);
    const up = fakeIpPacket(len, i, "192.168.50.10", "10.1.1.1");
    up[4] = i >> 8;
    up[5] = i & 0xff;
    const down = fakeIpPacket(1420 - len, i + 7, "10.1.1.1", "192.168.50.10");
    down[4] = i >> 8;
    down[5] = i & 0xff;
    if (h.client.sendIp(h.clock.now, clientCall, up, 0, up.length)) sentUp++;
    if (h.server.sendIp(h.clock.now, serverCall, down, 0, down.length)) sentDown++;
    if (i % 8 === 7) await h.settle(() => false, 50);
  }
  await h.settle(() => false, 1000);
  // Datagrams over the peer's MRU were fragmented in the call's own buffer (session/call.ts), not in a room.
  const oversized = [serverCall, clientCall].map((id, k) => {
    const s = (k === 0 ? h.server : h.client).sessions.get(id)!.mruStats;
    return s.fragmented + s.refused;
  });
  return { up: h.serverIpIn.slice(), down: h.clientIpIn.slice(), sentUp, sentDown, oversized };
}

describe("packets built in the queues' rooms", () => {
  for (const [name, bits, stateless] of [
    ["MPPE-128 stateless", 128, true],
    ["MPPE-40 stateless", 40, true],
    ["MPPE-128 stateful", 128, false],
  ] as const) {
    test(`${name}, GRE loss + duplication + reordering: the same datagrams and the same wire as without rooms, all taken in place`, async () => {
      const fault = { loss: 0.05, dup: 0.05, reorder: 0.1, reorderDepth: 3 };
      const plain = harness(bits, stateless, fault, false);
      const a = await run(plain, 240);
      const roomy = harness(bits, stateless, fault, true);
      const b = await run(roomy, 240);
      assert.ok(a.up.length > 150 && a.down.length > 150, `delivered ${a.up.length} up, ${a.down.length} down`);
      assert.deepEqual(b.up, a.up, "datagrams delivered to the server differ");
      assert.deepEqual(b.down, a.down, "datagrams delivered to the client differ");
      assert.deepEqual(roomy.wire, plain.wire, "the GRE and TCP on the wire differ");
      assert.deepEqual(roomy.greCounts, plain.greCounts);
      const r = roomy.rooms;
      assert.deepEqual([b.sentUp, b.sentDown], [a.sentUp, a.sentDown]);
      for (const [side, delivered, sent, oversized] of [["server", b.up, b.sentDown, b.oversized[0]], ["client", b.down, b.sentUp, b.oversized[1]]] as const) {
        const ip = r[side].ip.counts;
        const gre = r[side].gre.counts;
        assert.equal(ip.outside, 0, `${side}: a datagram taken from outside its room`);
        assert.equal(gre.outside, 0, `${side}: a GRE packet taken from outside its room`);
        // Every encrypted datagram was decrypted into its room; lost, duplicate and late ones left theirs untaken.
        assert.equal(ip.inPlace, delivered.length, `${side}: datagrams taken in place`);
        assert.equal(ip.copied, 0, `${side}: datagrams copied`);
        assert.ok(ip.rooms > ip.inPlace, `${side}: every GRE frame asked for a room (${ip.rooms}), not only the delivered ones`);
        // Every IP datagram sent was encrypted into a room; control frames (LCP, CCP) and fragments take the copying path.
        assert.ok(sent > 200);
        assert.equal(gre.inPlace, sent - oversized, `${side}: GRE data packets built in place`);
        assert.equal(gre.rooms, gre.inPlace, `${side}: a room asked for and not taken on the send side`);
      }
    });
  }
});
