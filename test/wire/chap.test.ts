import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import {
  parseChap,
  emitChap,
  CHAP_CHALLENGE,
  CHAP_RESPONSE,
  CHAP_SUCCESS,
  CHAP_FAILURE,
  type ChapPacket,
  parseMsChapV1Response,
  emitMsChapV1Response,
  parseMsChapV2Response,
  emitMsChapV2Response,
  parseMsChapFailure,
  formatMsChapFailure,
  parseMsChapV2Success,
  formatMsChapV2Success,
  isAuthenticatorResponse,
  mschapErrorText,
  MSCHAP_ERROR_RESTRICTED_LOGON_HOURS,
  MSCHAP_ERROR_ACCT_DISABLED,
  MSCHAP_ERROR_PASSWD_EXPIRED,
  MSCHAP_ERROR_NO_DIALIN_PERMISSION,
  MSCHAP_ERROR_AUTHENTICATION_FAILURE,
  MSCHAP_ERROR_CHANGING_PASSWORD,
  type MsChapFailure,
} from "../../src/wire/chap.js";
import { parsePppHeader } from "../../src/wire/ppp-frame.js";
import { PPP_CHAP } from "../../src/wire/ppp-protocols.js";

// Captured by a Cisco PIX 6.x ("debug ppp io") authenticating Windows clients with MS-CHAPv1 (LCP option 0305c22380).
const CAPTURED_CHALLENGE_1 = "ff03c2230101000d08d36602863630eca8";
const CAPTURED_CHALLENGE_2 = "ff03c2230101000d08f3686cc47e37ce67";
const CAPTURED_SUCCESS = "ff03c22303010004";
/** The debug output cut this Response off after 18 octets; its Length says 58. */
const CAPTURED_RESPONSE_PREFIX = "ff03c2230201003a31d4d0a397a064668bb00d954a85";

function chapPayload(frameHex: string): Uint8Array {
  const frame = fromHex(frameHex);
  const h = unwrap(parsePppHeader(frame, 0, frame.length));
  assert.equal(h.protocol, PPP_CHAP);
  return frame.subarray(h.headerLen);
}

// RFC 2759 §9.2: user "User", password "clientPass".
const RFC2759_PEER_CHALLENGE = "21402324255E262A28295F2B3A337C7E";
const RFC2759_NT_RESPONSE = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
const RFC2759_AUTH_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
/** Response packet id 1 built by hand from RFC 2759 §4 around the §9.2 values: Length 4+1+49+4 = 58. */
const RFC2759_RESPONSE_PACKET =
  "02 01 003a 31" + RFC2759_PEER_CHALLENGE + "0000000000000000" + RFC2759_NT_RESPONSE + "00" + "55736572";

// RFC 2433 Appendix B.2: password "MyPw", challenge 102DB5DF085D3041.
const RFC2433_NT_RESPONSE = "4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61";

describe("CHAP captured vectors", () => {
  test("MS-CHAPv1 Challenges: 8-octet value, empty name", () => {
    for (const [hex, value] of [
      [CAPTURED_CHALLENGE_1, "d36602863630eca8"],
      [CAPTURED_CHALLENGE_2, "f3686cc47e37ce67"],
    ]) {
      const payload = chapPayload(hex);
      const p = unwrap(parseChap(payload));
      assert.equal(p.code, CHAP_CHALLENGE);
      assert.equal(p.id, 1);
      if (p.code !== CHAP_CHALLENGE) return;
      assert.equal(toHex(p.value), value);
      assert.equal(p.name, "");
      assert.deepEqual(emitChap(p), payload);
    }
  });

  test("Success with an empty message", () => {
    const payload = chapPayload(CAPTURED_SUCCESS);
    const p = unwrap(parseChap(payload));
    assert.deepEqual(p, { code: CHAP_SUCCESS, id: 1, message: "" });
    assert.deepEqual(emitChap(p), payload);
  });

  test("the truncated Response is refused with its Length named", () => {
    const r = parseChap(chapPayload(CAPTURED_RESPONSE_PREFIX));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, "bad-length");
      assert.match(r.error.message, /Length field 58/);
    }
  });
});

describe("MS-CHAPv2 Response packet (RFC 2759 §4 with the §9.2 values)", () => {
  test("parses into peer challenge, NT response, flags and name", () => {
    const bytes = fromHex(RFC2759_RESPONSE_PACKET);
    const p = unwrap(parseChap(bytes));
    assert.equal(p.code, CHAP_RESPONSE);
    if (p.code !== CHAP_RESPONSE) return;
    assert.equal(p.id, 1);
    assert.equal(p.name, "User");
    const v = unwrap(parseMsChapV2Response(p.value));
    assert.equal(toHex(v.peerChallenge), RFC2759_PEER_CHALLENGE.toLowerCase());
    assert.equal(toHex(v.ntResponse), RFC2759_NT_RESPONSE.toLowerCase());
    assert.equal(v.flags, 0);
  });

  test("is rebuilt byte for byte from its parts", () => {
    const value = emitMsChapV2Response({
      peerChallenge: fromHex(RFC2759_PEER_CHALLENGE),
      ntResponse: fromHex(RFC2759_NT_RESPONSE),
      flags: 0,
    });
    const bytes = emitChap({ code: CHAP_RESPONSE, id: 1, value, name: "User" });
    assert.equal(toHex(bytes), toHex(fromHex(RFC2759_RESPONSE_PACKET)));
  });

  test("wrong value lengths are refused", () => {
    for (const n of [0, 48, 50]) {
      const r = parseMsChapV2Response(new Uint8Array(n));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error.message, new RegExp(`${n} octets, expected 49`));
    }
  });
});

describe("MS-CHAPv1 Response value (RFC 2433 §6)", () => {
  test("round trip with the Appendix B.2 NT response", () => {
    const rec = { lmResponse: new Uint8Array(24), ntResponse: fromHex(RFC2433_NT_RESPONSE), useNt: true };
    const value = emitMsChapV1Response(rec);
    assert.equal(value.length, 49);
    assert.equal(value[48], 1);
    assert.equal(toHex(value.subarray(24, 48)), RFC2433_NT_RESPONSE.toLowerCase());
    assert.deepEqual(unwrap(parseMsChapV1Response(value)), rec);
  });

  test("use-NT flag 0 and an LM response", () => {
    const lm = fromHex("0102030405060708090a0b0c0d0e0f101112131415161718");
    const rec = unwrap(parseMsChapV1Response(emitMsChapV1Response({ lmResponse: lm, ntResponse: new Uint8Array(24), useNt: false })));
    assert.equal(rec.useNt, false);
    assert.deepEqual(rec.lmResponse, lm);
  });

  test("flag values other than 0/1 and wrong lengths are refused", () => {
    const v = new Uint8Array(49);
    v[48] = 2;
    const r = parseMsChapV1Response(v);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, "bad-flag");
    assert.equal(parseMsChapV1Response(new Uint8Array(24)).ok, false);
  });
});

describe("CHAP round trips", () => {
  const packets: ChapPacket[] = [
    { code: CHAP_CHALLENGE, id: 0, value: fromHex("00"), name: "" },
    { code: CHAP_CHALLENGE, id: 200, value: new Uint8Array(16).fill(7), name: "pptp-ts" },
    { code: CHAP_RESPONSE, id: 255, value: new Uint8Array(255).fill(1), name: "BIGCO\\johndoe" },
    { code: CHAP_SUCCESS, id: 9, message: "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted" },
    { code: CHAP_FAILURE, id: 10, message: "E=691 R=0" },
    { code: CHAP_FAILURE, id: 11, message: "" },
  ];
  for (const p of packets) {
    test(`code ${p.code} id ${p.id}`, () => {
      const bytes = emitChap(p);
      assert.equal((bytes[2] << 8) | bytes[3], bytes.length);
      assert.deepEqual(unwrap(parseChap(bytes)), p);
      // Trailing link padding does not change the result (RFC 1994 §4: Length delimits the packet).
      const padded = new Uint8Array(bytes.length + 3);
      padded.set(bytes);
      assert.deepEqual(unwrap(parseChap(padded)), p);
    });
  }

  test("emit refuses empty or oversized values", () => {
    assert.throws(() => emitChap({ code: CHAP_CHALLENGE, id: 1, value: new Uint8Array(0), name: "" }), RangeError);
    assert.throws(() => emitChap({ code: CHAP_RESPONSE, id: 1, value: new Uint8Array(256), name: "" }), RangeError);
  });
});

describe("CHAP malformed input", () => {
  const bad: Array<[string, string, string]> = [
    ["shorter than the header", "010100", "short"],
    ["Length below 4", "01010003", "bad-length"],
    ["Length beyond the data", "01010010", "bad-length"],
    ["Challenge without Value-Size", "01010004", "short"],
    ["Value-Size 0", "0101000500", "bad-value-size"],
    ["Value-Size past Length", "010100070801 02", "bad-value-size"],
    ["unknown code", "05010004", "bad-code"],
  ];
  for (const [name, hex, code] of bad) {
    test(name, () => {
      const r = parseChap(fromHex(hex));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, code);
        assert.match(r.error.message, /CHAP/);
      }
    });
  }

  test("every truncation of the RFC 2759 Response fails cleanly", () => {
    const full = fromHex(RFC2759_RESPONSE_PACKET);
    for (let n = 0; n < full.length; n++) assert.equal(parseChap(full.subarray(0, n)).ok, false, `truncated to ${n}`);
  });
});

describe("MS-CHAP Failure message (RFC 2759 §6, RFC 2433 §8)", () => {
  test("the full v2 form", () => {
    const text = "E=691 R=0 C=00112233445566778899AABBCCDDEEFF V=3 M=Authentication failed";
    const f = unwrap(parseMsChapFailure(text));
    assert.equal(f.error, 691);
    assert.equal(f.retry, false);
    assert.equal(toHex(f.challenge ?? new Uint8Array(0)), "00112233445566778899aabbccddeeff");
    assert.equal(f.version, 3);
    assert.equal(f.message, "Authentication failed");
    assert.equal(formatMsChapFailure(f), text);
  });

  test("the v1 form without C, V or M", () => {
    assert.deepEqual(unwrap(parseMsChapFailure("E=691 R=1")), { error: 691, retry: true });
    assert.deepEqual(unwrap(parseMsChapFailure("E=646 R=0 C=0102030405060708 V=2")), {
      error: 646,
      retry: false,
      challenge: fromHex("0102030405060708"),
      version: 2,
    });
  });

  test("M= keeps spaces and equals signs; unknown tokens are ignored", () => {
    const f = unwrap(parseMsChapFailure("E=648 X=zz R=0 junk V=3 M=Password expired = change it"));
    assert.equal(f.error, 648);
    assert.equal(f.message, "Password expired = change it");
  });

  test("round trips", () => {
    const cases: MsChapFailure[] = [
      { error: 709, retry: false },
      { error: 691, retry: true, challenge: new Uint8Array(16).fill(0xab), version: 3, message: "try again" },
      { error: 649, retry: false, message: "" },
    ];
    for (const f of cases) assert.deepEqual(unwrap(parseMsChapFailure(formatMsChapFailure(f))), f);
  });

  test("malformed fields are refused", () => {
    const bad: Array<[string, string]> = [
      ["R=0 V=3", "missing-error-code"],
      ["E=abc R=0", "bad-error-code"],
      ["E=691 R=2", "bad-retry"],
      ["E=691 R=0 C=123", "bad-challenge"],
      ["E=691 R=0 C=zz112233445566778899aabbccddeeff", "bad-challenge"],
      ["E=691 R=0 V=x", "bad-version"],
      ["", "missing-error-code"],
    ];
    for (const [text, code] of bad) {
      const r = parseMsChapFailure(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) assert.equal(r.error.code, code, text);
    }
  });
});

describe("MS-CHAPv2 Success message (RFC 2759 §5)", () => {
  test("with M=", () => {
    const text = `${RFC2759_AUTH_RESPONSE} M=Access granted`;
    const s = unwrap(parseMsChapV2Success(text));
    assert.deepEqual(s, { authenticatorResponse: RFC2759_AUTH_RESPONSE, message: "Access granted" });
    assert.equal(formatMsChapV2Success(s), text);
  });

  test("without a message, and with lower-case hex", () => {
    assert.deepEqual(unwrap(parseMsChapV2Success(RFC2759_AUTH_RESPONSE)), { authenticatorResponse: RFC2759_AUTH_RESPONSE, message: "" });
    const lower = "S=" + RFC2759_AUTH_RESPONSE.slice(2).toLowerCase();
    assert.equal(unwrap(parseMsChapV2Success(lower)).authenticatorResponse, lower);
    assert.equal(formatMsChapV2Success({ authenticatorResponse: RFC2759_AUTH_RESPONSE, message: "" }), RFC2759_AUTH_RESPONSE);
  });

  test("bad S= values are refused", () => {
    for (const text of ["", "M=hello", "S=407A5589115FD0D6209F510FE9C04566932CDA5", "S=407A5589115FD0D6209F510FE9C04566932CDA5G", `${RFC2759_AUTH_RESPONSE}X M=a`]) {
      const r = parseMsChapV2Success(text);
      assert.equal(r.ok, false, text);
    }
    assert.equal(isAuthenticatorResponse(RFC2759_AUTH_RESPONSE), true);
    assert.equal(isAuthenticatorResponse(RFC2759_AUTH_RESPONSE + "0"), false);
  });
});

describe("MS-CHAP error codes", () => {
  test("plain-language text for each code the RFCs list", () => {
    assert.equal(mschapErrorText(MSCHAP_ERROR_RESTRICTED_LOGON_HOURS), "restricted logon hours");
    assert.equal(mschapErrorText(MSCHAP_ERROR_ACCT_DISABLED), "account disabled");
    assert.equal(mschapErrorText(MSCHAP_ERROR_PASSWD_EXPIRED), "password expired");
    assert.equal(mschapErrorText(MSCHAP_ERROR_NO_DIALIN_PERMISSION), "no dial-in permission");
    assert.equal(mschapErrorText(MSCHAP_ERROR_AUTHENTICATION_FAILURE), "authentication failure");
    assert.equal(mschapErrorText(MSCHAP_ERROR_CHANGING_PASSWORD), "error changing password");
    assert.deepEqual(
      [MSCHAP_ERROR_RESTRICTED_LOGON_HOURS, MSCHAP_ERROR_ACCT_DISABLED, MSCHAP_ERROR_PASSWD_EXPIRED, MSCHAP_ERROR_NO_DIALIN_PERMISSION, MSCHAP_ERROR_AUTHENTICATION_FAILURE, MSCHAP_ERROR_CHANGING_PASSWORD],
      [646, 647, 648, 649, 691, 709],
    );
  });
  test("unknown codes are named, not dropped", () => {
    assert.equal(mschapErrorText(123), "unknown error 123");
  });
});
