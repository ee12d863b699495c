import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeAuthorResponse,
  decodeHeader,
  encodeAcctReply,
  encodeAcctRequest,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
  encodeAuthorRequest,
  encodeAuthorResponse,
  encodePacket,
  obfuscate,
  packetBody,
  splitAvPair,
} from "../../src/aaa/tacacs/codec.js";
import { policyFromAvPairs, parseRoute } from "../../src/aaa/tacacs/policy.js";
import { fromHex, toHex, utf8 } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { seededRandom } from "../support/random.js";

const who = { privLvl: 1, authenType: 2, service: 3, user: "alice", port: "pptp/7", remAddr: "198.51.100.7" };

describe("TACACS+ header (RFC 8907 §4.1)", () => {
  test("encodes the twelve octets in order", () => {
    const p = encodePacket({ version: 0xc1, type: 1, seqNo: 1, sessionId: 0x01020304, flags: 4 }, Uint8Array.of(9, 9), undefined);
    assert.equal(toHex(p.subarray(0, 12)), "c1010105" + "01020304" + "00000002");
    const h = unwrap(decodeHeader(p));
    assert.deepEqual(h, { version: 0xc1, type: 1, seqNo: 1, flags: 5, sessionId: 0x01020304, length: 2 });
  });
  test("rejects short input, another major version, unknown types and huge lengths", () => {
    assert.equal((decodeHeader(new Uint8Array(11)) as { error: { code: string } }).error.code, "short");
    assert.equal((decodeHeader(fromHex("b0010100 00000001 00000000")) as { error: { code: string } }).error.code, "bad-version");
    assert.equal((decodeHeader(fromHex("c2010100 00000001 00000000")) as { error: { code: string } }).error.code, "bad-version");
    assert.equal((decodeHeader(fromHex("c0040100 00000001 00000000")) as { error: { code: string } }).error.code, "bad-type");
    assert.equal((decodeHeader(fromHex("c0010100 00000001 00100001")) as { error: { code: string } }).error.code, "too-long");
  });
});

describe("body obfuscation (RFC 8907 §4.5)", () => {
  // Hand-computed from the definition with plain MD5 calls: pad = MD5(sid|key|ver|seq) || MD5(sid|key|ver|seq|MD5_1).
  test("XORs with the MD5 chain of session_id, key, version, seq_no and the previous hash", () => {
    const key = utf8("tac-key");
    const h = { sessionId: 0xdeadbeef, version: 0xc1, seqNo: 3 };
    const head = Buffer.concat([Buffer.from("deadbeef", "hex"), Buffer.from("tac-key"), Buffer.from([0xc1, 3])]);
    const md5a = createHash("md5").update(head).digest();
    const md5b = createHash("md5").update(Buffer.concat([head, md5a])).digest();
    const body = new Uint8Array(20).map((_, i) => i);
    const want = body.map((b, i) => b ^ (i < 16 ? md5a[i] : md5b[i - 16]));
    assert.equal(toHex(obfuscate(body, h, key)), toHex(want));
    assert.equal(toHex(obfuscate(obfuscate(body, h, key), h, key)), toHex(body));
  });
  test("a packet's body is obfuscated unless the UNENCRYPTED flag is set, and packetBody undoes it", () => {
    const key = utf8("k");
    const body = unwrap(encodeAuthenStart({ ...who, action: 1, data: utf8("pw") }));
    const p = encodePacket({ version: 0xc1, type: 1, seqNo: 1, sessionId: 5 }, body, key);
    assert.notEqual(toHex(p.subarray(12)), toHex(body));
    assert.equal(p[3] & 1, 0);
    assert.equal(toHex(packetBody(p, unwrap(decodeHeader(p)), key)), toHex(body));
    const clear = encodePacket({ version: 0xc1, type: 1, seqNo: 1, sessionId: 5 }, body, undefined);
    assert.equal(clear[3] & 1, 1);
    assert.equal(toHex(clear.subarray(12)), toHex(body));
  });
  test("a wrong key turns the body into length fields that do not add up", () => {
    const body = unwrap(encodeAuthenReply({ status: 1, flags: 0, serverMsg: "welcome", data: new Uint8Array(0) }));
    const h = { sessionId: 77, version: 0xc1, seqNo: 2 };
    const wire = obfuscate(body, h, utf8("right"));
    assert.ok(decodeAuthenReply(obfuscate(wire, h, utf8("right"))).ok);
    assert.equal(decodeAuthenReply(obfuscate(wire, h, utf8("wrong"))).ok, false);
  });
});

describe("bodies round-trip with exact layouts", () => {
  test("authentication START (§5.1)", () => {
    const s = { ...who, action: 1, data: utf8("secret") };
    const b = unwrap(encodeAuthenStart(s));
    assert.equal(toHex(b.subarray(0, 8)), "0101020305060c06");
    assert.deepEqual(unwrap(decodeAuthenStart(b)), s);
  });
  test("authentication REPLY and CONTINUE (§5.2, §5.3)", () => {
    const r = { status: 2, flags: 1, serverMsg: "no", data: Uint8Array.of(1, 2, 3) };
    const b = unwrap(encodeAuthenReply(r));
    assert.equal(toHex(b), "020100020003" + "6e6f" + "010203");
    assert.deepEqual(unwrap(decodeAuthenReply(b)), r);
    const c = { userMsg: "x", data: Uint8Array.of(7), flags: 1 };
    const cb = unwrap(encodeAuthenContinue(c));
    assert.equal(toHex(cb), "0001000101" + "78" + "07");
    assert.deepEqual(unwrap(decodeAuthenContinue(cb)), c);
  });
  test("authorization REQUEST and RESPONSE (§6.1, §6.2)", () => {
    const q = { ...who, authenMethod: 6, args: ["service=ppp", "protocol=ip"] };
    const b = unwrap(encodeAuthorRequest(q));
    assert.equal(toHex(b.subarray(0, 10)), "0601020305060c02" + "0b0b");
    assert.deepEqual(unwrap(decodeAuthorRequest(b)), q);
    const r = { status: 1, serverMsg: "ok", data: new Uint8Array(0), args: ["addr=10.0.0.9", "timeout*30"] };
    const rb = unwrap(encodeAuthorResponse(r));
    assert.equal(toHex(rb.subarray(0, 8)), "01020002" + "0000" + "0d0a");
    assert.deepEqual(unwrap(decodeAuthorResponse(rb)), r);
  });
  test("accounting REQUEST and REPLY (§7.1, §7.2)", () => {
    const q = { ...who, flags: 2, authenMethod: 6, args: ["task_id=1"] };
    const b = unwrap(encodeAcctRequest(q));
    assert.equal(b[0], 2);
    assert.deepEqual(unwrap(decodeAcctRequest(b)), q);
    const r = { status: 1, serverMsg: "", data: Uint8Array.of(5) };
    const rb = unwrap(encodeAcctReply(r));
    assert.equal(toHex(rb), "0000000101" + "05");
    assert.deepEqual(unwrap(decodeAcctReply(rb)), r);
  });
  test("fields too long for their length octet are refused, not truncated", () => {
    assert.equal(encodeAuthenStart({ ...who, user: "u".repeat(256), action: 1, data: new Uint8Array(0) }).ok, false);
    assert.equal(encodeAuthenStart({ ...who, action: 1, data: new Uint8Array(256) }).ok, false);
    assert.equal(encodeAuthorRequest({ ...who, authenMethod: 6, args: ["a=" + "x".repeat(254)] }).ok, false);
    assert.equal(encodeAuthorRequest({ ...who, authenMethod: 6, args: new Array(256).fill("a=b") }).ok, false);
  });
});

describe("decoders never throw and refuse every truncation or extension", () => {
  const samples: [string, Uint8Array, (b: Uint8Array) => { ok: boolean }][] = [
    ["START", unwrap(encodeAuthenStart({ ...who, action: 1, data: utf8("pw") })), decodeAuthenStart],
    ["REPLY", unwrap(encodeAuthenReply({ status: 1, flags: 0, serverMsg: "hi", data: utf8("d") })), decodeAuthenReply],
    ["CONTINUE", unwrap(encodeAuthenContinue({ userMsg: "u", data: utf8("d"), flags: 0 })), decodeAuthenContinue],
    ["AUTHOR REQ", unwrap(encodeAuthorRequest({ ...who, authenMethod: 6, args: ["service=ppp"] })), decodeAuthorRequest],
    ["AUTHOR RESP", unwrap(encodeAuthorResponse({ status: 1, serverMsg: "", data: new Uint8Array(0), args: ["addr=1.2.3.4"] })), decodeAuthorResponse],
    ["ACCT REQ", unwrap(encodeAcctRequest({ ...who, flags: 4, authenMethod: 6, args: ["task_id=9"] })), decodeAcctRequest],
    ["ACCT REPLY", unwrap(encodeAcctReply({ status: 1, serverMsg: "m", data: new Uint8Array(0) })), decodeAcctReply],
  ];
  for (const [name, good, decode] of samples) {
    test(name, () => {
      assert.ok(decode(good).ok);
      for (let n = 0; n < good.length; n++) assert.equal(decode(good.subarray(0, n)).ok, false, `${name} cut to ${n}`);
      assert.equal(decode(Uint8Array.of(...good, 0)).ok, false, `${name} with a trailing octet`);
      const rnd = seededRandom(name.length);
      for (let i = 0; i < 2000; i++) {
        const junk = rnd(1 + (i % 80));
        decode(junk);
        decodeHeader(junk);
      }
    });
  }
});

describe("AV pairs → SessionPolicy (RFC 8907 §8.2)", () => {
  test("addr, addr-pool, routes in both forms, timeout and idletime in minutes, mtu", () => {
    const p = policyFromAvPairs(["service=ppp", "protocol=ip", "addr=10.8.0.9", "addr-pool=staff", "route=10.9.0.0/16", "route*172.16.0.0 255.255.255.0 10.8.0.9", "timeout=60", "idletime=5", "mtu=1300", "routing=true"]);
    assert.deepEqual(p, {
      ok: true,
      policy: { framedAddress: "10.8.0.9", framedPool: "staff", framedRoutes: ["10.9.0.0/16", "172.16.0.0/24"], framedMtu: 1300, sessionTimeoutMs: 3_600_000, idleTimeoutMs: 300_000 },
    });
  });
  test("an unknown or unusable mandatory pair fails; an optional one is ignored", () => {
    assert.equal(policyFromAvPairs(["frobnicate=1"]).ok, false);
    assert.equal(policyFromAvPairs(["addr=10.0.0.300"]).ok, false);
    assert.equal(policyFromAvPairs(["timeout=soon"]).ok, false);
    assert.deepEqual(policyFromAvPairs(["frobnicate*1", "addr*nonsense"]), { ok: true, policy: {} });
  });
  test("routes need a network address", () => {
    assert.equal(parseRoute("10.9.1.0/16"), undefined);
    assert.equal(parseRoute("10.9.0.0 255.0.255.0"), undefined);
    assert.equal(parseRoute("0.0.0.0/0"), "0.0.0.0/0");
    assert.equal(parseRoute("10.1.2.3 255.255.255.255"), "10.1.2.3/32");
  });
  test("splitAvPair takes the first separator", () => {
    assert.deepEqual(splitAvPair("cmd-arg=a*b"), { name: "cmd-arg", value: "a*b", mandatory: true });
    assert.deepEqual(splitAvPair("x*y=z"), { name: "x", value: "y=z", mandatory: false });
    assert.equal(splitAvPair("=v"), undefined);
  });
});
