/**
 * MS-CHAPv1 and MPPE strengths (RFC 3079 §2): 40/56-bit sessions are keyed from the LAN Manager hash of the
 * password, 128-bit ones from the NT hash and the challenge. Checked end to end against a peer that keys the way
 * Windows does (windows-peer.ts), in both roles, and the refusal of 40/56-bit when only an NT hash is known.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import type { PppLink, PppLinkConfig } from "../../src/ppp/link.js";
import type { MppeStrength } from "../../src/ppp/ccp.js";
import { ntPasswordHash } from "../../src/crypto/mschap.js";
import { bytesEqual } from "../../src/wire/bytes.js";
import { fakeIpPacket } from "../support/random.js";
import { makePair, run, eventsOf, serverLinkConfig, clientLinkConfig, LINK_PASSWORD, type LinkOpts, type Pair } from "./link-harness.js";
import { WindowsMppePeer, type WindowsResponseStyle } from "./windows-peer.js";

const withPassword = new LocalUsers([{ user: "alice", password: LINK_PASSWORD }]);
const withNtHashOnly = new LocalUsers([{ user: "alice", ntHash: ntPasswordHash(LINK_PASSWORD) }]);

function v1(o: LinkOpts & { bits?: MppeStrength; stateless?: boolean }): LinkOpts {
  const strengths = o.bits === undefined ? undefined : [o.bits];
  return {
    serverMethods: ["mschap-v1"],
    clientMethods: ["mschap-v1"],
    ...(strengths ? { serverStrengths: strengths, clientStrengths: strengths } : {}),
    ...(o.stateless === undefined
      ? {}
      : { serverStateless: o.stateless ? "require" : "deny", clientStateless: o.stateless ? "prefer" : "allow" }),
    ...o,
  };
}

/** Datagrams both ways between our link and the Windows double; returns how many arrived intact. */
function exchange(ours: PppLink, win: WindowsMppePeer, now: number): { toUs: number; toWindows: number } {
  win.startMppe();
  const buf = new Uint8Array(2048);
  let toUs = 0;
  let toWindows = 0;
  for (const [i, size] of [20, 84, 576, 1396, 1396, 60].entries()) { // 1396: the largest that fits MRU 1400 under MPPE
    const up = fakeIpPacket(size, i + 1);
    const f = win.sendIp(up);
    const n = ours.receiveFrame(now, f, 0, f.length);
    if (n === size && bytesEqual(ours.rxData.subarray(ours.rxOffset, ours.rxOffset + n), up)) toUs++;
    const down = fakeIpPacket(size, i + 101);
    const m = ours.sendIp(down, 0, down.length, buf, 0);
    assert.ok(m > 0, "our link sends");
    const got = win.receive(buf.slice(0, m));
    if (got !== undefined && bytesEqual(got, down)) toWindows++;
  }
  return { toUs, toWindows };
}

function upOrSay(pair: Pair): void {
  const said = [...pair.serverEvents, ...pair.clientEvents].filter((e) => e.type === "down" || (e.type === "log" && e.category !== "packets"));
  assert.ok(pair.server.networkUp && pair.client.networkUp, JSON.stringify(said.slice(-6)));
}

describe("MS-CHAPv1 MPPE against a Windows-keyed peer (RFC 3079 §2.1-2.3)", () => {
  const styles: WindowsResponseStyle[] = ["nt-only", "lm-and-nt", "lm-only"];
  for (const bits of [40, 56, 128] as const) {
    for (const style of styles) {
      for (const stateless of [true, false]) {
        test(`Windows client, ${style} response, MPPE-${bits} ${stateless ? "stateless" : "stateful"}: data flows both ways`, async () => {
          const o = v1({ bits, stateless });
          const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
          const win = new WindowsMppePeer(pair.client, LINK_PASSWORD, style);
          pair.filter = (from, f) => win.filter(from, f);
          await run(pair, withPassword);
          upOrSay(pair);
          assert.deepEqual(pair.server.mppeInfo, { bits, stateless });
          assert.equal(pair.server.auth.method, "mschap-v1");
          assert.deepEqual(exchange(pair.server, win, pair.clock.now), { toUs: 6, toWindows: 6 });
          assert.equal(pair.server.stats.droppedMppe, 0);
        });
      }
    }
  }

  for (const bits of [40, 56, 128] as const) {
    test(`our client against a Windows-keyed server, MPPE-${bits}: data flows both ways`, async () => {
      const o = v1({ bits, stateless: true });
      const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
      const win = new WindowsMppePeer(pair.server, LINK_PASSWORD);
      pair.filter = (from, f) => win.filter(from, f);
      await run(pair, withPassword);
      upOrSay(pair);
      assert.equal(pair.client.mppeInfo?.bits, bits);
      assert.deepEqual(exchange(pair.client, win, pair.clock.now), { toUs: 6, toWindows: 6 });
    });
  }

  test("the 40-bit key does not depend on the challenge: two logins, same first session key", async () => {
    const starts: string[] = [];
    for (const seed of [1, 2]) {
      const o = v1({ bits: 40, seed });
      const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
      const win = new WindowsMppePeer(pair.client, LINK_PASSWORD);
      pair.filter = (from, f) => win.filter(from, f);
      await run(pair, withPassword);
      upOrSay(pair);
      starts.push(Buffer.from(win.startKey(40)).toString("hex") + "/" + Buffer.from(win.challenge ?? []).toString("hex"));
      assert.deepEqual(exchange(pair.server, win, pair.clock.now), { toUs: 6, toWindows: 6 });
    }
    const [a, b] = starts.map((s) => s.split("/"));
    assert.notEqual(a[1], b[1], "different challenges");
    assert.equal(a[0], b[0], "same LM-based start key");
  });
});

describe("MS-CHAPv1 with only an NT hash: 40/56-bit refused, and said why", () => {
  const refusedLine = /MPPE 56-bit and 40-bit refused for MS-CHAPv1 user "alice": only the NT password hash is known, and MS-CHAPv1 40\/56-bit keys come from the LAN Manager hash of the password \(RFC 3079 §2\.1\)/;

  test("server: the strengths are taken out of CCP with an events line; 128-bit comes up and carries data", async () => {
    const o = v1({});
    const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
    await run(pair, withNtHashOnly);
    upOrSay(pair);
    assert.equal(pair.server.mppeInfo?.bits, 128);
    const line = eventsOf(pair.serverEvents, "log").find((e) => e.category === "events");
    assert.ok(line, "an events log line");
    assert.match(line.message, refusedLine);
    assert.match(line.message, /negotiating 128-bit only/);
    const buf = new Uint8Array(2048);
    const pkt = fakeIpPacket(300, 5);
    const n = pair.client.sendIp(pkt, 0, pkt.length, buf, 0);
    assert.equal(pair.server.receiveFrame(pair.clock.now, buf, 0, n), 300);
  });

  test("server: a Windows client that allows only 40-bit is not given a session on a key it does not have", async () => {
    const o = v1({ serverStrengths: [128, 56, 40], clientStrengths: [40] });
    const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
    await run(pair, withNtHashOnly);
    assert.equal(eventsOf(pair.serverEvents, "network-up").length, 0, "never up");
    assert.equal(pair.server.mppeInfo, undefined);
    assert.match(eventsOf(pair.serverEvents, "log").find((e) => e.category === "events")?.message ?? "", refusedLine);
    assert.equal(eventsOf(pair.clientEvents, "down").at(-1)?.code, 742);
  });

  test("server whose policy allows only 40/56-bit and requires MPPE: fails with 742 and the reason", async () => {
    const o = v1({ serverStrengths: [56, 40], clientStrengths: [56, 40] });
    const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
    await run(pair, withNtHashOnly);
    const d = eventsOf(pair.serverEvents, "down").at(-1);
    assert.equal(d?.code, 742);
    assert.match(d?.reason ?? "", refusedLine);
    assert.match(d?.reason ?? "", /this profile allows no other strength and requires MPPE/);
    assert.ok(eventsOf(pair.serverEvents, "log").some((e) => e.category === "errors" && refusedLine.test(e.message)));
    assert.equal(eventsOf(pair.serverEvents, "network-up").length, 0);
    assert.equal(pair.server.phase, "dead");
  });

  test("server with policy prefer and only 40-bit allowed: encryption refused, the session runs in the clear", async () => {
    const o = v1({ serverStrengths: [40], clientStrengths: [40], serverPolicy: "prefer", clientPolicy: "prefer" });
    const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
    await run(pair, withNtHashOnly);
    upOrSay(pair);
    assert.equal(pair.server.mppeInfo, undefined);
    const line = eventsOf(pair.serverEvents, "log").find((e) => e.category === "events")?.message ?? "";
    assert.match(line, /MPPE 40-bit refused for MS-CHAPv1 user "alice": only the NT password hash is known/);
    assert.match(line, /encryption is refused/);
  });

  test("MS-CHAPv2 keys every strength from the NT hash: 40-bit still runs with only an NT hash", async () => {
    const o: LinkOpts = { serverMethods: ["mschap-v2"], clientMethods: ["mschap-v2"], serverStrengths: [40], clientStrengths: [40] };
    const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
    await run(pair, withNtHashOnly);
    upOrSay(pair);
    assert.equal(pair.server.mppeInfo?.bits, 40);
    assert.equal(eventsOf(pair.serverEvents, "log").filter((e) => e.category === "events").length, 0);
  });

  test("a password of more than 14 characters has no LM hash: 40/56-bit refused too", async () => {
    const long = "correct-horse-battery";
    const users = new LocalUsers([{ user: "alice", password: long }]);
    const o = v1({ password: long });
    const pair = makePair(serverLinkConfig(o), clientLinkConfig(o));
    await run(pair, users);
    upOrSay(pair);
    assert.equal(pair.server.mppeInfo?.bits, 128);
    const line = eventsOf(pair.serverEvents, "log").find((e) => e.category === "events")?.message ?? "";
    assert.match(line, /refused for MS-CHAPv1 user "alice": the password is longer than 14 characters/);
    assert.ok(!line.includes(long), "the password is never logged");
  });

  test("client with only an NT hash against a server offering only 40-bit: fails with 742, in plain words", async () => {
    const o = v1({ serverStrengths: [40], clientStrengths: [128, 56, 40] });
    const clientCfg: PppLinkConfig = {
      ...clientLinkConfig(o),
      authenticateSelf: { methods: ["mschap-v1"], userName: "alice", ntHash: ntPasswordHash(LINK_PASSWORD) },
    };
    const pair = makePair(serverLinkConfig(o), clientCfg);
    await run(pair, withPassword);
    const events = eventsOf(pair.clientEvents, "log").find((e) => e.category === "events")?.message ?? "";
    assert.match(events, /MPPE 56-bit and 40-bit refused for MS-CHAPv1 user "alice": only the NT password hash is known/);
    const d = eventsOf(pair.clientEvents, "down").at(-1);
    assert.equal(d?.code, 742);
    assert.match(d?.reason ?? "", /^server offers only MPPE-40; this profile requires MPPE-128 \(MPPE 56-bit and 40-bit refused for MS-CHAPv1/);
  });
});
