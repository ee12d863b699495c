import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  getNewKeyFromSha,
  mppeInitialSessionKey,
  mppeKeysMschap1,
  mppeKeysMschap1Lm,
  mppeKeysMschap2,
  mppeNextSessionKey,
  mppeShortKeysProblem,
  mppeStartKeys,
  mschap2AsymmetricStartKey,
  mschap2MasterKey,
  reduceKeyStrength,
  type MppeBits,
} from "../../src/crypto/mppe-keys.js";
import { MppeSessionKey } from "../../src/crypto/mppe-session-key.js";
import { hashNtPasswordHash, mschap2NtResponse, ntPasswordHash } from "../../src/crypto/mschap.js";
import { Rc4 } from "../../src/crypto/rc4.js";
import { fromHex, toHex, utf8 } from "../../src/wire/bytes.js";

const PASSWORD = "clientPass";
const NT_RESPONSE = fromHex("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF");
const SEND_START_128 = fromHex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");

function rc4Once(key: Uint8Array, data: Uint8Array): Uint8Array {
  const rc4 = new Rc4();
  rc4.setKey(key);
  const out = new Uint8Array(data.length);
  rc4.process(data, 0, out, 0, data.length);
  return out;
}

describe("RFC 3079 §2: MS-CHAPv1 keys", () => {
  test("§2.5.3 sample 128-bit derivation (step 3 of the RFC misprints 'ac c1' as 'ac ca')", () => {
    const ntHash = ntPasswordHash(PASSWORD);
    assert.equal(toHex(ntHash), "44ebba8d5312b8d611474411f56989ae");
    assert.equal(toHex(hashNtPasswordHash(ntHash)), "41c00c584bd2d91c4017a2a12fa59f3f");
    const keys = mppeKeysMschap1(ntHash, fromHex("10 2d b5 df 08 5d 30 41"));
    assert.equal(toHex(keys.send), "a8947850cfc0acc1d1789fb62ddcddb0");
    assert.deepEqual(keys.recv, keys.send, "MS-CHAPv1 keys are the same in both directions");
    assert.notEqual(keys.recv, keys.send, "but not the same buffer, so one side cannot clobber the other");
    assert.equal(toHex(mppeInitialSessionKey(keys.send, 128)), "59d159bc09f76f1da2a86a28ffec0b1e");
  });

  test("§2.5.1 / §2.5.2 LAN-Manager based 40- and 56-bit samples", () => {
    const keys = mppeKeysMschap1Lm(PASSWORD);
    assert.equal(toHex(keys.send), "76a152936096d7830e2390227404afd2");
    assert.equal(toHex(getNewKeyFromSha(keys.send, keys.send, 8)), "d80801538cec4a08");
    assert.equal(toHex(mppeInitialSessionKey(keys.send, 40)), "d1269e538cec4a08");
    assert.equal(toHex(mppeInitialSessionKey(keys.send, 56)), "d10801538cec4a08");
  });

  test("mppeKeysMschap1 with the password: 40/56-bit from the LM hash (§2.5.1/§2.5.2), 128-bit from the NT hash (§2.5.3)", () => {
    const challenge = fromHex("10 2d b5 df 08 5d 30 41");
    const keys = mppeKeysMschap1(ntPasswordHash(PASSWORD), challenge, PASSWORD);
    assert.equal(mppeShortKeysProblem(keys), undefined);
    const k128 = mppeStartKeys(keys, 128);
    assert.ok(typeof k128 !== "string");
    assert.equal(toHex(mppeInitialSessionKey(k128.send, 128)), "59d159bc09f76f1da2a86a28ffec0b1e");
    for (const [bits, expected] of [[40, "d1269e538cec4a08"], [56, "d10801538cec4a08"]] as const) {
      const k = mppeStartKeys(keys, bits);
      assert.ok(typeof k !== "string");
      assert.equal(toHex(k.send.subarray(0, 8)), "76a152936096d783", "first 8 octets of LmPasswordHash");
      assert.deepEqual(k.recv, k.send, "the same in both directions");
      assert.equal(toHex(mppeInitialSessionKey(k.send, bits)), expected);
      assert.equal(toHex(mppeInitialSessionKey(k.recv, bits)), expected);
      // The allocation-free session key the MPPE engine runs starts from the same value.
      assert.equal(toHex(new MppeSessionKey(k.send, bits).session), expected);
    }
  });

  test("mppeKeysMschap1 without the password, or with one that has no LM hash: 40/56-bit unavailable, 128-bit unaffected", () => {
    const challenge = fromHex("10 2d b5 df 08 5d 30 41");
    const cases: [string | undefined, RegExp][] = [
      [undefined, /only the NT password hash is known.*LAN Manager hash.*RFC 3079 §2\.1/],
      ["a-password-of-20-chr", /longer than 14 characters/],
      ["grüezi", /non-ASCII/],
    ];
    for (const [password, why] of cases) {
      const nt = ntPasswordHash(password ?? PASSWORD);
      const keys = mppeKeysMschap1(nt, challenge, password);
      assert.match(mppeShortKeysProblem(keys) ?? "", why);
      assert.match(String(mppeStartKeys(keys, 40)), why);
      assert.match(String(mppeStartKeys(keys, 56)), why);
      assert.deepEqual(mppeStartKeys(keys, 128), keys);
      assert.deepEqual(keys.send, mppeKeysMschap1(nt, challenge).send);
    }
  });

  test("MS-CHAPv2 keys all strengths from the same start keys (§3.1: 40/56-bit use the first 8 octets)", () => {
    const keys = mppeKeysMschap2(ntPasswordHash(PASSWORD), NT_RESPONSE, true);
    assert.equal(mppeShortKeysProblem(keys), undefined);
    for (const bits of [40, 56, 128] as const) assert.equal(mppeStartKeys(keys, bits), keys);
  });

  test("authenticator and peer derive the same MS-CHAPv1 keys (only the password and challenge matter)", () => {
    const challenge = fromHex("01 23 45 67 89 ab cd ef");
    const server = mppeKeysMschap1(ntPasswordHash("s3cret"), challenge);
    const client = mppeKeysMschap1(ntPasswordHash("s3cret"), challenge);
    assert.deepEqual(server.send, client.recv);
    assert.deepEqual(server.recv, client.send);
    assert.notDeepEqual(mppeKeysMschap1(ntPasswordHash("s3cret"), fromHex("01 23 45 67 89 ab cd ee")).send, server.send);
  });
});

describe("RFC 3079 §3: MS-CHAPv2 keys", () => {
  const ntHash = ntPasswordHash(PASSWORD);

  test("§3.5 GetMasterKey and GetAsymmetricStartKey samples", () => {
    assert.equal(toHex(mschap2MasterKey(ntHash, NT_RESPONSE)), "fdece3717a8c838cb388e527ae3cdd31");
    const master = fromHex("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31");
    // The sample is the server's send key; SendStartKey40/56 are its first 8 bytes.
    assert.equal(toHex(mschap2AsymmetricStartKey(master, true, true)), toHex(SEND_START_128));
    const server = mppeKeysMschap2(ntHash, NT_RESPONSE, true);
    assert.equal(toHex(server.send), toHex(SEND_START_128));
  });

  test("§3.5.1-3.5.3 initial send session keys and their 'test message' ciphertexts", () => {
    const message = utf8("test message");
    const k40 = mppeInitialSessionKey(SEND_START_128, 40);
    assert.equal(toHex(k40), "d1269ec49fa62e3e");
    assert.equal(toHex(rc4Once(k40, message)), "929137917e5803d668d75898");
    const k56 = mppeInitialSessionKey(SEND_START_128, 56);
    assert.equal(toHex(k56), "d15c00c49fa62e3e");
    // RFC 3079 §3.5.2 prints this ciphertext ending in "57 58"; the key it shows gives "57 b8".
    assert.equal(toHex(rc4Once(k56, message)), "3f106833fa448da842bc57b8");
    const k128 = mppeInitialSessionKey(SEND_START_128, 128);
    assert.equal(toHex(k128), "405cb2247a7956e6e211007ae27b22d4");
    assert.equal(toHex(rc4Once(k128, message)), "81848317df68846272fb5abe");
  });

  test("each side's send key is the other side's receive key, and the two directions differ", () => {
    const peerChallenge = fromHex("00112233445566778899aabbccddeeff");
    const authChallenge = fromHex("ffeeddccbbaa99887766554433221100");
    const resp = mschap2NtResponse(authChallenge, peerChallenge, "alice", ntPasswordHash("pw"));
    const server = mppeKeysMschap2(ntPasswordHash("pw"), resp, true);
    const client = mppeKeysMschap2(ntPasswordHash("pw"), resp, false);
    assert.deepEqual(server.send, client.recv);
    assert.deepEqual(server.recv, client.send);
    assert.notDeepEqual(server.send, server.recv);
    assert.equal(server.send.length, 16);
  });
});

describe("RFC 3078 §7.3 key changes", () => {
  // Reference chains computed once with OpenSSL's SHA-1 and RC4 (node --openssl-legacy-provider).
  const chains: Record<MppeBits, string[]> = {
    40: ["d1269ec49fa62e3e", "d1269ece4d98d181", "d1269edeefbd8aff", "d1269eb1a7fcb215"],
    56: ["d15c00c49fa62e3e", "d16182a2ab481407", "d178cc274f63faf1", "d1894870daab684a"],
    128: [
      "405cb2247a7956e6e211007ae27b22d4",
      "726f10500e2b54135b1b74d7682f0471",
      "2805bc7869bec825573a7803e95a3acd",
      "58128c36cabd54968139fd94b5883d4a",
    ],
  };

  for (const bits of [40, 56, 128] as const) {
    test(`${bits}-bit: reference chain, and the allocation-free MppeSessionKey agrees`, () => {
      let key = mppeInitialSessionKey(SEND_START_128, bits);
      const engine = new MppeSessionKey(SEND_START_128, bits);
      const got = [toHex(key)];
      assert.equal(toHex(engine.session), toHex(key));
      for (let i = 0; i < 3; i++) {
        key = mppeNextSessionKey(SEND_START_128, key, bits);
        engine.changeKey(i % 2 === 0);
        assert.equal(toHex(engine.session), toHex(key), `change ${i + 1}`);
        got.push(toHex(key));
      }
      assert.deepEqual(got, chains[bits]);
    });
  }

  test("MppeSessionKey keys its RC4 tables with the session key; resetTables rewinds them", () => {
    const engine = new MppeSessionKey(SEND_START_128, 128);
    const a = new Uint8Array(12);
    engine.rc4.process(utf8("test message"), 0, a, 0, 12);
    assert.equal(toHex(a), "81848317df68846272fb5abe");
    engine.resetTables();
    engine.rc4.process(utf8("test message"), 0, a, 0, 12);
    assert.equal(toHex(a), "81848317df68846272fb5abe");
  });

  test("reduceKeyStrength", () => {
    const k = fromHex("0011223344556677");
    reduceKeyStrength(k, 128);
    assert.equal(toHex(k), "0011223344556677");
    reduceKeyStrength(k, 56);
    assert.equal(toHex(k), "d111223344556677");
    reduceKeyStrength(k, 40);
    assert.equal(toHex(k), "d1269e3344556677");
  });

  test("a master key shorter than the session key is rejected", () => {
    assert.throws(() => mppeInitialSessionKey(new Uint8Array(8), 128), RangeError);
    assert.throws(() => new MppeSessionKey(new Uint8Array(7), 40), RangeError);
    assert.doesNotThrow(() => new MppeSessionKey(new Uint8Array(8), 56));
  });
});
