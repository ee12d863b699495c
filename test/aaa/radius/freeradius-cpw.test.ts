/**
 * The Windows "your password has expired" flow end to end, judged by Debian's FreeRADIUS 3.2: our PPP
 * authenticator engine (AuthServer) with the RADIUS backend against a FreeRADIUS whose mschap module has
 * `passchange { local_cpw }` on. The peer side is built here from RFC 2759's algorithms: a Response with the old
 * password, the E=648 Failure, a Change-Password packet (§7) with the new one. FreeRADIUS decrypts and records the
 * new password; its MS-CHAP2-Success must verify with the new password and its MPPE keys equal ours from it.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireOrSkip, tsharkMissing } from "../../support/prerequisites.js";
import { freeradiusMissing, passwordChangeMissing, startFreeRadius, type FreeRadius } from "../../support/freeradius.js";
import { RadiusUdpClient } from "../../../src/io/radius-udp.js";
import { RadiusAuthenticator } from "../../../src/aaa/radius/authenticator.js";
import type { AuthContext } from "../../../src/aaa/types.js";
import { AuthServer } from "../../../src/ppp/auth/server.js";
import { AuthClient } from "../../../src/ppp/auth/client.js";
import { runExchange } from "../../ppp/auth/harness.js";
import type { AuthServerEvent } from "../../../src/ppp/auth/events.js";
import { emitMsChapV2ChangePassword, parseMsChapV2ChangePassword } from "../../../src/ppp/auth/change-password.js";
import { RadiusClientEngine } from "../../../src/aaa/radius/client-engine.js";
import {
  ntPasswordHash,
  mschap2NtResponse,
  mschap2AuthenticatorResponse,
  newPasswordEncryptedWithOldNtPasswordHash,
  oldNtPasswordHashEncryptedWithNewNtPasswordHash,
} from "../../../src/crypto/mschap.js";
import { mppeKeysMschap2 } from "../../../src/crypto/mppe-keys.js";
import { PPP_CHAP } from "../../../src/wire/ppp-protocols.js";
import {
  parseChap,
  emitChap,
  emitMsChapV2Response,
  parseMsChapFailure,
  parseMsChapV2Success,
  CHAP_CHALLENGE,
  CHAP_RESPONSE,
  CHAP_SUCCESS,
  CHAP_FAILURE,
} from "../../../src/wire/chap.js";
import { unwrap } from "../../../src/wire/result.js";
import { utf8, toHex } from "../../../src/wire/bytes.js";

const skip = requireOrSkip("FreeRADIUS with password change", freeradiusMissing() ?? passwordChangeMissing());
const SECRET = "radius-cpw-secret";
const OLD = "0ld-Passw0rd";
// Non-ASCII on purpose: the new password crosses UTF-16 (PWBLOCK) and FreeRADIUS' UTF-8 conversion.
const NEW = "N3w-Pässw0rd";
const CTX: AuthContext = { sessionId: "5F3A0000CPW1", callId: 9, peerAddress: "192.0.2.10", localAddress: "198.51.100.1" };
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

interface Step {
  readonly events: AuthServerEvent[];
  readonly sent: Uint8Array[];
}

/** Feed one packet (or none) to the engine, answer its "verify" events through RADIUS, and collect the rest. */
async function step(s: AuthServer, auth: RadiusAuthenticator, packet?: Uint8Array): Promise<Step> {
  const events: AuthServerEvent[] = [];
  const sent: Uint8Array[] = [];
  if (packet !== undefined) s.handlePacket(0, PPP_CHAP, packet);
  for (let e = s.pollEvent(); e !== undefined; e = s.pollEvent()) {
    events.push(e);
    if (e.type === "verify") s.completeVerification(0, await auth.verify(e.request, CTX));
  }
  for (let t = s.pollTransmit(); t !== undefined; t = s.pollTransmit()) sent.push(t.payload);
  return { events, sent };
}

/** Challenge → Response with the old password → E=648 Failure. Returns what a Change-Password needs. */
async function untilExpired(s: AuthServer, auth: RadiusAuthenticator, user: string): Promise<{ failureId: number; challenge: Uint8Array; events: AuthServerEvent[] }> {
  s.start(0);
  const ch = unwrap(parseChap(s.pollTransmit()!.payload));
  assert.equal(ch.code, CHAP_CHALLENGE);
  if (ch.code !== CHAP_CHALLENGE) throw new Error("unreachable");
  const peer = rnd(16);
  const value = emitMsChapV2Response({ peerChallenge: peer, ntResponse: mschap2NtResponse(ch.value, peer, user, ntPasswordHash(OLD)), flags: 0 });
  const r = await step(s, auth, emitChap({ code: CHAP_RESPONSE, id: ch.id, value, name: user }));
  assert.equal(r.sent.length, 1);
  const f = unwrap(parseChap(r.sent[0]));
  assert.equal(f.code, CHAP_FAILURE);
  if (f.code !== CHAP_FAILURE) throw new Error("unreachable");
  assert.equal(f.id, ch.id);
  const m = unwrap(parseMsChapFailure(f.message));
  assert.equal(m.error, 648);
  assert.equal(m.retry, false);
  assert.equal(m.version, 3);
  assert.ok(m.challenge !== undefined && m.challenge.length === 16);
  return { failureId: f.id, challenge: m.challenge, events: r.events };
}

function changePassword(id: number, challenge: Uint8Array, user: string, oldHash: Uint8Array, newPassword: string): { packet: Uint8Array; peer: Uint8Array; ntResponse: Uint8Array } {
  const newHash = ntPasswordHash(newPassword);
  const peer = rnd(16);
  const ntResponse = mschap2NtResponse(challenge, peer, user, newHash);
  const packet = emitMsChapV2ChangePassword({
    id,
    encryptedPassword: newPasswordEncryptedWithOldNtPasswordHash(newPassword, oldHash, rnd(516)),
    encryptedHash: oldNtPasswordHashEncryptedWithNewNtPasswordHash(newHash, oldHash),
    peerChallenge: peer,
    ntResponse,
    flags: 0,
  });
  return { packet, peer, ntResponse };
}

describe("MS-CHAPv2 password change through FreeRADIUS (RFC 2759 §7, RFC 2548 MS-CHAP2-CPW)", { skip }, () => {
  let fr: FreeRadius;
  let client: RadiusUdpClient;
  let auth: RadiusAuthenticator;

  before(async () => {
    fr = await startFreeRadius({
      secret: SECRET,
      recordPasswordChanges: true,
      users: [
        // Samba account flags as rlm_mschap reads them: U normal account, e password expired (→ E=648).
        { name: "expired", password: OLD, check: ['SMB-Account-CTRL-TEXT := "[Ue]"'] },
        { name: "current", password: OLD },
      ],
    });
    client = await RadiusUdpClient.create({ servers: [{ host: "127.0.0.1", port: fr.authPort, secret: utf8(SECRET) }], timeoutMs: 1000, retries: 1, deadlineMs: 5000 });
    auth = new RadiusAuthenticator(client, { nasIdentifier: "pptp-ts-test" });
  });
  after(async () => {
    client?.close();
    await fr?.stop();
  });

  test("expired password: 648, Change-Password, FreeRADIUS stores the new password, Success verifies with it, MPPE keys from it", async () => {
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: rnd });
    const exp = await untilExpired(s, auth, "expired");
    const pe = exp.events.find((e) => e.type === "password-expired");
    assert.ok(pe !== undefined, JSON.stringify(exp.events));
    assert.equal(s.isFinished, false, "still waiting for the Change-Password");

    // Malformed and out-of-turn packets first: discarded and counted, the exchange goes on.
    const good = changePassword((exp.failureId + 1) & 0xff, exp.challenge, "expired", ntPasswordHash(OLD), NEW);
    const wrongId = changePassword(exp.failureId, exp.challenge, "expired", ntPasswordHash(OLD), NEW).packet;
    for (const junk of [good.packet.subarray(0, 100), Uint8Array.of(7), wrongId]) {
      const r = await step(s, auth, junk);
      assert.deepEqual(r.sent, []);
      assert.equal(r.events.length, 1);
      assert.equal(r.events[0].type, "discarded");
    }
    assert.equal(s.discardedPackets, 3);
    assert.deepEqual(fr.passwordChanges(), []);

    const r = await step(s, auth, good.packet);
    const verify = r.events.find((e) => e.type === "verify");
    assert.ok(verify !== undefined && verify.request.method === "mschap-v2" && verify.request.passwordChange !== undefined);
    const success = r.events.find((e) => e.type === "success");
    assert.ok(success !== undefined && success.type === "success", JSON.stringify(r.events) + fr.output().slice(-3000));
    assert.equal(success.passwordChanged, true);

    // FreeRADIUS decrypted the new password itself (the one the client chose) and handed it to local_cpw.
    const newHash = ntPasswordHash(NEW);
    assert.deepEqual(fr.passwordChanges(), [{ user: "expired", password: NEW, ntHash: "0x" + toHex(newHash) }]);

    // The Success answers the Change-Password's Identifier and proves knowledge of the NEW password (RFC 2759 §5).
    assert.equal(r.sent.length, 1);
    const p = unwrap(parseChap(r.sent[0]));
    assert.equal(p.code, CHAP_SUCCESS);
    if (p.code !== CHAP_SUCCESS) throw new Error("unreachable");
    assert.equal(p.id, (exp.failureId + 1) & 0xff);
    const sr = unwrap(parseMsChapV2Success(p.message));
    assert.equal(sr.authenticatorResponse, mschap2AuthenticatorResponse(newHash, good.ntResponse, good.peer, exp.challenge, "expired"));
    assert.notEqual(sr.authenticatorResponse, mschap2AuthenticatorResponse(ntPasswordHash(OLD), good.ntResponse, good.peer, exp.challenge, "expired"));
    // MS-MPPE-Send/Recv-Key from RADIUS equal the local RFC 3079 computation over the new password.
    const local = mppeKeysMschap2(newHash, good.ntResponse, true);
    assert.ok(success.mppe !== undefined);
    assert.deepEqual(success.mppe.send, local.send);
    assert.deepEqual(success.mppe.recv, local.recv);

    // A lost Success: the repeated Change-Password gets the same reply, and FreeRADIUS is not asked again.
    const again = await step(s, auth, good.packet);
    assert.deepEqual(again.sent, r.sent);
    assert.equal(fr.passwordChanges().length, 1);
  });

  test("our own AuthClient (given a new password) ↔ AuthServer ↔ FreeRADIUS: changed, mutually authenticated, same MPPE keys", async () => {
    const before = fr.passwordChanges().length;
    const server = new AuthServer({ method: "mschap-v2", hostName: "gw", random: rnd });
    const peer = new AuthClient({ method: "mschap-v2", userName: "expired", password: OLD, newPassword: "Client-Chosen-9", random: rnd });
    const ex = await runExchange(server, peer, { verify: (r) => auth.verify(r, CTX) });
    const cs = ex.clientEvents.find((e) => e.type === "success");
    assert.ok(cs !== undefined && cs.type === "success", JSON.stringify(ex.clientEvents));
    const ss = ex.serverEvents.find((e) => e.type === "success");
    assert.ok(ss !== undefined && ss.type === "success" && ss.passwordChanged === true);
    assert.deepEqual(cs.mppe?.send, ss.mppe?.recv);
    assert.deepEqual(cs.mppe?.recv, ss.mppe?.send);
    assert.deepEqual(fr.passwordChanges().slice(before), [{ user: "expired", password: "Client-Chosen-9", ntHash: "0x" + toHex(ntPasswordHash("Client-Chosen-9")) }]);
  });

  test("wrong old password in the Change-Password: FreeRADIUS refuses (E=709) and the peer gets that Failure", async () => {
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: rnd });
    const before = fr.passwordChanges().length;
    const exp = await untilExpired(s, auth, "expired");
    const bad = changePassword((exp.failureId + 1) & 0xff, exp.challenge, "expired", ntPasswordHash("not-the-old-one"), "Another-N3w");
    const r = await step(s, auth, bad.packet);
    const f = r.events.find((e) => e.type === "failure");
    assert.ok(f !== undefined && f.type === "failure", JSON.stringify(r.events));
    assert.equal(f.code, 709, f.message);
    assert.match(f.message, /rejected the password change of "expired" with MS-CHAP error 709/);
    const p = unwrap(parseChap(r.sent[0]));
    assert.equal(p.code, CHAP_FAILURE);
    if (p.code !== CHAP_FAILURE) throw new Error("unreachable");
    assert.equal(unwrap(parseMsChapFailure(p.message)).error, 709);
    assert.equal(fr.passwordChanges().length, before, "nothing recorded");
  });

  test("a Change-Password without a prior 648 is discarded: no RADIUS request, no verdict", async () => {
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: rnd });
    s.start(0);
    const ch = unwrap(parseChap(s.pollTransmit()!.payload));
    const cp = changePassword((ch.id + 1) & 0xff, new Uint8Array(16), "current", ntPasswordHash(OLD), NEW);
    const r = await step(s, auth, cp.packet);
    assert.deepEqual(r.sent, []);
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0].type, "discarded");
    assert.match((r.events[0] as { reason: string }).reason, /before any Failure with E=648/);
    assert.equal(s.isFinished, false);
  });
});

/** A one-packet pcap (LINKTYPE_RAW, IPv4/UDP to port 1812); the UDP checksum is left 0 ("none" in IPv4). */
function udpPcap(payload: Uint8Array): Buffer {
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16);
  g.writeUInt32LE(101, 20);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(1812, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.set([127, 0, 0, 1], 12);
  ip.set([127, 0, 0, 1], 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const frame = Buffer.concat([ip, udp, Buffer.from(payload)]);
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(1, 0);
  rec.writeUInt32LE(frame.length, 8);
  rec.writeUInt32LE(frame.length, 12);
  return Buffer.concat([g, rec, frame]);
}

describe("tshark's RADIUS dissector reads our password-change Access-Request", { skip: requireOrSkip("tshark", tsharkMissing()) }, () => {
  test("MS-CHAP-Challenge, MS-CHAP2-CPW and three MS-CHAP-NT-Enc-PW as RFC 2548 lays them out", async () => {
    const sent: Uint8Array[] = [];
    const engine = new RadiusClientEngine({
      servers: [{ host: "127.0.0.1", port: 1812, secret: utf8(SECRET) }],
      timeoutMs: 100,
      retries: 0,
      deadlineMs: 100,
      random: rnd,
      transmit: (_i, data) => sent.push(data.slice()),
    });
    const requester = { request: (code: number, build: Parameters<RadiusClientEngine["request"]>[1]) => engine.request(code, build, 0) };
    const oldHash = ntPasswordHash(OLD);
    const cp = changePassword(5, rnd(16), "expired", oldHash, NEW);
    const parsed = unwrap(parseMsChapV2ChangePassword(cp.packet));
    void new RadiusAuthenticator(requester).verify({
      method: "mschap-v2",
      user: "expired",
      authChallenge16: rnd(16),
      peerChallenge16: parsed.peerChallenge.slice(),
      ntResponse24: parsed.ntResponse.slice(),
      passwordChange: { id: 5, encryptedPassword516: parsed.encryptedPassword.slice(), encryptedHash16: parsed.encryptedHash.slice() },
    });
    engine.handleTimeout(1000);
    assert.equal(sent.length, 1);
    const dir = mkdtempSync(join(tmpdir(), "radius-cpw-pcap-"));
    try {
      const file = join(dir, "cpw.pcap");
      writeFileSync(file, udpPcap(sent[0]));
      const fields = ["radius.code", "radius.User_Name", "radius.MS_CHAP_Challenge", "radius.MS_CHAP2_CPW", "radius.MS_CHAP_NT_Enc_PW", "radius.MS_CHAP2_Response", "radius.Message_Authenticator"];
      const line = execFileSync("tshark", ["-n", "-r", file, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=;", ...fields.flatMap((f) => ["-e", f])], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      }).trim();
      const [code, user, challenge, cpw, encPw, v2Response, ma] = line.split("|");
      assert.equal(code, "1", "Access-Request");
      assert.equal(user, "expired");
      assert.equal(challenge.replace(/:/g, "").length, 32);
      // Code 7, Ident 5, Encrypted-Hash, Peer-Challenge, 8 reserved, NT-Response, Flags: 68 octets.
      assert.equal(cpw.replace(/:/g, ""), "0705" + toHex(parsed.encryptedHash) + toHex(parsed.peerChallenge) + "00".repeat(8) + toHex(parsed.ntResponse) + "0000");
      const chunks = encPw.split(";").map((c) => c.replace(/:/g, ""));
      assert.deepEqual(chunks.map((c) => c.length / 2), [247, 247, 34]);
      assert.deepEqual(chunks.map((c) => c.slice(0, 8)), ["06050001", "06050002", "06050003"]);
      assert.equal(chunks.map((c) => c.slice(8)).join(""), toHex(parsed.encryptedPassword));
      assert.equal(v2Response, "", "no MS-CHAP2-Response: the server takes it from MS-CHAP2-CPW");
      assert.equal(ma.replace(/:/g, "").length, 32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
