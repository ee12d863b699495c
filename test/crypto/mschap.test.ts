import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  challengeResponse,
  decryptPwBlockWithPasswordHash,
  encryptPwBlockWithPasswordHash,
  hashNtPasswordHash,
  lmPasswordHash,
  lmPasswordProblem,
  mschap1LmResponse,
  mschap1NtResponse,
  mschap2AuthenticatorResponse,
  mschap2ChallengeHash,
  mschap2NtResponse,
  ntPasswordHash,
  ntPasswordHashEncryptedWithBlock,
  newPasswordEncryptedWithOldNtPasswordHash,
  oldNtPasswordHashEncryptedWithNewNtPasswordHash,
  stripDomain,
  utf16le,
  PW_BLOCK_SIZE,
} from "../../src/crypto/mschap.js";
import { desEncrypt7 } from "../../src/crypto/des.js";
import { Rc4 } from "../../src/crypto/rc4.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { createHash } from "node:crypto";

// RFC 2759 §9.2 "Hash Example" (also the inputs of RFC 3079 §3.5).
const USER = "User";
const PASSWORD = "clientPass";
const AUTH_CHALLENGE = fromHex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
const PEER_CHALLENGE = fromHex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");

describe("MS-CHAPv1 (RFC 2433)", () => {
  test("Appendix B.2 hash example: password \"MyPw\"", () => {
    assert.equal(toHex(utf16le("MyPw")), "4d00790050007700");
    const hash = ntPasswordHash("MyPw");
    assert.equal(toHex(hash), "fc156af7edcd6c0edde3337d427f4eac");
    const response = mschap1NtResponse(fromHex("10 2D B5 DF 08 5D 30 41"), hash);
    assert.equal(toHex(response), "4e9d3c8f9cfd385d5bf4d3246791956ca4c351ab409a3d61");
  });

  test("ChallengeResponse is three DES blocks under the zero-padded hash", () => {
    const hash = fromHex("fc156af7edcd6c0edde3337d427f4eac");
    const challenge = fromHex("10 2D B5 DF 08 5D 30 41");
    const r = challengeResponse(challenge, hash);
    assert.deepEqual(r.subarray(16, 24), desEncrypt7(fromHex("4eac0000000000"), challenge));
    assert.throws(() => challengeResponse(new Uint8Array(7), hash), RangeError);
    assert.throws(() => challengeResponse(challenge, new Uint8Array(15)), RangeError);
  });

  test("LmPasswordHash of \"clientPass\" (value printed in RFC 3079 §2.5.1) and case-insensitivity", () => {
    assert.equal(toHex(lmPasswordHash("clientPass")), "76a152936096d7830e2390227404afd2");
    assert.deepEqual(lmPasswordHash("CLIENTPASS"), lmPasswordHash("clientpass"));
    // Only the first 14 characters count.
    assert.deepEqual(lmPasswordHash("abcdefghijklmnXYZ"), lmPasswordHash("ABCDEFGHIJKLMN"));
    assert.notDeepEqual(lmPasswordHash("abcdefghijklm"), lmPasswordHash("abcdefghijklmn"));
  });

  test("LmPasswordHash vectors: the empty password, \"password\", RFC 2433 B.2's \"MyPw\", 14 characters", () => {
    // The empty and "password" values are the LM hashes every password-audit tool prints; the others were
    // computed independently with OpenSSL's DES-ECB over the RFC 2433 §A.2/§A.3 recipe.
    assert.equal(toHex(lmPasswordHash("")), "aad3b435b51404eeaad3b435b51404ee");
    assert.equal(toHex(lmPasswordHash("password")), "e52cac67419a9a224a3b108f3fa6cb6d");
    assert.equal(toHex(lmPasswordHash("PassWord")), "e52cac67419a9a224a3b108f3fa6cb6d");
    // A password of up to 7 characters leaves the second half empty: its half is the empty password's.
    assert.equal(toHex(lmPasswordHash("MyPw")), "75ba30198e6d1975aad3b435b51404ee");
    assert.equal(toHex(lmPasswordHash("abcdefghijklmn")), "e0c510199cc66abd8c51ec214bebdea1");
  });

  test("lmPasswordProblem: ASCII of up to 14 characters has an LM hash; longer or non-ASCII has none we can trust", () => {
    for (const ok of ["", "clientPass", "abcdefghijklmn", "P@ss w0rd~!#$%"]) assert.equal(lmPasswordProblem(ok), undefined, ok);
    assert.match(lmPasswordProblem("abcdefghijklmno") ?? "", /longer than 14 characters.*RFC 2433 §6/);
    assert.match(lmPasswordProblem("pässwort") ?? "", /non-ASCII/);
    assert.match(lmPasswordProblem("пароль") ?? "", /non-ASCII/);
    // The reason never quotes the password.
    assert.ok(!(lmPasswordProblem("s3cret-but-much-too-long") ?? "").includes("s3cret"));
  });

  test("LmChallengeResponse (reference: OpenSSL DES over the RFC 3079 LM hash)", () => {
    const r = mschap1LmResponse(fromHex("10 2d b5 df 08 5d 30 41"), "clientPass");
    assert.equal(toHex(r), "edbac3d1b2bc24bda687a4ebde1f18943f4a329d5c372a8f");
  });
});

describe("MS-CHAPv2 (RFC 2759)", () => {
  test("§9.2 hash example, step by step", () => {
    assert.equal(toHex(utf16le(PASSWORD)), "63006c00690065006e0074005000610073007300");
    assert.equal(toHex(mschap2ChallengeHash(PEER_CHALLENGE, AUTH_CHALLENGE, USER)), "d02e4386bce91226");
    const ntHash = ntPasswordHash(PASSWORD);
    assert.equal(toHex(ntHash), "44ebba8d5312b8d611474411f56989ae");
    assert.equal(toHex(hashNtPasswordHash(ntHash)), "41c00c584bd2d91c4017a2a12fa59f3f");
    const ntResponse = mschap2NtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, USER, ntHash);
    assert.equal(toHex(ntResponse), "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df");
    assert.equal(
      mschap2AuthenticatorResponse(ntHash, ntResponse, PEER_CHALLENGE, AUTH_CHALLENGE, USER),
      "S=407A5589115FD0D6209F510FE9C04566932CDA56",
    );
  });

  test("the domain prefix is not part of the challenge hash (§8.2)", () => {
    assert.equal(stripDomain("BIGCO\\User"), "User");
    assert.equal(stripDomain("User"), "User");
    assert.equal(stripDomain("A\\B\\User"), "User");
    assert.equal(stripDomain(stripDomain("A\\B\\User")), "User");
    assert.equal(stripDomain("trailing\\"), "");
    const ntHash = ntPasswordHash(PASSWORD);
    assert.equal(
      toHex(mschap2NtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, "BIGCO\\User", ntHash)),
      "82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df",
    );
    const ntResponse = mschap2NtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, USER, ntHash);
    assert.equal(
      mschap2AuthenticatorResponse(ntHash, ntResponse, PEER_CHALLENGE, AUTH_CHALLENGE, "BIGCO\\User"),
      "S=407A5589115FD0D6209F510FE9C04566932CDA56",
    );
  });

  test("every input changes the result", () => {
    const ntHash = ntPasswordHash(PASSWORD);
    const base = toHex(mschap2NtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, USER, ntHash));
    const flip = (b: Uint8Array) => {
      const c = b.slice();
      c[15] ^= 1;
      return c;
    };
    assert.notEqual(toHex(mschap2NtResponse(flip(AUTH_CHALLENGE), PEER_CHALLENGE, USER, ntHash)), base);
    assert.notEqual(toHex(mschap2NtResponse(AUTH_CHALLENGE, flip(PEER_CHALLENGE), USER, ntHash)), base);
    assert.notEqual(toHex(mschap2NtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, "user", ntHash)), base);
    assert.notEqual(toHex(mschap2NtResponse(AUTH_CHALLENGE, PEER_CHALLENGE, USER, ntPasswordHash("clientpass"))), base);
  });

  test("size checks", () => {
    assert.throws(() => mschap2ChallengeHash(new Uint8Array(15), AUTH_CHALLENGE, USER), RangeError);
    assert.throws(() => mschap2ChallengeHash(PEER_CHALLENGE, new Uint8Array(8), USER), RangeError);
    assert.throws(() => hashNtPasswordHash(new Uint8Array(20)), RangeError);
    assert.throws(
      () => mschap2AuthenticatorResponse(ntPasswordHash(PASSWORD), new Uint8Array(23), PEER_CHALLENGE, AUTH_CHALLENGE, USER),
      RangeError,
    );
  });
});

describe("MS-CHAPv2 Change-Password helpers (RFC 2759 §8.9-8.13)", () => {
  test("PWBLOCK round trip, layout and wrong-key rejection", () => {
    const oldHash = ntPasswordHash("oldSecret");
    const filler = new Uint8Array(PW_BLOCK_SIZE);
    for (let i = 0; i < filler.length; i++) filler[i] = (i * 13 + 5) & 0xff;
    const block = encryptPwBlockWithPasswordHash("n3wPässword", oldHash, filler);
    assert.equal(block.length, PW_BLOCK_SIZE);
    assert.equal(decryptPwBlockWithPasswordHash(block, oldHash), "n3wPässword");

    // Decrypting by hand shows the §8.10 layout: password at the end of the 512-byte field, its byte length after it.
    const clear = new Uint8Array(PW_BLOCK_SIZE);
    const rc4 = new Rc4();
    rc4.setKey(oldHash);
    rc4.process(block, 0, clear, 0, PW_BLOCK_SIZE);
    const pw = utf16le("n3wPässword");
    assert.deepEqual(clear.subarray(512 - pw.length, 512), pw);
    assert.deepEqual(clear.subarray(512, 516), new Uint8Array([pw.length, 0, 0, 0]));
    assert.deepEqual(clear.subarray(0, 512 - pw.length), filler.subarray(0, 512 - pw.length), "filler kept");

    assert.equal(decryptPwBlockWithPasswordHash(block, ntPasswordHash("notTheOldOne")), undefined);
    const empty = encryptPwBlockWithPasswordHash("", oldHash, new Uint8Array(PW_BLOCK_SIZE));
    assert.equal(decryptPwBlockWithPasswordHash(empty, oldHash), "");
    assert.equal(decryptPwBlockWithPasswordHash(block.subarray(1), oldHash), undefined);
  });

  test("NtPasswordHashEncryptedWithBlock is two DES blocks keyed by the block's 7-byte halves", () => {
    const oldHash = ntPasswordHash("MyPw");
    const newHash = ntPasswordHash(PASSWORD);
    const enc = ntPasswordHashEncryptedWithBlock(oldHash, newHash);
    assert.deepEqual(enc.subarray(0, 8), desEncrypt7(newHash.subarray(0, 7), oldHash.subarray(0, 8)));
    assert.deepEqual(enc.subarray(8, 16), desEncrypt7(newHash.subarray(7, 14), oldHash.subarray(8, 16)));
  });

  // RFC 2759 has no Change-Password vectors, so these start from its §9.2 inputs (old password "clientPass", whose
  // PasswordHash 44EBBA8D... §9.2 prints) and were computed independently: MD4, RC4 and DES-ECB from the OpenSSL
  // command line (legacy provider), the 7-to-8-octet DES key spread with odd parity by hand, per §8.9-§8.13.
  const NEW_PASSWORD = "N3w-P\u00e4ssw0rd";
  test("NewPasswordEncryptedWithOldNtPasswordHash (§8.9) from the §9.2 password, independently computed", () => {
    const oldHash = ntPasswordHash(PASSWORD);
    assert.equal(toHex(oldHash), "44ebba8d5312b8d611474411f56989ae", "RFC 2759 §9.2 PasswordHash");
    const filler = new Uint8Array(PW_BLOCK_SIZE);
    for (let i = 0; i < filler.length; i++) filler[i] = (i * 7 + 3) & 0xff;
    const enc = newPasswordEncryptedWithOldNtPasswordHash(NEW_PASSWORD, oldHash, filler);
    assert.equal(enc.length, 516);
    assert.equal(toHex(enc.subarray(0, 16)), "91e8daf7acdfdd20134eb2d8376f528c");
    assert.equal(toHex(enc.subarray(500, 516)), "29ec477f7e18ff7ff3459f58aa343a7c");
    assert.equal(createHash("sha1").update(enc).digest("hex"), "fcb2c166546d600531dfa1c18e010408f1f44976");
    assert.equal(decryptPwBlockWithPasswordHash(enc, oldHash), NEW_PASSWORD);
  });

  test("OldNtPasswordHashEncryptedWithNewNtPasswordHash (§8.12), independently computed", () => {
    const newHash = ntPasswordHash(NEW_PASSWORD);
    assert.equal(toHex(newHash), "c79624d31a7921af221decf85749e955");
    assert.equal(toHex(oldNtPasswordHashEncryptedWithNewNtPasswordHash(newHash, ntPasswordHash(PASSWORD))), "a295e105751335e70843f2e1b32095d0");
    assert.throws(() => oldNtPasswordHashEncryptedWithNewNtPasswordHash(new Uint8Array(15), ntPasswordHash(PASSWORD)), RangeError);
  });
});
