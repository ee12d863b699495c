import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHex } from "../../../src/wire/bytes.js";
import { authPacketDirection } from "../../../src/ppp/auth/route.js";
import { PPP_CHAP, PPP_PAP, PPP_LCP } from "../../../src/wire/ppp-protocols.js";

test("PAP and CHAP packets are routed by Code to the authenticator or the peer", () => {
  assert.equal(authPacketDirection(PPP_PAP, fromHex("01010004")), "to-authenticator"); // Authenticate-Request
  assert.equal(authPacketDirection(PPP_PAP, fromHex("02010004")), "to-peer"); // Ack
  assert.equal(authPacketDirection(PPP_PAP, fromHex("03010004")), "to-peer"); // Nak
  assert.equal(authPacketDirection(PPP_CHAP, fromHex("0101000d08d36602863630eca8")), "to-peer"); // captured Challenge
  assert.equal(authPacketDirection(PPP_CHAP, fromHex("0201003a31")), "to-authenticator"); // Response
  assert.equal(authPacketDirection(PPP_CHAP, fromHex("03010004")), "to-peer"); // captured Success
  assert.equal(authPacketDirection(PPP_CHAP, fromHex("04010004")), "to-peer"); // Failure
  assert.equal(authPacketDirection(PPP_CHAP, fromHex("0702024a")), "to-authenticator"); // MS-CHAPv2 Change-Password
});

test("other protocols and empty payloads are not routed", () => {
  assert.equal(authPacketDirection(PPP_LCP, fromHex("01010004")), undefined);
  assert.equal(authPacketDirection(PPP_CHAP, new Uint8Array(0)), undefined);
});
