/**
 * pptp-ts.conf: the server's configuration file, INI style like accel-ppp's, so network engineers can read it
 * without a manual:
 *
 *   ; a comment          # also a comment
 *   [ppp]
 *   pool = 192.168.50.10-192.168.50.254, 10.8.0.0/24
 *   dns  = 192.168.50.1  ; a comment after whitespace
 *
 * Syntax: `[section]` lines, `key = value` lines, blank lines and comments starting with ';' or '#'. Section and
 * key names are case-insensitive. Values are trimmed; a ';' or '#' after whitespace starts a trailing comment,
 * unless the value is written in double quotes ("a value ; with semicolon"). Lists are comma-separated.
 * Durations are seconds, or carry a unit: "50ms", "30s", "5m", "1h".
 *
 * Parsing never stops at the first problem: every bad line, unknown key and failed cross-check is reported as a
 * ConfigError (`file:line: [section] key: problem — fix: ...`). Unknown names get a "did you mean" from the edit
 * distance to the known ones, or the section they belong in.
 *
 * The result is plain data (ServerConfig), durations in milliseconds, for the server runtime to map onto the
 * engines' options (ControlConnectionOptions, LcpConfig, CcpOptionsConfig, GreChannelOptions...).
 */
import { dirname, resolve } from "node:path";
import type { CcpPolicy, MppeStrength } from "../ppp/options-ccp.js";
import type { AuthMethod } from "../ppp/protocols.js";
import type { FlowControl } from "../pptp/send-window.js";
import { closest, ConfigError, where } from "./config-error.js";
import {
  boolean,
  duration,
  hostName,
  integer,
  interfaceName,
  ipv4Address,
  list,
  nonEmpty,
  oneOf,
  poolRange,
  unicastAddress,
  words,
  type Parsed,
  type ValueParser,
} from "./config-values.js";
import { LOG_CATEGORIES, type LogCategory } from "./log.js";
import { checkPoolRanges, formatAddressRange, rangesContain, type AddressRange } from "./pool.js";

export { ConfigError } from "./config-error.js";
export { describeConfig } from "./config-describe.js";

export interface ServerConfig {
  readonly server: {
    /** Address the PPTP control listener (TCP 1723) binds; 0.0.0.0 = all. */
    readonly listen: string;
    readonly port: number;
    /** PPTP Host Name (RFC 2637 §2.1) and our CHAP/MS-CHAP name. */
    readonly hostname: string;
    readonly maxSessions: number;
    /** Sessions one peer address may hold; 0 = unlimited. */
    readonly maxSessionsPerPeer: number;
    readonly tunName: string;
  };
  readonly ppp: {
    /** Our end of every tunnel (IPCP IP-Address we send, RFC 1332 §3.3). */
    readonly localAddress: string;
    readonly pool: readonly AddressRange[];
    /** Primary and secondary DNS / NBNS offered in IPCP (RFC 1877). */
    readonly dns: readonly string[];
    readonly wins: readonly string[];
    readonly mtu: number;
    readonly mru: number;
    /** Methods in order of preference (the first is proposed first in LCP, RFC 1661 §6.2). */
    readonly auth: readonly AuthMethod[];
    /** Absolute path of the chap-secrets file (resolved against the config file's directory). */
    readonly users: string;
    readonly caseSensitiveUsers: boolean;
  };
  readonly mppe: {
    readonly policy: CcpPolicy;
    readonly strengths: readonly MppeStrength[];
    readonly stateless: CcpPolicy;
  };
  readonly timers: {
    /** PPTP control keepalive (RFC 2637 §3.1.4 Echo-Request); 0 = off. */
    readonly echoIntervalMs: number;
    readonly echoTimeoutMs: number;
    readonly echoRetries: number;
    /** LCP Echo-Request keepalive (RFC 1661 §5.8); 0 = off. */
    readonly lcpEchoIntervalMs: number;
    readonly lcpEchoFailures: number;
    /** Disconnect after this long without data traffic; 0 = off. */
    readonly idleTimeoutMs: number;
    /** Disconnect after this long in total; 0 = off. */
    readonly sessionTimeoutMs: number;
    /** How long any control request may wait for its reply (RFC 2637 §3). */
    readonly controlReplyTimeoutMs: number;
  };
  readonly gre: {
    readonly flowControl: FlowControl;
    readonly reorderTimeoutMs: number;
    readonly ackDelayMs: number;
  };
  readonly log: {
    readonly debug: readonly LogCategory[];
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = { -readonly [S in keyof ServerConfig]: Mutable<ServerConfig[S]> };
export type SectionName = keyof ServerConfig;

/** The configuration with no file at all; `baseDir` is where the users file is looked for (default: cwd). */
export function defaultConfig(baseDir = "."): ServerConfig {
  return {
    server: { listen: "0.0.0.0", port: 1723, hostname: "pptp-ts", maxSessions: 100, maxSessionsPerPeer: 0, tunName: "pptp0" },
    ppp: {
      localAddress: "192.168.50.1",
      pool: [{ first: "192.168.50.10", last: "192.168.50.254" }],
      dns: [],
      wins: [],
      mtu: 1400,
      mru: 1400,
      auth: ["mschap-v2"],
      users: resolve(baseDir, "chap-secrets"),
      caseSensitiveUsers: false,
    },
    mppe: { policy: "require", strengths: [128], stateless: "prefer" },
    timers: {
      echoIntervalMs: 60_000,
      echoTimeoutMs: 60_000,
      echoRetries: 2,
      lcpEchoIntervalMs: 30_000,
      lcpEchoFailures: 4,
      idleTimeoutMs: 0,
      sessionTimeoutMs: 0,
      controlReplyTimeoutMs: 60_000,
    },
    gre: { flowControl: "off", reorderTimeoutMs: 50, ackDelayMs: 100 },
    log: { debug: ["events", "errors"] },
  };
}

interface KeySpec {
  /** A good value for the default fix: `use e.g. "key = example"`. */
  readonly example: string;
  apply(d: Draft, raw: string, baseDir: string): Parsed<unknown>;
  /** The value as it would be written in the file (formatConfig). */
  show(c: ServerConfig): string;
}

function key<T>(
  parse: ValueParser<T>,
  example: string,
  set: (d: Draft, v: T, baseDir: string) => void,
  show: (c: ServerConfig) => string,
): KeySpec {
  return {
    example,
    show,
    apply(d, raw, baseDir) {
      const p = parse(raw);
      if (p.ok) set(d, p.value, baseDir);
      return p;
    },
  };
}

/** Durations are written back as seconds when whole, else with "ms". */
function showDuration(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : `${ms}ms`;
}

const DAY_MS = 86_400_000;
/** setTimeout's limit (2^31-1 ms, ~24.8 days); longer session limits would fire at once. */
const MAX_TIMER_MS = 24 * DAY_MS;

const AUTH_METHODS: readonly AuthMethod[] = ["mschap-v2", "mschap-v1", "chap-md5", "pap"];
const CCP_POLICIES: readonly CcpPolicy[] = ["require", "prefer", "allow", "deny"];
const STRENGTHS = oneOf<MppeStrength>([["40", 40], ["56", 56], ["128", 128]]);
const FLOW_CONTROL: readonly FlowControl[] = ["off", "fixed", "sliding"];

/** "all" is a shorthand for every category. */
const logCategories: ValueParser<LogCategory[]> = (raw) => {
  if (raw.trim().toLowerCase() === "all") return { ok: true, value: LOG_CATEGORIES.slice() };
  const p = list(words(LOG_CATEGORIES), 0, LOG_CATEGORIES.length, "categories")(raw);
  if (p.ok) return p;
  return { ok: false, problems: p.problems.map((q) => ({ problem: q.problem, fix: `use e.g. "debug = events, errors", or "debug = all"` })) };
};

/** A pool: ranges and CIDR blocks that do not overlap and hold at most a /16. */
const poolRanges: ValueParser<AddressRange[]> = (raw) => {
  const p = list(poolRange, 1, Infinity, "ranges")(raw);
  if (!p.ok) return p;
  const total = checkPoolRanges(p.value);
  if (!total.ok) return { ok: false, problems: [{ problem: total.error.message, fix: "list each address once, at most 65536 in all" }] };
  return p;
};

/** mtu and mru: 576 is the least every IPv4 host must accept (RFC 791); 1500 is Ethernet's payload. */
const MTU = integer(576, 1500);

/** Sections and keys, in the order formatConfig writes them. */
const SPECS: { readonly [S in SectionName]: Readonly<Record<string, KeySpec>> } = {
  server: {
    listen: key(ipv4Address, "0.0.0.0", (d, v) => (d.server.listen = v), (c) => c.server.listen),
    port: key(integer(1, 65535), "1723", (d, v) => (d.server.port = v), (c) => String(c.server.port)),
    hostname: key(hostName, "vpn.example.com", (d, v) => (d.server.hostname = v), (c) => c.server.hostname),
    "max-sessions": key(integer(1, 65535), "100", (d, v) => (d.server.maxSessions = v), (c) => String(c.server.maxSessions)),
    "max-sessions-per-peer": key(integer(0, 65535), "0", (d, v) => (d.server.maxSessionsPerPeer = v), (c) => String(c.server.maxSessionsPerPeer)),
    "tun-name": key(interfaceName, "pptp0", (d, v) => (d.server.tunName = v), (c) => c.server.tunName),
  },
  ppp: {
    "local-address": key(unicastAddress, "192.168.50.1", (d, v) => (d.ppp.localAddress = v), (c) => c.ppp.localAddress),
    pool: key(poolRanges, "192.168.50.10-192.168.50.254", (d, v) => (d.ppp.pool = v), (c) => c.ppp.pool.map(formatAddressRange).join(", ")),
    dns: key(list(unicastAddress, 0, 2, "addresses"), "192.168.50.1, 8.8.8.8", (d, v) => (d.ppp.dns = v), (c) => c.ppp.dns.join(", ")),
    wins: key(list(unicastAddress, 0, 2, "addresses"), "192.168.50.2", (d, v) => (d.ppp.wins = v), (c) => c.ppp.wins.join(", ")),
    mtu: key(MTU, "1400", (d, v) => (d.ppp.mtu = v), (c) => String(c.ppp.mtu)),
    mru: key(MTU, "1400", (d, v) => (d.ppp.mru = v), (c) => String(c.ppp.mru)),
    auth: key(list(words(AUTH_METHODS), 1, AUTH_METHODS.length, "methods"), "mschap-v2", (d, v) => (d.ppp.auth = v), (c) => c.ppp.auth.join(", ")),
    users: key(nonEmpty, "chap-secrets", (d, v, baseDir) => (d.ppp.users = resolve(baseDir, v)), (c) => c.ppp.users),
    "case-sensitive-users": key(boolean, "no", (d, v) => (d.ppp.caseSensitiveUsers = v), (c) => (c.ppp.caseSensitiveUsers ? "yes" : "no")),
  },
  mppe: {
    policy: key(words(CCP_POLICIES), "require", (d, v) => (d.mppe.policy = v), (c) => c.mppe.policy),
    strengths: key(list(STRENGTHS, 1, 3, "strengths"), "128", (d, v) => (d.mppe.strengths = v), (c) => c.mppe.strengths.join(", ")),
    stateless: key(words(CCP_POLICIES), "prefer", (d, v) => (d.mppe.stateless = v), (c) => c.mppe.stateless),
  },
  timers: {
    "echo-interval": key(duration(0, DAY_MS), "60", (d, v) => (d.timers.echoIntervalMs = v), (c) => showDuration(c.timers.echoIntervalMs)),
    "echo-timeout": key(duration(1000, 3_600_000), "60", (d, v) => (d.timers.echoTimeoutMs = v), (c) => showDuration(c.timers.echoTimeoutMs)),
    "echo-retries": key(integer(0, 100), "2", (d, v) => (d.timers.echoRetries = v), (c) => String(c.timers.echoRetries)),
    "lcp-echo-interval": key(duration(0, 3_600_000), "30", (d, v) => (d.timers.lcpEchoIntervalMs = v), (c) => showDuration(c.timers.lcpEchoIntervalMs)),
    "lcp-echo-failures": key(integer(1, 100), "4", (d, v) => (d.timers.lcpEchoFailures = v), (c) => String(c.timers.lcpEchoFailures)),
    "idle-timeout": key(duration(0, MAX_TIMER_MS), "30m", (d, v) => (d.timers.idleTimeoutMs = v), (c) => showDuration(c.timers.idleTimeoutMs)),
    "session-timeout": key(duration(0, MAX_TIMER_MS), "8h", (d, v) => (d.timers.sessionTimeoutMs = v), (c) => showDuration(c.timers.sessionTimeoutMs)),
    "control-reply-timeout": key(duration(1000, 600_000), "60", (d, v) => (d.timers.controlReplyTimeoutMs = v), (c) => showDuration(c.timers.controlReplyTimeoutMs)),
  },
  gre: {
    "flow-control": key(words(FLOW_CONTROL), "off", (d, v) => (d.gre.flowControl = v), (c) => c.gre.flowControl),
    "reorder-timeout": key(duration(0, 5000), "50ms", (d, v) => (d.gre.reorderTimeoutMs = v), (c) => showDuration(c.gre.reorderTimeoutMs)),
    "ack-delay": key(duration(0, 5000), "100ms", (d, v) => (d.gre.ackDelayMs = v), (c) => showDuration(c.gre.ackDelayMs)),
  },
  log: {
    debug: key(logCategories, "events, errors", (d, v) => (d.log.debug = v), (c) => c.log.debug.join(", ")),
  },
};

const SECTION_NAMES = Object.keys(SPECS) as SectionName[];

/** Every section and its keys, in file order (for documentation checks and completion). */
export function configKeys(): { readonly section: SectionName; readonly keys: readonly string[] }[] {
  return SECTION_NAMES.map((section) => ({ section, keys: Object.keys(SPECS[section]) }));
}

/** The section that has `name`, if any. */
function sectionOfKey(name: string): SectionName | undefined {
  return SECTION_NAMES.find((s) => Object.hasOwn(SPECS[s], name));
}

export type ConfigResult =
  | { readonly ok: true; readonly config: ServerConfig; readonly warnings: string[] }
  | { readonly ok: false; readonly errors: ConfigError[]; readonly warnings: string[] };

/** A value after "=": quoted, or up to a ';'/'#' that follows whitespace. */
function splitValue(text: string): { value: string } | { problem: string } {
  const t = text.trim();
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1);
    if (end < 0) return { problem: `value ${t} has no closing quote` };
    const rest = t.slice(end + 1).trim();
    if (rest !== "" && !/^[;#]/.test(rest)) return { problem: `text "${rest}" follows the quoted value` };
    return { value: t.slice(1, end) };
  }
  const comment = /\s[;#]/.exec(t);
  return { value: (comment === null ? t : t.slice(0, comment.index)).trim() };
}

/**
 * Parses the text of a config file. `fileName` appears in every message and anchors the `users` path (relative
 * paths are taken from the config file's directory). Missing keys keep their defaultConfig() value.
 */
export function parseConfig(text: string, fileName: string): ConfigResult {
  const baseDir = dirname(fileName);
  const draft = defaultConfig(baseDir) as Draft;
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  /** "section.key" → line where it was set (to point cross-check errors at the right line). */
  const setOn = new Map<string, number>();
  const failed = new Set<string>();
  let section: SectionName | undefined;
  /** After an unknown [section] header, its keys are skipped: the header error already covers them. */
  let inUnknownSection = false;

  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    const fail = (message: string, fix: string) => errors.push(new ConfigError(fileName, lineNo, message, fix));
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;

    if (line.startsWith("[")) {
      const m = /^\[\s*([^\]]*?)\s*\]\s*(?:[;#].*)?$/.exec(line);
      if (m === null) {
        fail(`"${line}" is not a section header`, `write it as "[name]", e.g. "[ppp]"`);
        section = undefined;
        inUnknownSection = true;
        continue;
      }
      const name = m[1].toLowerCase();
      if ((SECTION_NAMES as string[]).includes(name)) {
        section = name as SectionName;
        inUnknownSection = false;
        continue;
      }
      section = undefined;
      inUnknownSection = true;
      const guess = closest(name, SECTION_NAMES);
      const known = `sections are ${SECTION_NAMES.map((s) => `[${s}]`).join(", ")}`;
      fail(`[${m[1]}]: unknown section`, guess !== undefined ? `did you mean [${guess}]? ${known}` : known);
      continue;
    }

    const eq = line.indexOf("=");
    if (eq < 0) {
      fail(`"${line}" is not "key = value", a [section] or a comment`, `write "key = value", or start a comment with ';' or '#'`);
      continue;
    }
    const name = line.slice(0, eq).trim().toLowerCase();
    if (name === "") {
      fail(`"${line}" has no key before '='`, `write "key = value"`);
      continue;
    }
    if (inUnknownSection) continue;
    if (section === undefined) {
      const home = sectionOfKey(name);
      fail(`"${name}" is outside any section`, home !== undefined ? `put it under [${home}]` : `put keys under a section header such as [server]`);
      continue;
    }
    const spec = Object.hasOwn(SPECS[section], name) ? SPECS[section][name] : undefined;
    if (spec === undefined) {
      const home = sectionOfKey(name);
      if (home !== undefined) {
        fail(`[${section}] ${name}: unknown key in [${section}]`, `"${name}" belongs in [${home}]: move the line under [${home}]`);
      } else {
        const keys = Object.keys(SPECS[section]);
        const guess = closest(name, keys);
        const known = `[${section}] keys are ${keys.join(", ")}`;
        fail(`[${section}] ${name}: unknown key`, guess !== undefined ? `did you mean "${guess}"? ${known}` : known);
      }
      continue;
    }
    const id = `${section}.${name}`;
    const label = `[${section}] ${name}`;
    const first = setOn.get(id);
    if (first !== undefined) {
      fail(`${label}: set again (first set on line ${first})`, `keep one "${name}" line`);
      continue;
    }
    setOn.set(id, lineNo);
    const split = splitValue(line.slice(eq + 1));
    if ("problem" in split) {
      failed.add(id);
      fail(`${label}: ${split.problem}`, `write the value in double quotes with nothing after it but a comment`);
      continue;
    }
    const parsed = spec.apply(draft, split.value, baseDir);
    if (!parsed.ok) {
      failed.add(id);
      for (const p of parsed.problems) fail(`${label}: ${p.problem}`, p.fix ?? `use e.g. "${name} = ${spec.example}"`);
      continue;
    }
    for (const w of parsed.warnings ?? []) warnings.push(`${where(fileName, lineNo)}: ${label}: ${w}`);
  }

  crossCheck(draft, { fileName, setOn, failed, errors, warnings });
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, config: draft, warnings };
}

interface CheckContext {
  readonly fileName: string;
  readonly setOn: ReadonlyMap<string, number>;
  readonly failed: ReadonlySet<string>;
  readonly errors: ConfigError[];
  readonly warnings: string[];
}

/** Rules between keys. A rule is skipped when one of its keys had a bad value (already reported). */
function crossCheck(c: Draft, ctx: CheckContext): void {
  const usable = (...ids: string[]) => ids.every((id) => !ctx.failed.has(id));
  /** The line of the first key that was set in the file, or 0 when all are defaults. */
  const lineOf = (...ids: string[]) => {
    for (const id of ids) {
      const l = ctx.setOn.get(id);
      if (l !== undefined) return l;
    }
    return 0;
  };
  const error = (ids: string[], label: string, message: string, fix: string) =>
    ctx.errors.push(new ConfigError(ctx.fileName, lineOf(...ids), `${label}: ${message}`, fix));
  const warn = (ids: string[], label: string, message: string) =>
    ctx.warnings.push(`${where(ctx.fileName, lineOf(...ids))}: ${label}: ${message}`);
  const poolText = c.ppp.pool.map(formatAddressRange).join(", ");

  // Our tunnel end must not be handed to a peer as well (RFC 1332 §3.3: both ends need distinct addresses).
  if (usable("ppp.local-address", "ppp.pool") && rangesContain(c.ppp.pool, c.ppp.localAddress)) {
    error(
      ["ppp.local-address", "ppp.pool"],
      "[ppp] local-address",
      `${c.ppp.localAddress} is inside the pool (${poolText}), so a peer could be given the server's own address`,
      `choose a local-address outside the pool, or start the pool after it`,
    );
  }

  if (usable("ppp.pool", "server.max-sessions")) {
    const size = checkPoolRanges(c.ppp.pool);
    if (size.ok && size.value < c.server.maxSessions) {
      warn(
        ["ppp.pool", "server.max-sessions"],
        "[ppp] pool",
        `holds ${size.value} addresses but [server] max-sessions is ${c.server.maxSessions}; sessions beyond ${size.value} will be refused for lack of an address`,
      );
    }
  }

  if (usable("server.max-sessions", "server.max-sessions-per-peer") && c.server.maxSessionsPerPeer > c.server.maxSessions) {
    warn(
      ["server.max-sessions-per-peer", "server.max-sessions"],
      "[server] max-sessions-per-peer",
      `${c.server.maxSessionsPerPeer} is more than max-sessions (${c.server.maxSessions}) and has no effect`,
    );
  }

  // MPPE keys come only from MS-CHAP (RFC 3079 §2-3); PAP and CHAP-MD5 leave nothing to derive them from.
  if (usable("mppe.policy", "ppp.auth") && c.mppe.policy === "require") {
    const keyless = c.ppp.auth.filter((m) => m === "pap" || m === "chap-md5");
    if (keyless.length === c.ppp.auth.length) {
      error(
        ["mppe.policy", "ppp.auth"],
        "[mppe] policy",
        `"require" needs MS-CHAP keys (RFC 3079), but [ppp] auth allows only ${keyless.join(", ")}, which give none`,
        `add mschap-v2 to [ppp] auth (e.g. "auth = mschap-v2"), or set "policy = deny" to run unencrypted`,
      );
    } else if (keyless.length > 0) {
      warn(
        ["ppp.auth", "mppe.policy"],
        "[ppp] auth",
        `${keyless.join(", ")} give no MPPE keys; with [mppe] policy = require, peers that authenticate that way will be disconnected`,
      );
    }
  }

  for (const k of ["dns", "wins"] as const) {
    if (!usable(`ppp.${k}`, "ppp.pool")) continue;
    for (const a of c.ppp[k]) {
      if (rangesContain(c.ppp.pool, a)) warn([`ppp.${k}`], `[ppp] ${k}`, `${a} is inside the pool, so a peer may be given that address`);
    }
  }
}

/** The config as a file: every key, defaults included; parseConfig(formatConfig(c), f) gives c back. */
export function formatConfig(c: ServerConfig): string {
  const out: string[] = [];
  for (const s of SECTION_NAMES) {
    if (out.length > 0) out.push("");
    out.push(`[${s}]`);
    for (const [name, spec] of Object.entries(SPECS[s])) out.push(`${name} = ${quoteIfNeeded(spec.show(c))}`);
  }
  return out.join("\n") + "\n";
}

function quoteIfNeeded(v: string): string {
  return /\s[;#]/.test(v) || v.startsWith('"') ? `"${v}"` : v;
}
