import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { parsePap, emitPap, PAP_AUTH_REQUEST, PAP_AUTH_ACK, PAP_AUTH_NAK, type PapPacket } from "../../src/wire/pap.js";

// Hand-assembled from RFC 1334 §2.2.1/§2.2.2: Authenticate-Request id 7, Peer-ID "john", Password "cisco".
const REQUEST = "01 07 000f 04 6a6f686e 05 636973636f";
// Authenticate-Ack id 7, message "ok".
const ACK = "02 07 0007 02 6f6b";

describe("PAP vectors", () => {
  test("Authenticate-Request", () => {
    const p = unwrap(parsePap(fromHex(REQUEST)));
    assert.deepEqual(p, { code: PAP_AUTH_REQUEST, id: 7, peerId: "john", password: "cisco" });
    assert.equal(toHex(emitPap(p)), REQUEST.replace(/ /g, ""));
  });

  test("Authenticate-Ack", () => {
    const p = unwrap(parsePap(fromHex(ACK)));
    assert.deepEqual(p, { code: PAP_AUTH_ACK, id: 7, message: "ok" });
    assert.equal(toHex(emitPap(p)), ACK.replace(/ /g, ""));
  });

  test("octets beyond Length are padding and ignored (RFC 1334 §2.2)", () => {
    const p = unwrap(parsePap(fromHex(ACK + "0000ffff")));
    assert.deepEqual(p, { code: PAP_AUTH_ACK, id: 7, message: "ok" });
  });

  test("Ack/Nak without a Msg-Length octet reads as an empty message", () => {
    assert.deepEqual(unwrap(parsePap(fromHex("03090004"))), { code: PAP_AUTH_NAK, id: 9, message: "" });
  });
});

describe("PAP round trips", () => {
  const packets: PapPacket[] = [
    { code: PAP_AUTH_REQUEST, id: 0, peerId: "", password: "" },
    { code: PAP_AUTH_REQUEST, id: 255, peerId: "DOMAIN\\user", password: "pässwörd with spaces" },
    { code: PAP_AUTH_REQUEST, id: 3, peerId: "u".repeat(255), password: "p".repeat(255) },
    { code: PAP_AUTH_ACK, id: 1, message: "Access granted" },
    { code: PAP_AUTH_NAK, id: 2, message: "" },
  ];
  for (const p of packets) {
    test(`code ${p.code} id ${p.id}`, () => {
      const bytes = emitPap(p);
      assert.equal((bytes[2] << 8) | bytes[3], bytes.length);
      assert.deepEqual(unwrap(parsePap(bytes)), p);
    });
  }

  test("emit refuses a field longer than its length octet allows", () => {
    assert.throws(() => emitPap({ code: PAP_AUTH_REQUEST, id: 1, peerId: "x".repeat(256), password: "" }), RangeError);
  });
});

describe("PAP malformed input", () => {
  const bad: Array<[string, string, string]> = [
    ["shorter than the header", "0107", "short"],
    ["Length below 4", "01070003", "bad-length"],
    ["Length beyond the data", "0107000a0100", "bad-length"],
    ["Request with no Peer-ID-Length", "01070004", "short"],
    ["Peer-ID runs past Length", "0107000609", "bad-length"],
    ["Password runs past Length", "0107000800410561", "bad-length"],
    ["Message runs past Length", "020700060961", "bad-length"],
    ["unknown code", "04070004", "bad-code"],
  ];
  for (const [name, hex, code] of bad) {
    test(name, () => {
      const r = parsePap(fromHex(hex));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, code);
        assert.match(r.error.message, /PAP/);
      }
    });
  }

  test("every truncation of a valid request fails cleanly", () => {
    const full = fromHex(REQUEST);
    for (let n = 0; n < full.length; n++) {
      const r = parsePap(full.subarray(0, n));
      assert.equal(r.ok, false, `truncated to ${n}`);
    }
  });
});
