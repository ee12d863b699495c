/**
 * The operator's files: pptp-ts.conf and chap-secrets, mutated from the shipped examples and from files with named
 * peers. Invariants: no exception; every problem names a line that exists in the file (or 0 for the whole file);
 * every message, fix and warning is a non-empty string; no secret (a peer password, a chap-secrets secret) ever
 * appears in any of them.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { parseConfig } from "../../../src/config/config.js";
import { loadUsers } from "../../../src/config/users-file.js";
import type { ConfigError } from "../../../src/config/config-error.js";
import { mutatedText } from "../mutate.js";
import { count, invariant, type FuzzTarget } from "../target.js";

const EXAMPLES = new URL("../../../../examples/", import.meta.url);
function example(name: string, fallback: string): string {
  try {
    return readFileSync(new URL(name, EXAMPLES), "utf8");
  } catch {
    return fallback;
  }
}

export const PEER_CONFIG = `[server]
listen = 127.0.0.1
[ppp]
pool = 10.1.0.10-10.1.0.20
auth = mschap-v2, chap-md5
[peer branch]
role = server
user = branch
password = "pw-Q7tGx2Lm"
remote-address = 172.16.0.2
routes = 192.168.20.0/24
[peer hq]
role = client
remote = hq.example.com
user = branch
password = pw-Zr8KdW3v
routes = 192.168.10.0/24
connect = on-demand
idle-timeout = 10m
`;

export const USERS_FILE = `# client server secret addresses
alice * pw-Hf83kQpa *
bob pptp-ts pw-Lm29XcVb 192.168.50.20
carol * pw-Tt55aZnq 192.168.50.21 192.168.50.22
dave * $NT$8846F7EAEE8FB117AD06BDD830B7586C -
`;

/** Words that are secrets in `text`, with the 1-based lines they sit on (only unambiguous ones: found once). */
function configSecrets(text: string): string[] {
  const out: string[] = [];
  // Lines as the parser cuts them (a lone CR ends a line too): a value after a CR is another line, not the password.
  for (const line of text.split(/\r?\n|\r/)) {
    const m = /^[ \t]*password[ \t]*=[ \t]*"?([^";#\s]{4,})"?[ \t]*$/.exec(line);
    // Secret-looking values only (the seeds' are "pw-" and digits): a mutated "password =quire" would match the
    // messages' own words ("policy = require").
    if (m !== null && m[1].length >= 6 && /\d/.test(m[1])) out.push(m[1]);
  }
  return out.filter((s) => text.split(s).length === 2);
}

function usersSecrets(text: string): string[] {
  if (/[\\"']/.test(text)) return []; // quoting and continuations move words around; keep the check exact
  const out: string[] = [];
  for (const line of text.split("\n")) {
    // Words as the parser cuts them: blanks are space, tab, CR, FF, VT; '#' starts a comment only at a word's start.
    const words = line.replace(/(^|[ \t\r\f\v])#[^]*$/, "$1").replace(/^[ \t\r\f\v]+|[ \t\r\f\v]+$/g, "").split(/[ \t\r\f\v]+/);
    // A secret-looking third word (the seeds' are "pw-" and digits, or an NT hash); plain words like
    // "password" in a mutated comment would match the messages' own text.
    if (words.length >= 3 && words[2].length >= 6 && /\d/.test(words[2])) out.push(words[2]);
  }
  return out.filter((s) => text.split(s).length === 2);
}

/**
 * `lines`: how many lines the parser's own line breaks make (pptp-ts.conf also takes a lone CR, as old Mac files
 * have; chap-secrets, like pppd, only LF).
 */
function checkReport(what: string, lines: number, errors: readonly ConfigError[], warnings: readonly string[], secrets: readonly string[]): void {
  for (const e of errors) {
    invariant(Number.isInteger(e.line) && e.line >= 0 && e.line <= lines, () => `${what}: error on line ${e.line} of a ${lines}-line file: ${e.toString()}`);
    invariant(e.message.length > 0 && e.fix.length > 0, () => `${what}: empty message or fix: ${e.toString()}`);
    const s = e.toString();
    for (const secret of secrets) invariant(!s.includes(secret), () => `${what}: a secret appears in an error: ${s}`);
  }
  for (const w of warnings) {
    invariant(typeof w === "string" && w.length > 0, `${what}: empty warning`);
    const m = /^[^:]*:(\d+):/.exec(w);
    if (m !== null) invariant(Number(m[1]) >= 1 && Number(m[1]) <= lines, () => `${what}: warning on line ${m[1]} of a ${lines}-line file: ${w}`);
    for (const secret of secrets) invariant(!w.includes(secret), () => `${what}: a secret appears in a warning: ${w}`);
  }
}

const configCov: Record<string, number> = {};
export const configFile: FuzzTarget<string> = {
  name: "config-file",
  description: "parseConfig on mutated pptp-ts.conf files (example and named peers); no exception, real line numbers, no password in any message",
  arbitrary: fc.constant(null).chain(() => mutatedText([example("pptp-ts.conf", PEER_CONFIG), PEER_CONFIG], 8)),
  coverage: configCov,
  run(text) {
    const r = parseConfig(text, "fuzz.conf");
    count(configCov, r.ok ? "accepted" : "refused");
    checkReport("config", text.split(/\r?\n|\r/).length, r.ok ? [] : r.errors, r.warnings, configSecrets(text));
    if (!r.ok) invariant(r.errors.length > 0, "refused without an error");
  },
};

const usersCov: Record<string, number> = {};
export const usersFile: FuzzTarget<string> = {
  name: "users-file",
  description: "loadUsers on mutated chap-secrets files; no exception, real line numbers, no secret in any message",
  arbitrary: fc.constant(null).chain(() => mutatedText([example("chap-secrets", USERS_FILE), USERS_FILE], 8)),
  coverage: usersCov,
  run(text) {
    const r = loadUsers(text, "chap-secrets");
    count(usersCov, r.ok ? "accepted" : "refused");
    checkReport("users", text.split("\n").length, r.ok ? [] : r.errors, r.warnings, usersSecrets(text));
    if (!r.ok) invariant(r.errors.length > 0, "refused without an error");
  },
};
