/** chap-secrets parsing (pppd quoting rules, $NT$ hashes, addresses), per-line errors and the line writers. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import type { LocalUser } from "../../src/aaa/local.js";
import { ntPasswordHash } from "../../src/crypto/mschap.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { formatUserLine, loadUsers, ntHashLine, quoteWord } from "../../src/config/users-file.js";

const FILE = "/etc/ppp/chap-secrets";

function users(text: string): { users: LocalUser[]; warnings: string[] } {
  const r = loadUsers(text, FILE);
  if (!r.ok) assert.fail(`expected success, got:\n${r.errors.map(String).join("\n")}`);
  return r;
}

function errorLines(text: string): string[] {
  const r = loadUsers(text, FILE);
  if (r.ok) assert.fail("expected errors");
  return r.errors.map(String);
}

/** NT hash of "password": MD4 of its UTF-16LE form (RFC 2759 §8.3), a widely published value. */
const PASSWORD_NT = "8846f7eaee8fb117ad06bdd830b7586c";

describe("pppd-style files", () => {
  test("the usual layout: header comment, tabs, quoted secret, * and addresses", () => {
    const text = [
      "# Secrets for authentication using CHAP",
      "# client\tserver\tsecret\t\t\tIP addresses",
      "alice\t*\t\"correct horse\"\t*",
      "bob\tpptpd\tbobpass\t192.168.0.20",
      "carol * carolpw 10.0.0.5 10.0.0.6",
      "dave * davepw",
      "erin * erinpw -",
      "",
    ].join("\n");
    assert.deepEqual(loadUsers(text, FILE), {
      ok: true,
      users: [
        { user: "alice", server: "*", password: "correct horse" },
        { user: "bob", server: "pptpd", password: "bobpass", addresses: ["192.168.0.20"] },
        { user: "carol", server: "*", password: "carolpw", addresses: ["10.0.0.5", "10.0.0.6"] },
        { user: "dave", server: "*", password: "davepw" },
        { user: "erin", server: "*", password: "erinpw" },
      ],
      warnings: [],
      lines: [3, 4, 5, 6, 7],
    });
  });

  test("quotes: double, single, mid-word, empty; CRLF line ends", () => {
    const r = users(`"Jane Doe" * 'pass "word"' *\r\nab"c d"e * x\r\nempty * "" *\r\n`);
    assert.deepEqual(
      r.users.map((u) => [u.user, u.password]),
      [["Jane Doe", 'pass "word"'], ["abc de", "x"], ["empty", ""]],
    );
    assert.deepEqual(r.warnings, [`${FILE}:3: user "empty" has an empty secret`]);
  });

  test("backslash quotes the next character; before a letter it warns (DOMAIN\\user pitfall)", () => {
    const r = users(`"ACME\\\\carol" * pw\nACME\\bob * pw\nq * a\\"b\\ c\n`);
    assert.deepEqual(r.users.map((u) => u.user), ["ACME\\carol", "ACMEbob", "q"]);
    assert.equal(r.users[2].password, 'a"b c');
    assert.deepEqual(r.warnings, [
      `${FILE}:2: client: a backslash before a letter or digit only quotes it and is dropped (as in pppd), so "X\\y" reads "Xy"; write "\\\\" for a backslash`,
    ]);
  });

  test("backslash-newline continues the entry; line numbers stay right", () => {
    const r = loadUsers("alice * pw \\\n  10.0.0.9\nbob *\n", FILE);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => e.line), [3]);
    const ok = users("alice * pw \\\n  10.0.0.9\n");
    assert.deepEqual(ok.users, [{ user: "alice", server: "*", password: "pw", addresses: ["10.0.0.9"] }]);
  });

  test("'#' starts a comment only at the start of a word", () => {
    const r = users("alice * pa#ss # the rest is a comment 10.0.0.1\n   # indented comment\nbob * x #10.0.0.2\n");
    assert.deepEqual(r.users, [
      { user: "alice", server: "*", password: "pa#ss" },
      { user: "bob", server: "*", password: "x" },
    ]);
  });

  test("$NT$ secrets, any case, become 16-byte NT hashes", () => {
    const r = users(`bob * $NT$${PASSWORD_NT.toUpperCase()} *\ncarl * $nt$${PASSWORD_NT} *\n`);
    for (const u of r.users) {
      assert.equal(u.password, undefined);
      assert.equal(toHex(u.ntHash!), PASSWORD_NT);
    }
    assert.equal(toHex(ntPasswordHash("password")), PASSWORD_NT, "the fixture is the NT hash of 'password'");
  });

  test("quoting makes the special forms literal: \"*\" client name, \"@x\" and \"$NT$...\" passwords", () => {
    const r = users(`"*" * "@home" *\nx * "$NT$${PASSWORD_NT}" *\n`);
    assert.deepEqual(r.users, [
      { user: "*", server: "*", password: "@home" },
      { user: "x", server: "*", password: `$NT$${PASSWORD_NT}` },
    ]);
  });

  test("'*' or '-' next to fixed addresses: the addresses win, with a warning", () => {
    const r = users("alice * pw * 10.0.0.1 10.0.0.1\n");
    assert.deepEqual(r.users[0].addresses, ["10.0.0.1"]);
    assert.deepEqual(r.warnings, [`${FILE}:1: user "alice": "*"/"-" next to fixed addresses is ignored; the user gets 10.0.0.1`]);
  });

  test("a user defined twice: warned, first one wins in LocalUsers", () => {
    const r = users("Alice * one\nalice * two\nalice other three\n");
    assert.deepEqual(r.warnings, [`${FILE}:2: user "alice" (server *) is already defined on line 1; this line is never used`]);
    const cs = loadUsers("Alice * one\nalice * two\n", FILE, { caseSensitive: true });
    assert.deepEqual(cs.warnings, []);
  });

  test("a BOM and a file without a final newline", () => {
    assert.deepEqual(users("\uFEFFalice * pw").users, [{ user: "alice", server: "*", password: "pw" }]);
    assert.deepEqual(users("").users, []);
  });
});

describe("errors: file:line, what, how to fix — never the secret", () => {
  test("fewer than 3 fields", () => {
    assert.deepEqual(errorLines("# users\n\nalice s3cretpw\nbob\n"), [
      `${FILE}:3: 2 fields where a chap-secrets line has at least 3: client server secret [addresses...] — fix: write e.g. "alice * secret *"`,
      `${FILE}:4: 1 field where a chap-secrets line has at least 3: client server secret [addresses...] — fix: write e.g. "bob * secret *"`,
    ]);
  });

  test("$NT$ with the wrong number of digits or non-hex digits", () => {
    assert.deepEqual(errorLines(`a * $NT$1234 *\nb * $NT$${"z".repeat(32)} *\n`), [
      `${FILE}:1: secret: "$NT$" must be followed by exactly 32 hex digits (an NT password hash), found 4 characters — fix: generate the line with ntHashLine / "pptp-ts hash-password", or write the password itself`,
      `${FILE}:2: secret: "$NT$" must be followed by exactly 32 hex digits (an NT password hash), found 32 characters including non-hex ones — fix: generate the line with ntHashLine / "pptp-ts hash-password", or write the password itself`,
    ]);
  });

  test("pppd's @file secrets", () => {
    assert.deepEqual(errorLines("a * @/etc/ppp/a.secret *\n"), [
      `${FILE}:1: secret: pppd's "@file" form (secret read from another file) is not supported — fix: write the secret itself, or its NT hash as "$NT$" + 32 hex digits; a password that starts with "@" must be quoted`,
    ]);
  });

  test("wildcard and empty names", () => {
    assert.deepEqual(errorLines(`* * pw *\n"" * pw\nx "" pw\n`), [
      `${FILE}:1: client: "*" (any user name) is not supported: it would accept every name with one password — fix: write one line per user name`,
      `${FILE}:2: client: the user name is empty — fix: write the user name first, e.g. "alice * secret *"`,
      `${FILE}:3: server: empty — fix: write "*" for any server, or our [server] hostname`,
    ]);
  });

  test("addresses pppd allows but we do not, and bad ones", () => {
    assert.deepEqual(errorLines("a * pw 10.0.0.0/24\nb * pw !10.0.0.5\nc * pw gateway.lan\nd * pw 10.0.0.300 127.0.0.1\n"), [
      `${FILE}:1: address "10.0.0.0/24": subnets, host names and "!" exclusions are not supported — fix: list IPv4 addresses, or "*" for an address from the pool`,
      `${FILE}:2: address "!10.0.0.5": subnets, host names and "!" exclusions are not supported — fix: list IPv4 addresses, or "*" for an address from the pool`,
      `${FILE}:3: address "gateway.lan": subnets, host names and "!" exclusions are not supported — fix: list IPv4 addresses, or "*" for an address from the pool`,
      `${FILE}:4: address "10.0.0.300": "10.0.0.300" is not an IPv4 address — fix: list IPv4 addresses, or "*" for an address from the pool`,
      `${FILE}:4: address "127.0.0.1": 127.0.0.1 is in 127.0.0.0/8 (loopback), not a usable host address — fix: list IPv4 addresses, or "*" for an address from the pool`,
    ]);
  });

  test("unclosed quotes", () => {
    assert.deepEqual(errorLines(`alice * "secret with space\nbob * 'x\n`), [
      `${FILE}:1: secret: the double quote opened here is not closed on this line — fix: close the quote, or write a quote character inside a word as \\"`,
      `${FILE}:2: secret: the single quote opened here is not closed on this line — fix: close the quote, or write a quote character inside a word as \\'`,
    ]);
  });

  test("every bad line is reported and nothing is loaded; the good lines in between do not hide errors", () => {
    const r = loadUsers("good * pw\nbad\nalso-good * pw\n* * x\n", FILE);
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => e.line), [2, 4]);
  });

  test("no message or warning quotes a secret", () => {
    const secrets = ["TopSecret1", "@TopSecret2", "$NT$TopSecret3", "TopSecret4"];
    const r = loadUsers(`a * ${secrets[0]} 10.0.0.0/8\nb * ${secrets[1]}\nc * ${secrets[2]}\nd * "" *\nd * ${secrets[3]} * 10.0.0.1\n`, FILE);
    const text = (r.ok ? [] : r.errors.map(String)).concat(r.warnings).join("\n");
    assert.ok(text.length > 0);
    for (const s of secrets) assert.equal(text.includes(s.replace(/^[@$]|\$NT\$/g, "")), false, s);
  });
});

describe("writing lines", () => {
  test("ntHashLine: the NT hash of the password, readable by loadUsers", () => {
    const line = ntHashLine("alice", "password");
    assert.equal(line, `alice * $NT$${PASSWORD_NT.toUpperCase()} *`);
    assert.deepEqual(users(line).users, [{ user: "alice", server: "*", ntHash: fromHex(PASSWORD_NT) }]);
  });

  test("ntHashLine with a server and a fixed address; the hash matches ntPasswordHash for non-ASCII passwords", () => {
    const line = ntHashLine("ACME\\Jürgen Ö", "pässwörd €", "vpn1", ["10.0.0.7"]);
    const [u] = users(line).users;
    assert.equal(u.user, "ACME\\Jürgen Ö");
    assert.equal(u.server, "vpn1");
    assert.deepEqual(u.addresses, ["10.0.0.7"]);
    assert.deepEqual(u.ntHash, ntPasswordHash("pässwörd €"));
  });

  test("formatUserLine round-trips awkward names and passwords", () => {
    const records: LocalUser[] = [
      { user: "plain", server: "*", password: "simple" },
      { user: 'q"uote', server: "host name", password: 'a\\b"c d' },
      { user: "#notcomment", server: "*", password: "#hash" },
      { user: "-", server: "*", password: "-" },
      { user: "star*", server: "*", password: "*" },
      { user: "at", server: "*", password: "@home" },
      { user: "dollar", server: "*", password: `$NT$${PASSWORD_NT}` },
      { user: "tab\there", server: "*", password: "it's" },
      { user: "empty", server: "*", password: "" },
      { user: "static", server: "*", password: "x", addresses: ["10.1.1.1", "10.1.1.2"] },
    ];
    const text = records.map(formatUserLine).join("\n") + "\n";
    const back = loadUsers(text, FILE);
    assert.ok(back.ok, back.ok ? "" : back.errors.map(String).join("\n"));
    assert.deepEqual(back.users, records);
  });

  test("quoteWord leaves plain words bare and refuses line breaks", () => {
    assert.equal(quoteWord("alice.b-c_d@x"), "alice.b-c_d@x");
    assert.equal(quoteWord("a b"), `"a b"`);
    assert.equal(quoteWord("*"), `"*"`);
    assert.throws(() => quoteWord("a\nb"), RangeError);
  });
});

describe("with LocalUsers", () => {
  test("loaded records authenticate PAP and carry the static address", async () => {
    const loaded = users("alice * \"correct horse\" 10.0.0.42\nbob * $NT$" + PASSWORD_NT + " *\n").users;
    const local = new LocalUsers(loaded);
    assert.deepEqual(await local.verify({ method: "pap", user: "ALICE", password: "correct horse" }), { ok: true, addresses: ["10.0.0.42"] });
    const wrong = await local.verify({ method: "pap", user: "alice", password: "wrong" });
    assert.equal(wrong.ok, false);
    assert.equal(local.find("bob")?.ntHash?.length, 16);
  });
});
