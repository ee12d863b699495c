// Random input for the operator's files (chap-secrets and pptp-ts.conf): generated valid files with one bad line
// put at a random place must be refused with the error on exactly that line, and no secret of the file may show
// up in any error, fix or warning. Seed and count: PPTP_TEST_SEED / PPTP_TEST_RUNS (test/support/random.ts).
// Arbitrary (mutated) files are fed by the config-file and users-file fuzz targets (test/fuzz/).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadUsers } from "../../src/config/users-file.js";
import { parseConfig } from "../../src/config/config.js";
import { seededInts, testRuns, testSeed, withSeed } from "../support/random.js";

type Rnd = () => number;
const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[rnd() % xs.length];
const word = (rnd: Rnd, n: number): string => Array.from({ length: n }, () => pick(rnd, [..."abcdefghijkmnpqrstuvwxyz23456789"])).join("");

/** Every message a result carries, as the operator would see it. */
function allText(r: { ok: boolean; warnings: string[] } & ({ errors: { toString(): string }[] } | object)): string[] {
  return [...("errors" in r ? r.errors.map(String) : []), ...r.warnings];
}

function assertNoSecret(texts: readonly string[], secrets: readonly string[]): void {
  for (const t of texts) for (const s of secrets) assert.ok(!t.includes(s), `secret ${JSON.stringify(s)} appears in: ${t}`);
}

describe("chap-secrets: random files with one bad line", () => {
  /** Bad third-and-later columns, each refused on its own line. */
  const BAD_LINES: ((rnd: Rnd, secret: string) => string)[] = [
    (rnd, s) => `${word(rnd, 5)} * ${s} 300.1.2.3`,
    (rnd, s) => `${word(rnd, 5)} * ${s} 192.168.1.0/33`,
    (rnd) => `${word(rnd, 5)} *`,
    (rnd) => `${word(rnd, 5)} * $NT$0123456789abcdefXYZ`,
    (rnd, s) => `${word(rnd, 5)} * "${s}`,
  ];

  test("the error names the bad line, and no secret appears anywhere", (t) => {
    const seed = testSeed("users-file:random", 0xc0ffee);
    const runs = testRuns(400);
    const kinds = new Map<number, number>();
    withSeed("chap-secrets random", seed, () => {
      const rnd = seededInts(seed);
      for (let i = 0; i < runs; i++) {
        const lines: string[] = [];
        const secrets: string[] = [];
        const n = 1 + (rnd() % 12);
        for (let j = 0; j < n; j++) {
          const kind = rnd() % 5;
          if (kind === 0) lines.push(`# ${word(rnd, 6)} comment`);
          else if (kind === 1) lines.push("");
          else {
            const secret = `pw-${word(rnd, 10)}`;
            secrets.push(secret);
            const addr = pick(rnd, ["", " *", " -", ` 10.${rnd() % 250}.${rnd() % 250}.${1 + (rnd() % 250)}`]);
            lines.push(`u${j}${word(rnd, 4)}\t${pick(rnd, ["*", "pptp-ts", '"*"'])}  ${rnd() % 2 ? secret : `"${secret}"`}${addr}`);
          }
        }
        const ok = loadUsers(lines.join("\n") + "\n", "chap-secrets");
        assert.ok(ok.ok, `a valid file was refused: ${allText(ok).join("; ")}`);
        assertNoSecret(allText(ok), secrets);

        const k = rnd() % (lines.length + 1);
        const badKind = rnd() % BAD_LINES.length;
        const badSecret = `pw-${word(rnd, 10)}`;
        lines.splice(k, 0, BAD_LINES[badKind](rnd, badSecret));
        const r = loadUsers(lines.join("\n") + "\n", "chap-secrets");
        assert.equal(r.ok, false, `bad line ${k + 1} accepted: ${lines[k]}`);
        if (!r.ok) {
          assert.deepEqual([...new Set(r.errors.map((e) => e.line))], [k + 1], `errors for bad line ${k + 1} (${lines[k]}): ${r.errors.map(String).join("; ")}`);
          assert.ok(r.errors.every((e) => String(e).startsWith(`chap-secrets:${k + 1}: `)));
        }
        assertNoSecret(allText(r), [...secrets, badSecret]);
        kinds.set(badKind, (kinds.get(badKind) ?? 0) + 1);
      }
    });
    t.diagnostic(`${runs} files, bad-line kinds used: ${[...kinds].map(([k, v]) => `${k}:${v}`).join(" ")}`);
    assert.equal(kinds.size, BAD_LINES.length, "every kind of bad line was tried");
  });
});

describe("pptp-ts.conf: random files with one bad line", () => {
  const example = readFileSync(new URL("../../../examples/pptp-ts.conf", import.meta.url), "utf8").split("\n");
  const firstSection = example.findIndex((l) => l.startsWith("["));
  const peer = (secret: string): string[] => ["[peer branch]", "role = server", "user = branch", `password = "${secret}"`, "remote-address = 172.16.0.2"];
  const BAD_LINES: ((rnd: Rnd, secret: string) => string)[] = [
    (rnd) => `${word(rnd, 6)} = yes`,
    () => "mtu = 99999",
    (rnd) => `no equals sign ${word(rnd, 3)}`,
    () => "[nosuchsection]",
    () => "port = 1723x",
    () => "strengths = 129",
  ];
  const PEER_BAD_LINES: ((rnd: Rnd, secret: string) => string)[] = [
    (_rnd, s) => `password = "${s}`,
    (_rnd, s) => `password = "${s}" and more`,
    (_rnd, s) => `password = "${s}"x`,
    (_rnd, s) => `passwrd = ${s}`,
  ];

  test("the error names the bad line, and no password appears anywhere", (t) => {
    const seed = testSeed("config:random", 0xc0f16);
    const runs = testRuns(150);
    let inPeer = 0;
    withSeed("pptp-ts.conf random", seed, () => {
      const rnd = seededInts(seed);
      for (let i = 0; i < runs; i++) {
        const secret = `pw-${word(rnd, 12)}`;
        const lines = [...example, ...peer(secret)];
        const ok = parseConfig(lines.join("\n"), "pptp-ts.conf");
        assert.ok(ok.ok, `the example with a peer was refused: ${allText(ok).join("; ")}`);
        assertNoSecret(allText(ok), [secret]);

        const intoPeer = rnd() % 3 === 0;
        const badSecret = `pw-${word(rnd, 12)}`;
        // A line put anywhere after the first section header, or a bad password line in place of the peer's.
        const passwordIndex = example.length + 3;
        const k = intoPeer ? passwordIndex : firstSection + 1 + (rnd() % (example.length - firstSection));
        const bad = intoPeer ? pick(rnd, PEER_BAD_LINES)(rnd, badSecret) : pick(rnd, BAD_LINES)(rnd, badSecret);
        if (intoPeer) {
          lines[k] = bad;
          inPeer++;
        } else {
          lines.splice(k, 0, bad);
        }
        const r = parseConfig(lines.join("\n"), "pptp-ts.conf");
        assert.equal(r.ok, false, `bad line ${k + 1} accepted: ${bad}`);
        if (!r.ok) {
          // The bad line is named; another line only when it sets the same key again after it.
          const all = r.errors.map(String).join("; ");
          assert.ok(r.errors.some((e) => e.line === k + 1), `no error on line ${k + 1} (${bad}): ${all}`);
          for (const e of r.errors) {
            const peerHeader = intoPeer && e.line === example.length + 1; // "password missing" names the section
            assert.ok(e.line === k + 1 || peerHeader || e.message.includes(`(first set on line ${k + 1})`), `error on unrelated line ${e.line} for bad line ${k + 1} (${bad}): ${all}`);
          }
        }
        assertNoSecret(allText(r), [secret, badSecret]);
      }
    });
    t.diagnostic(`${runs} files, ${inPeer} with the bad line in the peer section`);
    assert.ok(inPeer > 0 && inPeer < runs);
  });
});

describe("fuzz findings", () => {
  test("a quoted user name holding a line break on a short line is an error, not an exception", () => {
    // Found by the users-file fuzz target: the fix suggestion quoted the name, and quoteWord throws on a line break.
    const r = loadUsers('alice * pw-1 *\n"bo\rb" *\n', "chap-secrets");
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.deepEqual(r.errors.map((e) => e.line), [2]);
      assert.match(String(r.errors[0]), /2 fields where a chap-secrets line has at least 3: .* fix: write e\.g\. "alice \* secret \*"/);
    }
  });
});
