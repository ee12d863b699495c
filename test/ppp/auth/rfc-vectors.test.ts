/**
 * The published MS-CHAP examples, end to end through AuthClient and AuthServer: the RFC's challenges are injected
 * through the random sources, and the bytes on the wire must carry the RFC's responses.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fromHex, toHex, utf8, concatBytes } from "../../../src/wire/bytes.js";
import { unwrap } from "../../../src/wire/result.js";
import { AuthClient } from "../../../src/ppp/auth/client.js";
import { AuthServer } from "../../../src/ppp/auth/server.js";
import { LocalUsers } from "../../../src/aaa/local.js";
import { parseChap, CHAP_CHALLENGE, CHAP_RESPONSE, CHAP_SUCCESS } from "../../../src/wire/chap.js";
import { PPP_CHAP } from "../../../src/wire/ppp-protocols.js";
import { counterRandom, runExchange, scriptedRandom, only } from "./harness.js";

// RFC 2759 §9.2
const USER = "User";
const PASSWORD = "clientPass";
const AUTH_CHALLENGE = fromHex("5B5D7C7D7B3F2F3E3C2C602132262628");
const PEER_CHALLENGE = fromHex("21402324255E262A28295F2B3A337C7E");
const NT_RESPONSE = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
const AUTH_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
const PASSWORD_HASH = fromHex("44EBBA8D5312B8D611474411F56989AE");
/** RFC 2759 §4 Response packet around the §9.2 values, identifier 1, assembled by hand. */
const RESPONSE_PACKET = "02 01 003a 31 21402324255E262A28295F2B3A337C7E 0000000000000000" + NT_RESPONSE + "00 55736572";

// RFC 2433 Appendix B.2
const V1_PASSWORD = "MyPw";
const V1_CHALLENGE = fromHex("102DB5DF085D3041");
const V1_NT_RESPONSE = "4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61";

describe("RFC 2759 §9.2 through both engines", () => {
  async function run(serverUsers: LocalUsers, clientOpts: { password?: string; ntHash?: Uint8Array; userName?: string }) {
    const server = new AuthServer({ method: "mschap-v2", hostName: "pptp-ts", random: scriptedRandom([AUTH_CHALLENGE]) });
    const client = new AuthClient({ method: "mschap-v2", userName: clientOpts.userName ?? USER, random: scriptedRandom([PEER_CHALLENGE]), ...clientOpts });
    return runExchange(server, client, serverUsers);
  }

  test("Challenge carries the RFC's authenticator challenge", async () => {
    const ex = await run(new LocalUsers([{ user: USER, password: PASSWORD }]), { password: PASSWORD });
    const first = ex.wire[0];
    assert.equal(first.from, "server");
    assert.equal(first.packet.protocol, PPP_CHAP);
    const ch = unwrap(parseChap(first.packet.payload));
    assert.equal(ch.code, CHAP_CHALLENGE);
    if (ch.code === CHAP_CHALLENGE) {
      assert.deepEqual(ch.value, AUTH_CHALLENGE);
      assert.equal(ch.name, "pptp-ts");
    }
  });

  test("the peer's Response is exactly the RFC's bytes", async () => {
    const ex = await run(new LocalUsers([{ user: USER, password: PASSWORD }]), { password: PASSWORD });
    const resp = ex.wire.find((w) => w.from === "client");
    assert.ok(resp);
    assert.equal(toHex(resp.packet.payload), toHex(fromHex(RESPONSE_PACKET)));
  });

  test("Success carries the RFC's Authenticator Response and both sides succeed", async () => {
    const ex = await run(new LocalUsers([{ user: USER, password: PASSWORD }]), { password: PASSWORD });
    const last = ex.wire[ex.wire.length - 1];
    const success = unwrap(parseChap(last.packet.payload));
    assert.equal(success.code, CHAP_SUCCESS);
    if (success.code === CHAP_SUCCESS) assert.equal(success.message, `${AUTH_RESPONSE} M=Access granted`);

    const verify = only(ex.serverEvents, "verify");
    assert.equal(verify.request.method, "mschap-v2");
    if (verify.request.method === "mschap-v2") {
      assert.equal(toHex(verify.request.ntResponse24), NT_RESPONSE.toLowerCase());
      assert.deepEqual(verify.request.peerChallenge16, PEER_CHALLENGE);
      assert.deepEqual(verify.request.authChallenge16, AUTH_CHALLENGE);
    }
    const s = only(ex.serverEvents, "success");
    const c = only(ex.clientEvents, "success");
    assert.equal(s.user, USER);
    assert.equal(c.message, "Access granted");
    assert.ok(s.mppe && c.mppe);
    assert.deepEqual(c.mppe.send, s.mppe.recv);
    assert.deepEqual(c.mppe.recv, s.mppe.send);
    assert.notDeepEqual(c.mppe.send, c.mppe.recv); // MS-CHAPv2 keys are directional (RFC 3079 §3)
  });

  test("a server holding only the RFC's PasswordHash, a client holding only the hash too", async () => {
    const ex = await run(new LocalUsers([{ user: USER, ntHash: PASSWORD_HASH }]), { ntHash: PASSWORD_HASH });
    const resp = ex.wire.find((w) => w.from === "client");
    assert.equal(toHex(resp?.packet.payload ?? new Uint8Array(0)), toHex(fromHex(RESPONSE_PACKET)));
    only(ex.clientEvents, "success");
  });

  test("a DOMAIN\\ prefix goes on the wire but not into the hashes (RFC 2759 §4)", async () => {
    const ex = await run(new LocalUsers([{ user: USER, password: PASSWORD }]), { password: PASSWORD, userName: `BIGCO\\${USER}` });
    const resp = unwrap(parseChap(ex.wire.find((w) => w.from === "client")?.packet.payload ?? new Uint8Array(0)));
    assert.equal(resp.code, CHAP_RESPONSE);
    if (resp.code === CHAP_RESPONSE) {
      assert.equal(resp.name, "BIGCO\\User");
      assert.equal(toHex(resp.value.subarray(24, 48)), NT_RESPONSE.toLowerCase());
    }
    assert.equal(only(ex.serverEvents, "success").user, "BIGCO\\User");
    only(ex.clientEvents, "success");
  });
});

describe("RFC 2433 Appendix B.2 through both engines", () => {
  test("MS-CHAPv1 Response carries the RFC's NT response, LM zero-filled, use-NT set", async () => {
    const server = new AuthServer({ method: "mschap-v1", hostName: "", random: scriptedRandom([V1_CHALLENGE]) });
    const client = new AuthClient({ method: "mschap-v1", userName: "john", password: V1_PASSWORD, random: counterRandom() });
    const ex = await runExchange(server, client, new LocalUsers([{ user: "john", password: V1_PASSWORD }]));
    const resp = unwrap(parseChap(ex.wire.find((w) => w.from === "client")?.packet.payload ?? new Uint8Array(0)));
    assert.equal(resp.code, CHAP_RESPONSE);
    if (resp.code !== CHAP_RESPONSE) return;
    assert.equal(resp.value.length, 49);
    assert.deepEqual(resp.value.subarray(0, 24), new Uint8Array(24));
    assert.equal(toHex(resp.value.subarray(24, 48)), V1_NT_RESPONSE.toLowerCase());
    assert.equal(resp.value[48], 1);
    // The Success is the empty-message form seen in the PIX capture (ff03c223 03 01 0004).
    const last = ex.wire[ex.wire.length - 1];
    assert.equal(toHex(last.packet.payload), "03010004");
    const s = only(ex.serverEvents, "success");
    const c = only(ex.clientEvents, "success");
    assert.ok(s.mppe && c.mppe);
    assert.deepEqual(c.mppe.send, s.mppe.recv);
    assert.deepEqual(c.mppe.recv, s.mppe.send);
  });
});

describe("CHAP-MD5 (RFC 1994 §2) through both engines", () => {
  test("Response value is MD5(id || secret || challenge)", async () => {
    const challenge = fromHex("00112233445566778899aabbccddeeff");
    const server = new AuthServer({ method: "chap-md5", hostName: "gw", random: scriptedRandom([challenge]), firstId: 0x42 });
    const client = new AuthClient({ method: "chap-md5", userName: "alice", password: "s3cret", random: counterRandom() });
    const ex = await runExchange(server, client, new LocalUsers([{ user: "alice", password: "s3cret" }]));
    const expected = createHash("md5").update(concatBytes(Uint8Array.of(0x42), utf8("s3cret"), challenge)).digest();
    const resp = unwrap(parseChap(ex.wire.find((w) => w.from === "client")?.packet.payload ?? new Uint8Array(0)));
    assert.equal(resp.id, 0x42);
    if (resp.code === CHAP_RESPONSE) assert.equal(toHex(resp.value), toHex(new Uint8Array(expected)));
    else assert.fail("no Response");
    only(ex.clientEvents, "success");
    assert.equal(only(ex.serverEvents, "success").mppe, undefined);
  });
});
