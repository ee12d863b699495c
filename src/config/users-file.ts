/**
 * The users file, in pppd's chap-secrets format so an existing /etc/ppp/chap-secrets works unchanged:
 *
 *   # client     server   secret                                   IP addresses
 *   alice        *        "correct horse battery"                  *
 *   bob          pptp-ts  $NT$8846F7EAEE8FB117AD06BDD830B7586C     192.168.50.20
 *   "ACME\\carol" *       s3cret                                   -
 *
 * One entry per line: client (user name), server (our host name, or `*` for any), secret, then optional
 * addresses. Quoting follows pppd's documented rules: whitespace separates words, double (or single) quotes keep
 * whitespace inside a word, a backslash quotes the next character (so `\\` is one backslash and `\"` a quote;
 * a backslash at the end of a line continues the entry on the next line), and `#` at the start of a word begins
 * a comment to the end of the line (inside a word it is an ordinary character, so `pa#ss` is a password).
 *
 * Secrets: a clear password, or `$NT$` followed by 32 hex digits (any case): the NT password hash, MD4 of the
 * UTF-16LE password (RFC 2759 §8.3), which is all MS-CHAPv2 and MS-CHAPv1 with 128-bit MPPE need, so the file
 * need not hold clear passwords. Such a user cannot log in with PAP or CHAP-MD5, and MS-CHAPv1 cannot have 40- or
 * 56-bit MPPE (RFC 3079 §2.1 keys those from the LAN Manager hash of the password). pppd's `@/path` (secret read from another file) is not
 * supported and is reported rather than taken as a literal password.
 *
 * Addresses: IPv4 addresses the user is given (the first is the one the server assigns); `*` or `-` (or nothing)
 * means no fixed address: one comes from the pool. pppd's subnets, host names and `!` exclusions are reported as
 * errors rather than half-understood.
 *
 * Not supported, as errors: a `*` client (any user name with one password).
 *
 * The special forms `*`, `-`, `@...` and `$NT$...` count only when written bare: quoting or escaping their first
 * character makes them literal, so any password can be written (e.g. "@home" in quotes).
 *
 * Errors and warnings never quote a secret: the file is readable by root only, the log may not be.
 */
import type { LocalUser } from "../aaa/local.js";
import { ntPasswordHash } from "../crypto/mschap.js";
import { fromHex, toHex } from "../wire/bytes.js";
import { ConfigError, where } from "./config-error.js";
import { unicastAddress } from "./config-values.js";

export type UsersFileResult =
  | {
      readonly ok: true;
      readonly users: LocalUser[];
      readonly warnings: string[];
      /** The line each of `users` starts on, for messages about it (users-check.ts). */
      readonly lines: number[];
    }
  | { readonly ok: false; readonly errors: ConfigError[]; readonly warnings: string[] };

export interface LoadUsersOptions {
  /** As in LocalUsersOptions: decides which lines count as the same user for the duplicate warning. */
  readonly caseSensitive?: boolean;
}

const FIELD_NAMES = ["client", "server", "secret"];

function fieldName(i: number): string {
  return i < FIELD_NAMES.length ? FIELD_NAMES[i] : "address";
}

interface Entry {
  /** Line where the entry starts. */
  readonly line: number;
  readonly words: string[];
  /** Per word: whether it starts with a bare character; quoting or escaping makes `*`, `-`, `@`, `$NT$` literal. */
  readonly bare: boolean[];
  readonly problems: { message: string; fix: string }[];
  readonly warnings: string[];
}

/** Splits the file into entries of words (pppd quoting rules, see the module comment). */
function tokenize(text: string): Entry[] {
  const entries: Entry[] = [];
  let line = 1;
  let cur: Entry | undefined;
  let i = 0;
  const n = text.length;
  const isBlank = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v";

  while (i < n) {
    const c = text[i];
    if (c === "\n") {
      if (cur !== undefined) entries.push(cur);
      cur = undefined;
      line++;
      i++;
      continue;
    }
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    const entry: Entry = cur ?? { line, words: [], bare: [], problems: [], warnings: [] };
    cur = entry;
    const field = fieldName(entry.words.length);
    let word = "";
    let bareStart: boolean | undefined;
    let quoted = false;
    let quote: string | undefined;
    let warnedEscape = false;
    while (i < n) {
      const ch = text[i];
      if (ch === "\\") {
        if (i + 1 >= n) {
          i++;
          break;
        }
        const next = text[i + 1];
        i += 2;
        if (next === "\n") {
          // Backslash-newline: the entry (and this word) continue on the next line.
          line++;
          continue;
        }
        if (/[A-Za-z0-9]/.test(next) && !warnedEscape) {
          warnedEscape = true;
          entry.warnings.push(
            `${field}: a backslash before a letter or digit only quotes it and is dropped (as in pppd), so "X\\y" reads "Xy"; write "\\\\" for a backslash`,
          );
        }
        bareStart ??= false;
        word += next;
        continue;
      }
      if (quote !== undefined) {
        if (ch === quote) {
          quote = undefined;
          i++;
          continue;
        }
        if (ch === "\n") break;
        bareStart ??= false;
        word += ch;
        i++;
        continue;
      }
      if (ch === "\n" || isBlank(ch)) break;
      if (ch === '"' || ch === "'") {
        quote = ch;
        quoted = true;
        bareStart ??= false;
        i++;
        continue;
      }
      bareStart ??= true;
      word += ch;
      i++;
    }
    if (quote !== undefined) {
      entry.problems.push({
        message: `${field}: the ${quote === '"' ? "double" : "single"} quote opened here is not closed on this line`,
        fix: `close the quote, or write a quote character inside a word as \\${quote}`,
      });
    }
    if (word !== "" || quoted) {
      entry.words.push(word);
      entry.bare.push(bareStart === true);
    }
  }
  if (cur !== undefined) entries.push(cur);
  return entries;
}

const NT_PREFIX = /^\$nt\$/i;

/**
 * Parses a chap-secrets file into LocalUsers records. Every bad line is reported (file:line, what is wrong,
 * how to fix it); with any error nothing is loaded, so a typo cannot silently lock out or let in a user.
 */
export function loadUsers(text: string, fileName: string, opts: LoadUsersOptions = {}): UsersFileResult {
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  const users: LocalUser[] = [];
  const lines: number[] = [];
  const firstSeen = new Map<string, number>();

  for (const e of tokenize(text.replace(/^\uFEFF/, ""))) {
    const fail = (message: string, fix: string) => errors.push(new ConfigError(fileName, e.line, message, fix));
    const warn = (message: string) => warnings.push(`${where(fileName, e.line)}: ${message}`);
    for (const p of e.problems) fail(p.message, p.fix);
    for (const w of e.warnings) warn(w);
    if (e.problems.length > 0 || e.words.length === 0) continue;

    if (e.words.length < 3) {
      fail(
        `${e.words.length} field${e.words.length === 1 ? "" : "s"} where a chap-secrets line has at least 3: client server secret [addresses...]`,
        // A quoted word may hold a line break, which no chap-secrets word can be written with: suggest a plain name.
        `write e.g. "${e.words[0] === "" || /[\n\r]/.test(e.words[0]) ? "alice" : quoteWord(e.words[0])} * secret *"`,
      );
      continue;
    }
    const [user, server, secret] = e.words;
    /** `*`, `-`, `@file` and `$NT$` mean something only when written bare. */
    const special = (i: number, s: string) => e.bare[i] && e.words[i] === s;
    let bad = false;
    const lineFail = (message: string, fix: string) => {
      bad = true;
      fail(message, fix);
    };

    if (user === "") lineFail("client: the user name is empty", `write the user name first, e.g. "alice * secret *"`);
    else if (special(0, "*")) {
      lineFail(
        `client: "*" (any user name) is not supported: it would accept every name with one password`,
        "write one line per user name",
      );
    }
    if (server === "") lineFail("server: empty", `write "*" for any server, or our [server] hostname`);

    let password: string | undefined;
    let ntHash: Uint8Array | undefined;
    if (e.bare[2] && NT_PREFIX.test(secret)) {
      const hex = secret.slice(4);
      if (/^[0-9a-fA-F]{32}$/.test(hex)) ntHash = fromHex(hex);
      else {
        lineFail(
          `secret: "$NT$" must be followed by exactly 32 hex digits (an NT password hash), found ${hex.length} character${hex.length === 1 ? "" : "s"}${/[^0-9a-fA-F]/.test(hex) ? " including non-hex ones" : ""}`,
          `generate the line with ntHashLine / "pptp-ts hash-password", or write the password itself`,
        );
      }
    } else if (e.bare[2] && secret.startsWith("@")) {
      lineFail(
        `secret: pppd's "@file" form (secret read from another file) is not supported`,
        `write the secret itself, or its NT hash as "$NT$" + 32 hex digits; a password that starts with "@" must be quoted`,
      );
    } else {
      password = secret;
      if (secret === "") warn(`user "${user}" has an empty secret`);
    }

    const addresses: string[] = [];
    let sawAny = false;
    for (let k = 3; k < e.words.length; k++) {
      const a = e.words[k];
      if (special(k, "*") || special(k, "-")) {
        sawAny = true;
        continue;
      }
      const parsed = unicastAddress(a);
      if (parsed.ok) {
        if (!addresses.includes(parsed.value)) addresses.push(parsed.value);
        continue;
      }
      const reason = /^!|\/|^[A-Za-z]/.test(a)
        ? `"${a}": subnets, host names and "!" exclusions are not supported`
        : `"${a}": ${parsed.problems[0].problem}`;
      lineFail(`address ${reason}`, `list IPv4 addresses, or "*" for an address from the pool`);
    }
    if (bad) continue;
    if (sawAny && addresses.length > 0) {
      warn(`user "${user}": "*"/"-" next to fixed addresses is ignored; the user gets ${addresses[0]}`);
    }

    const key = `${opts.caseSensitive ? user : user.toLowerCase()}\u0000${server.toLowerCase()}`;
    const first = firstSeen.get(key);
    if (first !== undefined) {
      warn(`user "${user}" (server ${server}) is already defined on line ${first}; this line is never used`);
    } else firstSeen.set(key, e.line);

    lines.push(e.line);
    users.push({
      user,
      server,
      ...(ntHash !== undefined ? { ntHash } : { password }),
      ...(addresses.length > 0 ? { addresses } : {}),
    });
  }
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, users, warnings, lines };
}

/** A word as loadUsers reads it back: bare when it is plain, else double-quoted with `\` and `"` escaped. */
export function quoteWord(s: string): string {
  if (/[\n\r]/.test(s)) throw new RangeError("a chap-secrets field cannot hold a line break");
  if (/^[A-Za-z0-9._+:%=,/-][A-Za-z0-9._@+:%=,/$#*-]*$/.test(s) && s !== "-") return s;
  return `"${s.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}

/** One chap-secrets line for a record (the inverse of loadUsers for a single entry). */
export function formatUserLine(u: LocalUser): string {
  const secret = u.ntHash !== undefined ? `$NT$${toHex(u.ntHash).toUpperCase()}` : quoteWord(u.password ?? "");
  const addresses = u.addresses !== undefined && u.addresses.length > 0 ? u.addresses.join(" ") : "*";
  return `${quoteWord(u.user)} ${u.server === undefined || u.server === "*" ? "*" : quoteWord(u.server)} ${secret} ${addresses}`;
}

/**
 * A chap-secrets line that stores `password` only as its NT hash (`$NT$...`), for a CLI such as
 * `pptp-ts hash-password alice`: MS-CHAPv1/v2 logins work, the clear password is not kept on disk.
 */
export function ntHashLine(user: string, password: string, server = "*", addresses: readonly string[] = []): string {
  return formatUserLine({ user, server, ntHash: ntPasswordHash(password), addresses });
}
