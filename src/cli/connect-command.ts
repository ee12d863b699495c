/**
 * `pptp-ts connect`: the client role from the command line.
 *
 *   pptp-ts connect SERVER --user NAME [--password-file F | --password P | env PPTP_PASSWORD] [options]
 *   pptp-ts connect -c FILE [PEER ...]      the role-client [peer NAME]s of a config file (all by default)
 *
 * Command-line options are the [peer NAME] keys of pptp-ts.conf (`--route` may repeat), turned into a peer
 * section and checked by the same parser, so an option error reads like a config error, naming the option.
 * Without --persist the client stops at the first refusal that retrying cannot fix (wrong password, no common
 * authentication method or encryption) and after `max-failures` (default 5) failed attempts in a row; a session
 * that drops after it was up is always redialled with backoff. SIGINT/SIGTERM hang up cleanly (LCP
 * Terminate-Request, Call-Clear-Request, Stop-Control-Connection-Request) and remove the routes.
 *
 * Exit status: 0 hung up on a signal, 1 gave up (the reason is the last line), 2 usage or configuration error.
 */
import { readFileSync } from "node:fs";
import { parseConfig, type ServerConfig } from "../config/config.js";
import type { LogCategory } from "../server/log.js";
import { LogSetup } from "./log-setup.js";
import { parseDebugOption, withDebug } from "../session/log-category.js";
import { startRoles, runUntilSignal, type RunningRoles } from "./roles.js";
import { unknownOption } from "./options.js";
import { openAdminSocket } from "./control.js";
import { processTarget } from "../admin/target.js";

export const CONNECT_USAGE = `usage: pptp-ts connect SERVER --user NAME [options]
       pptp-ts connect -c FILE [PEER ...]

SERVER is an IPv4 address or a host name (looked up again at every attempt).
  --user NAME             name to authenticate as
  --password-file FILE    first line of FILE is the password (or env PPTP_PASSWORD, or --password TEXT,
                          which other local users can see in the process list)
  --auth LIST             methods allowed, best first: mschap-v2,mschap-v1,chap-md5,pap (default mschap-v2)
  --mppe POLICY           require | prefer | allow | deny (default require)
  --mppe-strengths LIST   128,56,40 (default 128)
  --mppe-stateless POLICY require | prefer | allow | deny (default prefer)
  --route CIDR            send this network into the tunnel (repeatable): a split tunnel
  --default-route         send everything into the tunnel (the server keeps a host route outside it)
  --on-demand             dial when traffic for the routes appears; with --idle-timeout, hang up when idle
  --idle-timeout SECONDS  --session-timeout SECONDS
  --persist               never give up: redial after every failure, with backoff
  --max-failures N        give up after N failed attempts in a row (default 5; 0 = never)
  --reconnect-delay S     --reconnect-max-delay S   backoff bounds (default 1 and 60)
  --tun-name NAME         TUN device (default pt-NAME)      --name NAME   the peer's name in logs (default vpn)
  --local-address A       ask for this tunnel address       --port N      server's TCP port (default 1723)
  --mtu N  --mru N        --echo-interval S  --lcp-echo-interval S
  --flow-control MODE     auto | sliding | fixed | off: pace GRE by the server's receive window (default auto:
                          sliding once the server acknowledges on its own)
  --debug CATS            events,errors,packets,negotiation
`;

/** The options VALUE_OPTIONS does not hold, for "did you mean". */
const FLAGS = ["--config", "--debug", "--name", "--password-file", "--route", "--default-route", "--on-demand", "--persist", "--help"];

/** Options that take a value, mapped to their [peer] key. */
const VALUE_OPTIONS: Readonly<Record<string, string>> = {
  "--user": "user",
  "--password": "password",
  "--auth": "auth",
  "--mppe": "mppe",
  "--mppe-strengths": "mppe-strengths",
  "--mppe-stateless": "mppe-stateless",
  "--idle-timeout": "idle-timeout",
  "--session-timeout": "session-timeout",
  "--max-failures": "max-failures",
  "--reconnect-delay": "reconnect-delay",
  "--reconnect-max-delay": "reconnect-max-delay",
  "--tun-name": "tun-name",
  "--local-address": "local-address",
  "--port": "port",
  "--mtu": "mtu",
  "--mru": "mru",
  "--echo-interval": "echo-interval",
  "--lcp-echo-interval": "lcp-echo-interval",
  "--flow-control": "flow-control",
};

/**
 * `value` as the text after "key = " that parseConfig reads back unchanged: in double quotes, or bare when it
 * holds a double quote itself (a quoted value ends at the first one). undefined when neither form carries it.
 */
function configText(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return undefined;
  if (!value.includes('"')) return `"${value}"`;
  if (value.startsWith('"') || value !== value.trim() || /\s[;#]/.test(value)) return undefined;
  return value;
}

/** A config-file fix such as "routes = 192.168.20.0/24" as the command-line option that does the same. */
function asOption(key: string, value: string): string {
  switch (key) {
    case "routes":
      return value
        .split(",")
        .map((v) => `--route ${v.trim()}`)
        .join(" ");
    case "default-route":
      return value === "yes" ? "--default-route" : "no --default-route";
    case "connect":
      return value === "on-demand" ? "--on-demand" : "no --on-demand";
    case "remote":
      return `SERVER ${value}`;
  }
  const option = `--${key}`;
  return Object.hasOwn(VALUE_OPTIONS, option) ? `${option} ${value}` : `"${key} = ${value}"`;
}

export interface ConnectArgs {
  readonly config: ServerConfig;
  readonly peers?: readonly string[];
  readonly debug?: LogCategory[];
  readonly persist: boolean;
  /** The peers came from a config file (-c): its [server] control-socket answers `pptp-ts show peers|tunnels`. */
  readonly fromFile?: boolean;
}

/** The command line as a configuration, or an error message for the operator. */
export function parseConnectArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ConnectArgs | string {
  let file: string | undefined;
  let name = "vpn";
  let debug: LogCategory[] | undefined;
  let persist = false;
  const positional: string[] = [];
  /** [peer] lines and the option each came from, to name the option in an error. */
  const lines: { key: string; value: string; option: string }[] = [];
  const routes: string[] = [];
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const opt = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    if (opt === "-c" || opt === "--config") {
      const v = value();
      if (!v) return `${opt} needs a file name`;
      file = v;
    } else if (opt === "-d" || opt === "--debug") {
      const cats = parseDebugOption(value() ?? "");
      if (typeof cats === "string") return cats;
      debug = cats;
    } else if (opt === "--name") {
      const v = value();
      if (!v) return "--name needs a value";
      name = v;
    } else if (opt === "--password-file") {
      const v = value();
      if (!v) return "--password-file needs a file name";
      let text: string;
      try {
        text = readFileSync(v, "utf8");
      } catch (e) {
        return `cannot read --password-file ${v}: ${(e as Error).message}`;
      }
      const pw = text.split(/\r?\n/)[0];
      if (!pw) return `--password-file ${v}: the first line is empty`;
      lines.push({ key: "password", value: pw, option: "--password-file" });
      set.add("password");
    } else if (opt === "--route") {
      const v = value();
      if (!v) return "--route needs a network, e.g. --route 192.168.10.0/24";
      routes.push(v);
    } else if (opt === "--default-route") {
      lines.push({ key: "default-route", value: "yes", option: opt });
    } else if (opt === "--on-demand") {
      lines.push({ key: "connect", value: "on-demand", option: opt });
      set.add("connect");
    } else if (opt === "--persist") {
      persist = true;
    } else if (Object.hasOwn(VALUE_OPTIONS, opt)) {
      const v = value();
      if (v === undefined) return `${opt} needs a value`;
      const key = VALUE_OPTIONS[opt];
      if (set.has(key)) return `${opt} given twice`;
      set.add(key);
      lines.push({ key, value: v, option: opt });
    } else if (a.startsWith("-")) {
      return unknownOption(a, [...Object.keys(VALUE_OPTIONS), ...FLAGS]);
    } else positional.push(a);
  }

  if (file !== undefined) {
    if (lines.length > 0 || routes.length > 0) return `with -c FILE the peer settings come from the file; options like ${lines[0]?.option ?? "--route"} are not allowed`;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      return `cannot read config file ${file}: ${(e as Error).message}`;
    }
    const r = parseConfig(text, file);
    if (!r.ok) return r.errors.map((e) => e.toString()).join("\n");
    const peers = positional.length ? positional : undefined;
    if (!r.config.peers.some((p) => p.role === "client")) return `${file}: no [peer NAME] with role = client to connect`;
    return { config: r.config, ...(peers ? { peers } : {}), ...(debug ? { debug } : {}), persist, fromFile: true };
  }

  if (positional.length !== 1) return positional.length === 0 ? "which server? give its address or host name" : `one server only (got ${positional.join(", ")})`;
  if (!set.has("password") && env.PPTP_PASSWORD) {
    lines.push({ key: "password", value: env.PPTP_PASSWORD, option: "PPTP_PASSWORD" });
    set.add("password");
  }
  if (!set.has("max-failures")) lines.push({ key: "max-failures", value: persist ? "0" : "5", option: "--max-failures" });
  if (routes.length) lines.push({ key: "routes", value: routes.join(", "), option: "--route" });
  const header = ["[server]", "enable = no", `[peer ${name}]`, "role = client", `remote = ${positional[0]}`];
  const body: string[] = [];
  for (const l of lines) {
    const text = configText(l.value);
    if (text === undefined) {
      // The value itself is not shown: it may be the password.
      const why = /[\r\n]/.test(l.value) ? "the value holds a line break" : `a value with a double quote in it cannot also start with one, hold " ;" or " #", or have spaces at either end`;
      return `${l.option}: ${why} — fix: change the value (pptp-ts.conf cannot hold it either)`;
    }
    body.push(`${l.key} = ${text}`);
  }
  const r = parseConfig([...header, ...body].join("\n"), "command line");
  if (!r.ok) {
    // Line n of the synthetic file is an option: name the option instead of "command line:7".
    // Line 2 ("enable = no") fails only as a consequence of a bad peer section, which has its own error.
    const errors = r.errors.length > 1 ? r.errors.filter((e) => e.line !== 2) : r.errors;
    return errors
      .map((e) => {
        const key = /^\[peer [^\]]*\] ([\w-]+): /.exec(e.message)?.[1];
        const message = e.message.replace(/^\[peer [^\]]*\] [\w-]+: /, "").replace(/^\[peer [^\]]*\]:? /, "");
        let origin = e.line === 5 ? "SERVER" : e.line > 5 ? lines[e.line - 6]?.option : undefined;
        if (origin === undefined && key !== undefined) origin = key === "password" ? "--password-file (or --password, or env PPTP_PASSWORD)" : `--${key}`;
        if (origin === undefined && e.line === 3) origin = "--name";
        const fix = e.fix.replace(/"([\w-]+) = ([^"]*)"/g, (_, k: string, v: string) => asOption(k, v)).replace(/"\[peer ([^\]]*)\]"/g, "--name $1");
        return `${origin ?? "command line"}: ${message} — fix: ${fix}`;
      })
      .join("\n");
  }
  return { config: r.config, ...(debug ? { debug } : {}), persist };
}

export async function runConnect(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(CONNECT_USAGE);
    return 0;
  }
  const args = parseConnectArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`pptp-ts connect: ${args}\n\n${CONNECT_USAGE}`);
    return 2;
  }
  // The config file's [log] format and output (syslog) apply to dial-out peers as they do to the server.
  const logSetup = new LogSetup(args.config.log, withDebug(args.config.log.debug, args.debug));
  const logger = logSetup.logger;
  let roles: RunningRoles;
  try {
    roles = await startRoles({
      config: { ...args.config, server: { ...args.config.server, enable: false } },
      logger,
      ...(args.peers ? { peers: args.peers } : {}),
      stopOnRefusal: !args.persist,
    });
  } catch (e) {
    process.stderr.write(`pptp-ts connect: ${(e as Error).message}\n`);
    logSetup.close();
    return 1;
  }
  // A config file's peers answer on its control socket; a one-off `connect SERVER` takes no socket (it would be the
  // default one, the server's).
  const control = args.fromFile && roles.clients.length > 0 ? await openAdminSocket(args.config.server.controlSocket, processTarget(roles), logger) : undefined;
  const ended = roles.clientsDone.then((all) => {
    const failed = all.filter((s) => s.state === "failed");
    for (const s of failed) process.stderr.write(`pptp-ts connect: ${s.peer}: ${s.lastError ?? "failed"}\n`);
    return failed.length ? 1 : 0;
  });
  const code = await runUntilSignal(roles, ended);
  control?.close();
  logSetup.close();
  return code;
}
