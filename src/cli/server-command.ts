/**
 * `pptp-ts server`: read the config (or take safe defaults and say what they are), load users, open the data
 * plane (raw GRE socket, TUN with routes for the pool), listen on TCP 1723, and run until SIGTERM/SIGINT.
 * SIGHUP re-reads the config and users file; established sessions keep what they negotiated.
 */
import { readFileSync, existsSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { parseConfig, defaultConfig, describeConfig, formatConfig, type ServerConfig } from "../config/config.js";
import { loadUsers } from "../config/users-file.js";
import { checkUsers, secretsModeWarning } from "../config/users-check.js";
import { Logger, type LogCategory } from "../server/log.js";
import { parseDebugOption, withDebug } from "../session/log-category.js";
import { LocalUsers, type LocalUser } from "../aaa/local.js";
import { AuthChain, type ChainLink } from "../aaa/chain.js";
import type { AccountingSink, Authenticator } from "../aaa/types.js";
import { AccountingFanOut } from "../aaa/accounting-fan-out.js";
import { spoolStatsReport, type SpoolStats } from "../aaa/accounting/spool.js";
import { tacacsAccountingFromConfig, tacacsFromConfig } from "../io/tacacs.js";
import { accountingFromConfig, dasFromConfig } from "../io/acct-das-wiring.js";
import type { DasServer } from "../io/das-udp.js";
import type { ControlSocket } from "../io/control-socket.js";
import { openAdminSocket } from "./control.js";
import { processTarget } from "../admin/target.js";
import type { AdminTarget, CaptureTarget } from "../admin/commands.js";
import { formatTacacsServers } from "../config/tacacs-config.js";
import { RadiusAuthenticator } from "../aaa/radius/authenticator.js";
import { RadiusUdpClient } from "../io/radius-udp.js";
import { secretFromFile } from "../config/radius-config.js";
import { parseIpv4 } from "../wire/ipv4.js";
import { startRoles, runUntilSignal, type RunningRoles } from "./roles.js";
import { parseOptions } from "./options.js";
import { PptpMetrics } from "../admin/metrics.js";
import { openMetricsHttp, type MetricsHttpServer } from "../io/metrics-http.js";
import { LogSetup } from "./log-setup.js";
import { CarriedCounters } from "../admin/carried-counters.js";
import { applyDebug } from "../admin/debug.js";
import { logOpenFileLimit, raiseOpenFileLimit } from "./open-files.js";
import { spoolPathNotes, type OpenSpools } from "./spool-reload.js";

export interface ServerArgs {
  config?: string;
  debug?: LogCategory[];
  /** --help / -h: print the usage and exit 0. */
  help?: boolean;
}

export const SERVER_USAGE = `usage: pptp-ts server [-c FILE] [--debug CATS]
  runs the PPTP server (TCP 1723 + GRE) and the config's dial-out [peer NAME]s until SIGTERM/SIGINT
  -c, --config FILE   the configuration (without it: safe defaults, printed at start)
  -d, --debug CATS    log categories to add: events,errors,packets,negotiation (or all)
  SIGHUP (or \`pptp-ts reload\`) re-reads the config and users file; established sessions keep their settings.
`;
export const CHECK_CONFIG_USAGE = `usage: pptp-ts check-config -c FILE
  checks the config, users and secret files as the server would and prints the effective configuration
  (secrets not shown); exit 0 when the server would start, 1 when not, 2 for bad usage
`;

export function parseServerArgs(argv: string[]): ServerArgs | string {
  const p = parseOptions(argv, { config: { type: "string", short: "c" }, debug: { type: "string", short: "d" }, help: { type: "boolean", short: "h" } });
  if (typeof p === "string") return p;
  if (p.positionals.length > 0) return `unexpected "${p.positionals.join(" ")}" (options only; the config file goes after -c)`;
  const a: ServerArgs = {};
  if (p.values.help === true) a.help = true;
  if (typeof p.values.config === "string") {
    if (p.values.config === "") return "--config needs a file name";
    a.config = p.values.config;
  }
  if (typeof p.values.debug === "string") {
    const cats = parseDebugOption(p.values.debug);
    if (typeof cats === "string") return cats;
    a.debug = cats;
  }
  return a;
}

type Loaded = {
  config: ServerConfig;
  users: LocalUser[];
  notes: string[];
  radiusSecret?: string;
  /** The password made up for user "pptp" when there is no config and no users file (valid while we run). */
  oneRunPassword?: string;
  /** "section.key" → the config file line that set it (reload notes name it). */
  keyLines?: ReadonlyMap<string, number>;
};

/** The RADIUS shared secret from [radius] secret or secret-file; a string error names the file and a fix. */
function radiusSecret(config: ServerConfig, configFile: string): { secret: string } | string {
  const r = config.radius;
  if (r.secret !== undefined) return { secret: r.secret };
  if (r.secretFile === undefined) return `${configFile}: [radius] secret: missing — fix: add "secret-file = /etc/pptp-ts/radius-secret"`;
  let text: string;
  try {
    text = readFileSync(r.secretFile, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    return `${configFile}: [radius] secret-file: cannot read ${r.secretFile} (${code ?? (e as Error).message}) — fix: create it (mode 0600) with the shared secret on its first line`;
  }
  const secret = secretFromFile(text);
  if (secret === undefined) return `${configFile}: [radius] secret-file: ${r.secretFile} has an empty first line — fix: put the shared secret on its first line`;
  return { secret };
}

/** Config + users from disk; a string is an error message for the operator (file, line, fix). */
function load(args: ServerArgs, previous?: Loaded): Loaded | string {
  const notes: string[] = [];
  let config: ServerConfig;
  let keyLines: ReadonlyMap<string, number> | undefined;
  if (args.config) {
    let text: string;
    try {
      text = readFileSync(args.config, "utf8");
    } catch (e) {
      return `cannot read config file ${args.config}: ${(e as Error).message}`;
    }
    const r = parseConfig(text, args.config);
    if (!r.ok) return r.errors.map((e) => e.toString()).join("\n");
    config = r.config;
    keyLines = r.keyLines;
    for (const w of r.warnings) notes.push(`warning: ${w}`);
  } else {
    config = defaultConfig(process.cwd());
    const lines = describeConfig(config);
    notes.push(`no config file given (-c FILE): ${lines[0]}`, ...lines.slice(1));
  }
  let users: LocalUser[];
  let oneRunPassword: string | undefined;
  const usesLocal = config.aaa.auth.includes("local");
  let secret: string | undefined;
  if (config.server.enable && config.aaa.auth.includes("radius")) {
    const s = radiusSecret(config, args.config ?? "(defaults)");
    if (typeof s === "string") return s;
    secret = s.secret;
  }
  if (!config.server.enable || !usesLocal) {
    // Without local in [aaa] auth the users file is not needed (RADIUS holds the users).
    users = [];
  } else if (existsSync(config.ppp.users)) {
    const r = loadUsers(readFileSync(config.ppp.users, "utf8"), config.ppp.users, { caseSensitive: config.ppp.caseSensitiveUsers });
    if (!r.ok) return r.errors.map((e) => e.toString()).join("\n");
    users = [...r.users];
    for (const w of r.warnings ?? []) notes.push(`warning: ${w}`);
    const checked = checkUsers(r.users, r.lines, config, config.ppp.users);
    if (checked.errors.length > 0) return checked.errors.map((e) => e.toString()).join("\n");
    for (const w of checked.warnings) notes.push(`warning: ${w}`);
    const mode = secretsModeWarning(config.ppp.users, statSync(config.ppp.users).mode);
    if (mode !== undefined) notes.push(`warning: ${mode}`);
    notes.push(`${users.length} user(s) from ${config.ppp.users}`);
  } else if (!args.config) {
    // Safe default for a first run: one user with a random password, shown once, valid for this run only. A
    // SIGHUP keeps it: the operator already handed it out, and a reload must not lock that client out.
    const kept = previous?.oneRunPassword;
    oneRunPassword = kept ?? randomBytes(9).toString("base64url");
    users = [{ user: "pptp", password: oneRunPassword }];
    notes.push(
      kept !== undefined
        ? `no users file (${path.relative(process.cwd(), config.ppp.users) || config.ppp.users}): user "pptp" keeps this run's password`
        : `no users file (${path.relative(process.cwd(), config.ppp.users) || config.ppp.users}): created user "pptp" with password "${oneRunPassword}" for this run only; write a chap-secrets file to keep users`,
    );
  } else {
    return `${args.config}: [ppp] users: file ${config.ppp.users} does not exist — fix: create it in chap-secrets format ("user * password") or point "users =" at it`;
  }
  // A named peer (role server) with its own password logs in like a chap-secrets user; the peer section wins.
  for (const p of config.peers) {
    if (p.role !== "server" || p.user === undefined || p.password === undefined) continue;
    const same = (u: LocalUser) => (config.ppp.caseSensitiveUsers ? u.user === p.user : u.user.toLowerCase() === p.user!.toLowerCase());
    users = [...users.filter((u) => !same(u)), { user: p.user, password: p.password }];
  }
  return { config, users, notes, ...(secret !== undefined ? { radiusSecret: secret } : {}), ...(oneRunPassword !== undefined ? { oneRunPassword } : {}), ...(keyLines !== undefined ? { keyLines } : {}) };
}

/**
 * The control socket for `pptp-ts show` / `clear`. Without it the server still serves: a socket held by another
 * running instance (servers in other network namespaces share the file system) is said, not fatal.
 */
/**
 * The Prometheus endpoint ([metrics] listen), bound before anything else starts so an address that cannot be
 * bound stops the server at once with the reason; until the server runs it serves zeros and process metrics.
 */
async function openMetrics(config: ServerConfig, target: () => AdminTarget | undefined, logger: Logger): Promise<MetricsHttpServer | undefined> {
  const l = config.metrics.listen;
  if (l === undefined) return undefined;
  const metrics = new PptpMetrics(target);
  const http = await openMetricsHttp({
    address: l.address,
    port: l.port,
    path: config.metrics.path,
    scrape: () => metrics.scrape(),
    onError: (e) => logger.log("errors", `metrics: ${e.message}`),
  });
  logger.log("events", `metrics (Prometheus) on http://${http.address.address}:${http.address.port}${config.metrics.path}`);
  return http;
}

/** The addresses the users file and the named peers assign to someone: the pool keeps them for their owners. */
function staticAddresses(l: Loaded): string[] {
  const out: string[] = [];
  for (const u of l.users) for (const a of u.addresses ?? []) if (parseIpv4(a).ok) out.push(a);
  for (const p of l.config.peers) if (p.role === "server" && p.remoteAddress !== undefined) out.push(p.remoteAddress);
  return out;
}

/** The authentication backends a configuration names, built and running; close() ends their sockets. */
interface AaaRuntime {
  readonly auth: Authenticator;
  /** Per backend server: requests, answers, timeouts, dropped replies (for `show stats`). */
  counters(): Record<string, Record<string, number>>;
  close(): void;
}

/**
 * Where session accounting goes. Built once at start and kept across SIGHUP: the records of sessions already
 * running, and the spool, must not change hands mid-session (a changed [accounting] or [tacacs] needs a restart).
 */
interface AccountingRuntime {
  readonly sink?: AccountingSink;
  /** Each backend's spool counters, as `show stats` topics ("accounting-spool radius", "accounting-spool tacacs"). */
  stats(): Record<string, Record<string, number>>;
  /** The spool files opened at start (a reload cannot move them: src/cli/spool-reload.ts). */
  readonly spools: OpenSpools;
  close(): Promise<void>;
}

async function accountingRuntime(l: Loaded, logger: Logger, configFile: string): Promise<AccountingRuntime> {
  const sinks: AccountingSink[] = [];
  const closers: (() => void)[] = [];
  const spools: [backend: string, stats: () => SpoolStats][] = [];
  const paths: { radius?: string; tacacs?: string } = {};
  const log = (line: string) => logger.log("errors", line);
  try {
    if (l.config.server.enable && l.config.accounting.enable) {
      const r = l.config.radius;
      // [accounting] without servers or a secret of its own uses [radius]'s (on port 1813).
      const own = l.config.accounting.secret !== "" || l.config.accounting.secretFile !== "";
      let secret = l.radiusSecret;
      if (secret === undefined && !own && (r.secret !== undefined || r.secretFile !== undefined)) {
        const s = radiusSecret(l.config, configFile);
        if (typeof s === "string") throw new Error(s);
        secret = s.secret;
      }
      const radius = await accountingFromConfig(
        l.config.accounting,
        {
          hosts: r.servers.map((s) => s.host),
          ...(secret !== undefined ? { secret } : {}),
          ...(r.nasIdentifier !== undefined ? { nasIdentifier: r.nasIdentifier } : {}),
          ...(r.nasIpAddress !== undefined ? { nasIpAddress: r.nasIpAddress } : {}),
        },
        log,
      );
      if (radius !== undefined) {
        sinks.push(radius.sink);
        closers.push(() => radius.close());
        spools.push(["radius", () => radius.stats()]);
        paths.radius = l.config.accounting.spool;
        logger.log("events", `accounting: RADIUS, spooled in ${l.config.accounting.spool}`);
      }
    }
    if (l.config.server.enable && l.config.aaa.auth.includes("tacacs")) {
      const t = tacacsAccountingFromConfig(l.config.tacacs, (level, line) => logger.log(level === "info" ? "events" : "errors", line));
      sinks.push(t.sink);
      closers.push(() => t.close());
      spools.push(["tacacs", () => t.stats()]);
      paths.tacacs = l.config.tacacs.spool;
      logger.log("events", `accounting: TACACS+, spooled in ${l.config.tacacs.spool}`);
    }
  } catch (e) {
    for (const c of closers) c();
    throw e;
  }
  const sink = sinks.length === 0 ? undefined : sinks.length === 1 ? sinks[0] : new AccountingFanOut(sinks, (e) => logger.log("errors", `accounting: ${e.message}`));
  const stats = (): Record<string, Record<string, number>> =>
    Object.fromEntries(spools.map(([backend, st]) => [`accounting-spool ${backend}`, spoolStatsReport(st())]));
  return { ...(sink ? { sink } : {}), stats, spools: paths, close: async () => closers.forEach((c) => c()) };
}

/** What answers authentication requests: [aaa] auth's backends in order (src/aaa/chain.ts). */
async function authenticator(l: Loaded, logger: Logger): Promise<AaaRuntime> {
  const local = new LocalUsers(l.users, { caseSensitive: l.config.ppp.caseSensitiveUsers });
  const chain = l.config.aaa.auth;
  if (!l.config.server.enable || chain.every((b) => b === "local")) return { auth: local, counters: () => ({}), close: () => {} };
  const counters: (() => Record<string, Record<string, number>>)[] = [];
  const closers: (() => void)[] = [];
  const byName = new Map<string, Authenticator>([["local", local]]);
  const described = new Map<string, string>([["local", "local users"]]);
  try {
    if (chain.includes("radius") && l.radiusSecret !== undefined) {
      const r = l.config.radius;
      const secret = new TextEncoder().encode(l.radiusSecret);
      const radius = await RadiusUdpClient.create({
        servers: r.servers.map((s) => ({ host: s.host, port: s.port, secret })),
        timeoutMs: r.timeoutMs,
        retries: r.retries,
        deadlineMs: r.deadlineMs,
        deadTimeMs: r.deadTimeMs,
        balance: r.balance,
        logIntervalMs: l.config.limits.logIntervalMs,
        log: (line) => logger.log("errors", line),
        ...(r.nasIpAddress !== undefined ? { bindAddress: r.nasIpAddress } : {}),
      });
      // Requests already sent finish within the deadline (a SIGHUP replaces the client while they run); then it goes.
      closers.push(() => setTimeout(() => radius.close(), r.deadlineMs + 1000).unref());
      counters.push(() => {
        const labels = radius.labels();
        return Object.fromEntries(
          radius.counters().map((c, i) => [
            `radius ${labels[i] ?? i}`,
            { requests: c.requests, retransmissions: c.retransmissions, responses: c.responses, timeouts: c.timeouts, dropped: Object.values(c.dropped).reduce((a, b) => a + b, 0) },
          ]),
        );
      });
      byName.set(
        "radius",
        new RadiusAuthenticator(radius, {
          ...(r.nasIdentifier !== undefined ? { nasIdentifier: r.nasIdentifier } : {}),
          ...(r.nasIpAddress !== undefined ? { nasIpAddress: r.nasIpAddress } : {}),
          log: (line) => logger.log("events", line),
        }),
      );
      described.set("radius", `RADIUS ${radius.labels().join(", ")} (${r.balance}, timeout ${r.timeoutMs} ms, ${r.retries} retries, deadline ${r.deadlineMs} ms)`);
    }
    if (chain.includes("tacacs")) {
      const t = tacacsFromConfig(l.config.tacacs, (level, line) => logger.log(level === "info" ? "events" : "errors", line));
      closers.push(() => setTimeout(() => t.close(), l.config.tacacs.deadlineMs + 1000).unref());
      byName.set("tacacs", t.authenticator);
      described.set("tacacs", `TACACS+ ${formatTacacsServers(l.config.tacacs.servers)} (timeout ${l.config.tacacs.timeoutMs} ms, deadline ${l.config.tacacs.deadlineMs} ms)`);
    }
  } catch (e) {
    for (const c of closers) c();
    throw e;
  }
  const links: ChainLink[] = chain.map((name) => ({ name, auth: byName.get(name)! }));
  logger.log("events", `authentication: ${chain.map((n) => described.get(n)).join(", then if unreachable ")}`);
  const auth = links.length === 1 ? links[0].auth : new AuthChain(links, (line) => logger.log("events", line));
  return { auth, counters: () => Object.assign({}, ...counters.map((c) => c())), close: () => closers.forEach((c) => c()) };
}

export async function runServer(argv: string[]): Promise<number> {
  const args = parseServerArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`pptp-ts server: ${args}\n${SERVER_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(SERVER_USAGE);
    return 0;
  }
  const loaded = load(args);
  if (typeof loaded === "string") {
    process.stderr.write(`pptp-ts server: configuration error\n${loaded}\n`);
    return 2;
  }
  const { config } = loaded;
  const openFiles = raiseOpenFileLimit();
  const logSetup = new LogSetup(config.log, withDebug(config.log.debug, args.debug));
  const logger = logSetup.logger;
  for (const n of loaded.notes) logger.log("events", n);

  let roles: RunningRoles;
  let current: AaaRuntime;
  let accounting: AccountingRuntime | undefined;
  let das: DasServer | undefined;
  let control: ControlSocket | undefined;
  let metricsHttp: MetricsHttpServer | undefined;
  let target: CaptureTarget | undefined;
  let lastLoaded = loaded;
  const carried = new CarriedCounters();
  // What SIGHUP and `pptp-ts reload` do; set once everything runs.
  let reload: (why: string) => Promise<{ ok: boolean; message: string }> = async (why) => {
    logger.log("events", `${why}: ignored, the server is still starting (send it again once it runs)`);
    return { ok: false, message: "the server is still starting" };
  };
  // From the first moment: SIGHUP's default action kills the process, and logrotate or an operator may send one
  // while the server still waits for its RADIUS or metrics sockets.
  const onHup = (): void => void reload("SIGHUP");
  process.on("SIGHUP", onHup);
  try {
    metricsHttp = await openMetrics(config, () => target, logger);
    current = await authenticator(loaded, logger);
    accounting = await accountingRuntime(loaded, logger, args.config ?? "(defaults)");
    roles = await startRoles({ config, auth: current.auth, logger, reservedAddresses: staticAddresses(loaded), ...(accounting.sink ? { accounting: accounting.sink } : {}) });
    if (roles.server !== undefined) {
      const r = config.radius;
      das = await dasFromConfig(
        config.das,
        roles.server,
        {
          ...(r.nasIdentifier !== undefined ? { nasIdentifier: r.nasIdentifier } : {}),
          nasIpAddresses: [r.nasIpAddress, config.server.listen].filter((a): a is string => a !== undefined && a !== "0.0.0.0"),
        },
        (line) => logger.log("errors", line),
      );
      if (das !== undefined) logger.log("events", `Disconnect/CoA (RFC 5176) on ${config.das.listen}:${das.port}, from ${config.das.clients.join(", ") || "nobody (set [das] clients)"}`);
    }
    // The server role and the dial-out peers answer on one control socket (a process without a server role too);
    // the metrics endpoint reads the same target.
    if (roles.server !== undefined || roles.clients.length > 0) target = processTarget(roles, {
        aaaCounters: () => ({ ...carried.view(current.counters()), ...accounting?.stats() }),
        reloadConfig: () => reload("pptp-ts reload"),
        debug: (req) => applyDebug(logger, req, roles.server),
      });
    control = await openAdminSocket(config.server.controlSocket, target, logger);
    if (roles.server !== undefined) roles.server.limitConnectionsTo(logOpenFileLimit(logger, openFiles, config.server.maxSessions));
  } catch (e) {
    process.stderr.write(`pptp-ts server: ${(e as Error).message}\n`);
    await metricsHttp?.close();
    das?.close();
    await accounting?.close();
    process.off("SIGHUP", onHup);
    return 1;
  }

  reload = async (why) => {
    const again = load(args, lastLoaded);
    if (typeof again === "string") {
      logger.log("errors", `${why}: configuration not reloaded, the running one stays:\n${again}`);
      return { ok: false, message: `configuration not reloaded, the running one stays:\n${again}` };
    }
    let next: AaaRuntime;
    try {
      next = await authenticator(again, logger);
    } catch (e) {
      logger.log("errors", `${why}: configuration not reloaded, the running one stays: ${(e as Error).message}`);
      return { ok: false, message: `configuration not reloaded, the running one stays: ${(e as Error).message}` };
    }
    logSetup.reload(again.config.log, withDebug(again.config.log.debug, args.debug));
    const old = current;
    carried.retire(old.counters());
    current = next;
    // Accounting, its spool and the Disconnect/CoA listener were set up at start and stay as they are: compared with
    // the start-up config (what runs), so a second reload of the same changed file says it again.
    const kept: string[] = (["accounting", "das"] as const).filter((k) => JSON.stringify(again.config[k]) !== JSON.stringify(config[k]));
    if (JSON.stringify(again.config.tacacs) !== JSON.stringify(config.tacacs) && accounting?.sink !== undefined) kept.push("tacacs");
    const keptNote = kept.length > 0 ? `[${kept.join("], [")}] changed: accounting and Disconnect/CoA keep their start-up settings; restart pptp-ts to apply them` : undefined;
    if (keptNote !== undefined) logger.log("events", `${why}: ${keptNote}`);
    // So does the metrics endpoint: a scraper is pointed at its address, which a reload must not pull away.
    const metricsNote = JSON.stringify(again.config.metrics) !== JSON.stringify(lastLoaded.config.metrics) ? "[metrics] changed: the metrics endpoint keeps its start-up listen and path; restart pptp-ts to apply them" : undefined;
    if (metricsNote !== undefined) logger.log("events", `${why}: ${metricsNote}`);
    // The data-plane workers own TUN queues and GRE sockets opened at start (src/io/workers/README.md, "Start order"):
    // their number is fixed for the life of the process.
    const workersNote =
      again.config.server.workers !== config.server.workers
        ? `[server] workers changed from ${config.server.workers} to ${again.config.server.workers}: not applied, the server keeps running ${config.server.workers === 1 ? "without data-plane workers" : `${config.server.workers} data-plane workers`}; restart pptp-ts to apply it`
        : undefined;
    if (workersNote !== undefined) logger.log("events", `${why}: ${workersNote}`);
    const spoolNotes = spoolPathNotes(accounting.spools, again.config, args.config ?? "(defaults)", (k) => again.keyLines?.get(k));
    for (const n of spoolNotes) logger.log("errors", `${why}: ${n}`);
    lastLoaded = again;
    roles.reload(again.config, next.auth, staticAddresses(again));
    for (const n of again.notes) logger.log("events", n);
    old.close();
    return { ok: true, message: `configuration reloaded; established sessions keep their settings${keptNote !== undefined ? `\n${keptNote}` : ""}${metricsNote !== undefined ? `\n${metricsNote}` : ""}${workersNote !== undefined ? `\n${workersNote}` : ""}${spoolNotes.map((n) => `\n${n}`).join("")}` };
  };
  const code = await runUntilSignal(roles);
  process.off("SIGHUP", onHup);
  control?.close();
  await metricsHttp?.close();
  das?.close();
  current.close();
  await accounting.close();
  logSetup.close();
  return code;
}

/**
 * `pptp-ts check-config -c FILE` (like `nginx -t`): everything `server` checks before it touches the network —
 * the config, the users file against it, the secret files — then the effective configuration with every key and
 * its value (secrets not shown). Exit 0 when the server would start, 1 when not, 2 for bad usage.
 */
export function runCheckConfig(argv: string[]): number {
  const args = parseServerArgs(argv);
  if (typeof args !== "string" && args.help) {
    process.stdout.write(CHECK_CONFIG_USAGE);
    return 0;
  }
  if (typeof args === "string" || args.config === undefined) {
    process.stderr.write(`pptp-ts check-config: ${typeof args === "string" ? args : "-c FILE is required"}\n${CHECK_CONFIG_USAGE}`);
    return 2;
  }
  const l = load(args);
  if (typeof l === "string") {
    process.stderr.write(`${l}\npptp-ts check-config: ${args.config}: the server would not start\n`);
    return 1;
  }
  for (const n of l.notes) if (n.startsWith("warning: ")) process.stderr.write(`${n}\n`);
  process.stdout.write(redactSecrets(formatConfig(l.config)));
  process.stderr.write(`pptp-ts check-config: ${args.config} is valid${l.config.server.enable && l.config.aaa.auth.includes("local") ? ` (${l.users.length} user(s) from ${l.config.ppp.users})` : ""}\n`);
  return 0;
}

/** The effective configuration as printed: keys holding secrets show that they are set, never what they are. */
function redactSecrets(text: string): string {
  return text.replace(/^(password|key|secret) = (.+)$/gm, "$1 = (set, not shown)");
}
