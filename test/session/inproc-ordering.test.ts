/**
 * What goes out before what, and what a session survives on the GRE wire:
 *  - a call's GRE never leaves before the OCRP/ICRP/ICCN that set it up was handed to the driver (both roles,
 *    both call directions), checked on the bare engines and through the in-process harness;
 *  - GRE that overtakes its reply on the way (raw IP beating a TCP segment) is held by the receiver, not lost:
 *    the session comes up without the 3 s LCP restart (RFC 1661 §4.6);
 *  - reordering across several packets and duplication, in both call directions;
 *  - forged GRE packets with the live Call ID and a sequence number far ahead, injected into a live session:
 *    traffic and LCP echo keep flowing.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import { ServerConnection, type ServerPolicy } from "../../src/session/server-connection.js";
import { ClientConnection } from "../../src/session/client-connection.js";
import { parseControlMessage } from "../../src/wire/pptp-control.js";
import { emitGreHeader, GRE_MAX_HEADER_LENGTH } from "../../src/wire/gre.js";
import { seededRandom, fakeIpPacket } from "../support/random.js";
import { makeHarness, ofType, type Harness, type HarnessOptions, type NetFault } from "./inproc-harness.js";

const users = new LocalUsers([{ user: "alice", password: "correct horse" }]);

type CallType = "outgoing" | "incoming";
/** The message that sets a call up, by who sends it, for each direction of call set-up. */
const REPLY: Record<CallType, { server: string; client: string }> = {
  outgoing: { server: "OCRP", client: "OCRQ" },
  incoming: { server: "ICRP", client: "ICCN" },
};

function serverLink(): HarnessOptions["serverLink"] {
  return {
    random: seededRandom(11),
    lcp: { echoIntervalMs: 10_000 },
    authenticatePeer: { methods: ["mschap-v2"], hostName: "pptp-ts" },
    ccp: { policy: "require", strengths: [128], stateless: "prefer" },
  };
}
function clientLink(): HarnessOptions["clientLink"] {
  return {
    random: seededRandom(13),
    lcp: { echoIntervalMs: 10_000 },
    authenticateSelf: { methods: ["mschap-v2"], userName: "alice", password: "correct horse" },
    ipcp: () => ({ role: "client", requestDns: true }),
    ccp: { policy: "require", strengths: [128], stateless: "prefer" },
  };
}

function harness(callType: CallType, o: Partial<HarnessOptions> = {}): Harness {
  return makeHarness({ auth: users, seed: 5, serverLink: serverLink(), clientLink: clientLink(), callType, ...o });
}

const bothUp = (h: Harness) => () => ofType(h.serverEvents, "network-up").length > 0 && ofType(h.clientEvents, "network-up").length > 0;

async function up(h: Harness): Promise<number> {
  const t0 = h.clock.now;
  h.client.start(h.clock.now);
  h.server.start(h.clock.now);
  await h.settle(bothUp(h));
  assert.ok(bothUp(h)(), `session did not come up:\n${h.serverEvents.map((e) => JSON.stringify(e)).slice(-10).join("\n")}`);
  return h.clock.now - t0;
}

/** Sends n datagrams each way between settles; returns how many arrived, checking order and integrity. */
async function traffic(h: Harness, n: number): Promise<{ toServer: number; toClient: number }> {
  const serverCall = [...h.server.sessions.keys()][0];
  const clientCall = h.client.currentCallId!;
  h.serverIpIn.length = 0;
  h.clientIpIn.length = 0;
  for (let i = 0; i < n; i++) {
    const upPkt = fakeIpPacket(600, i, "192.168.50.10", "10.1.1.1");
    const downPkt = fakeIpPacket(600, i, "10.1.1.1", "192.168.50.10");
    upPkt[4] = downPkt[4] = i >> 8;
    upPkt[5] = downPkt[5] = i & 0xff;
    h.client.sendIp(h.clock.now, clientCall, upPkt, 0, upPkt.length);
    h.server.sendIp(h.clock.now, serverCall, downPkt, 0, downPkt.length);
    if (i % 8 === 7) await h.settle(() => false, 50);
  }
  await h.settle(() => false, 1000);
  const inOrder = (got: Uint8Array[]): number => {
    const idx = got.map((g) => (g[4] << 8) | g[5]);
    for (let i = 1; i < idx.length; i++) assert.ok(idx[i] > idx[i - 1], `delivered out of order or twice: ${idx[i - 1]} then ${idx[i]}`);
    return idx.length;
  };
  return { toServer: inOrder(h.serverIpIn), toClient: inOrder(h.clientIpIn) };
}

/** Index of the first entry of `log` matching `re`, -1 if none. */
const first = (log: string[], re: RegExp): number => log.findIndex((l) => re.test(l));

describe("TCP before GRE: nothing of a call goes out on GRE before its OCRP/ICRP/ICCN", () => {
  /**
   * The bare engines, driven the way the networked drivers do it: after each input, hand out pollTransmit()
   * until it is empty. `log` records each TCP message when it is handed out and each GRE packet when it is sent.
   */
  function drive(callType: CallType): string[] {
    const log: string[] = [];
    let nextId = 0x2000;
    const policy: ServerPolicy = {
      admitCall: () => ({ callId: nextId++ }),
      releaseCall: () => {},
      linkConfig: () => serverLink(),
      ipcpFor: () => ({ role: "server", localAddress: "192.168.50.1", peerAddress: "192.168.50.10" }),
    };
    const server = new ServerConnection({
      peerName: "c",
      policy,
      originate: callType === "incoming",
      sinksFor: () => ({ greOut: () => log.push("server GRE"), ipOut: () => {} }),
    });
    const client = new ClientConnection({
      peerName: "s",
      callType,
      link: clientLink(),
      sinksFor: () => ({ greOut: () => log.push("client GRE"), ipOut: () => {} }),
    });
    client.start(0);
    server.start(0);
    const pass = (from: ServerConnection | ClientConnection, to: ServerConnection | ClientConnection, name: string): void => {
      for (let b = from.pollTransmit(); b; b = from.pollTransmit()) {
        const m = parseControlMessage(b);
        log.push(`${name} ${m.ok ? m.value.type : "?"}`);
        to.handleBytes(0, b);
      }
    };
    for (let i = 0; i < 6; i++) {
      pass(client, server, "client");
      pass(server, client, "server");
    }
    return log;
  }

  for (const callType of ["outgoing", "incoming"] as const) {
    test(`${callType} call, bare engines: each side's first GRE comes after every set-up message it sends`, () => {
      const log = drive(callType);
      for (const side of ["server", "client"] as const) {
        const gre = first(log, new RegExp(`^${side} GRE`));
        assert.ok(gre >= 0, `${side} sent GRE:\n${log.join("\n")}`);
        for (const type of ["OCRP", "ICRP", "ICCN"]) {
          const sent = first(log, new RegExp(`^${side} ${type}$`));
          if (sent >= 0) assert.ok(sent < gre, `${side} GRE at ${gre} before its ${type} at ${sent}:\n${log.join("\n")}`);
        }
      }
      // Both ways of placing the call are exercised: the server answers OCRQ/ICRQ, the client sends ICCN.
      assert.ok(first(log, new RegExp(`^server ${REPLY[callType].server}$`)) >= 0);
      assert.ok(first(log, new RegExp(`^client ${REPLY[callType].client}$`)) >= 0);
    });

    for (const order of ["tcp-first", "gre-first"] as const) {
      test(`${callType} call, in-process harness (${order}): the wire shows the reply before the call's first GRE, each way`, async () => {
        const h = harness(callType, { order });
        await up(h);
        for (const dir of ["s>c", "c>s"]) {
          const gre = first(h.wire, new RegExp(`^${dir} GRE`));
          assert.ok(gre >= 0);
          for (const type of ["OCRP", "ICRP", "ICCN"]) {
            const sent = first(h.wire, new RegExp(`^${dir} ${type}$`));
            if (sent >= 0) assert.ok(sent < gre, `${dir} GRE at ${gre} before ${type} at ${sent}:\n${h.wire.slice(0, 20).join("\n")}`);
          }
        }
      });
    }
  }
});

describe("GRE that overtakes its reply on the way is held, not lost", () => {
  for (const callType of ["outgoing", "incoming"] as const) {
    test(`${callType} call: the peer's first LCP packet arrives before the reply; the session comes up without an LCP restart`, async () => {
      const h = harness(callType, { order: "gre-first" });
      const took = await up(h);
      // The receiver of the early packet: the client for an outgoing call (server's LCP before OCRP), the server for
      // an incoming one (client's LCP before ICCN).
      const [rx, msg] = callType === "outgoing" ? ["c<s", "OCRP"] : ["s<c", "ICCN"];
      const early = first(h.arrivals, new RegExp(`^${rx} GRE`));
      const reply = first(h.arrivals, new RegExp(`^${rx} ${msg}$`));
      assert.ok(early >= 0 && reply >= 0 && early < reply, `GRE overtook ${msg}:\n${h.arrivals.slice(0, 16).join("\n")}`);
      // Dropping that packet would leave the peer's Configure-Request to its 3 s Restart timer.
      assert.ok(took < 1000, `up after ${took} ms`);
      const r = await traffic(h, 64);
      assert.deepEqual(r, { toServer: 64, toClient: 64 });
    });
  }
});

describe("GRE reordered across several packets, duplicated, overtaking TCP", () => {
  const faults: Array<[string, Partial<NetFault>]> = [
    ["30% reordered up to 6 packets deep", { reorder: 0.3, reorderDepth: 6 }],
    ["20% reordered up to 6 deep and 10% duplicated", { reorder: 0.2, reorderDepth: 6, dup: 0.1 }],
  ];
  for (const callType of ["outgoing", "incoming"] as const) {
    for (const order of ["tcp-first", "gre-first"] as const) {
      for (const [name, fault] of faults) {
        test(`${callType} call, ${order}, ${name}: up, and every datagram delivered once, in order, both ways`, async () => {
          const h = harness(callType, { order, fault });
          await up(h);
          const r = await traffic(h, 200);
          assert.deepEqual(r, { toServer: 200, toClient: 200 });
        });
      }
    }
  }
});

describe("forged GRE in a live session (the peer's address and the live Call ID, sequence number far ahead)", () => {
  function forged(callId: number, seq: number): Uint8Array {
    const out = new Uint8Array(GRE_MAX_HEADER_LENGTH + 32);
    const n = emitGreHeader(out, 0, callId, 32, seq, undefined);
    return out.subarray(0, n + 32);
  }

  for (const ahead of [0x100, 0x40000000]) {
    for (const to of ["server", "client"] as const) {
      test(`+0x${ahead.toString(16)} towards the ${to}: traffic and LCP echo keep flowing, the packets are counted`, async () => {
        const h = harness("outgoing");
        await up(h);
        const serverCall = h.server.sessions.values().next().value!;
        const clientCall = h.client.sessions.values().next().value!;
        const [victim, sender] = to === "server" ? [serverCall, clientCall] : [clientCall, serverCall];
        const inject = (): void => h.injectGre(to, forged(victim.localCallId, (sender.channel.nextSendSeq + ahead) >>> 0));
        inject();
        assert.deepEqual(await traffic(h, 40), { toServer: 40, toClient: 40 });
        // Again, now while idle: only LCP echo (every 10 s) runs for two minutes.
        inject();
        const echoesBefore = sender.channel.stats.tx;
        await h.settle(() => ofType(h.serverEvents, "call-down").length + ofType(h.clientEvents, "call-down").length > 0, 120_000);
        assert.equal(ofType(h.serverEvents, "call-down").length + ofType(h.clientEvents, "call-down").length, 0, "the call stayed up");
        assert.ok(sender.channel.stats.tx - echoesBefore >= 10, "LCP echo kept running");
        assert.equal(victim.channel.stats.droppedOutOfWindow, 2);
        assert.equal(victim.channel.stats.resyncs, 0);
        assert.equal(victim.channel.stats.lost, 0);
        assert.deepEqual(await traffic(h, 40), { toServer: 40, toClient: 40 });
      });
    }
  }
});
