/**
 * The users file (chap-secrets) checked against the configuration it serves, at load time, so that mistakes show
 * up as `file:line: problem — fix: ...` instead of as a refused or unreachable session later:
 *
 *   errors (the server would misbehave):
 *     - an empty file (no user at all) when no [peer NAME] brings a login of its own: nobody could log in;
 *     - two users with the same static address: the second is refused while the first is online, and the
 *       address means two people in firewall rules and logs;
 *     - a static address equal to the server's own tunnel address ([ppp] local-address or a peer's
 *       local-address; RFC 1332 §3.3 needs two distinct ends) or to a named peer's remote-address.
 *   warnings (legitimate setups exist):
 *     - a static address outside every pool and every [peer] route: the server routes it into its TUN device
 *       with a /32 of its own only while that user is online, so it must not be in use elsewhere on the host's
 *       networks (said, so an address typed wrong is noticed);
 *     - a secrets file readable by group or others (as ssh warns about a private key file).
 */
import type { LocalUser } from "../aaa/local.js";
import type { ServerConfig } from "./config.js";
import { ConfigError, where } from "./config-error.js";
import { rangesContain, formatAddressRange } from "./address-range.js";
import { prefixBounds } from "./config-values.js";
import { parseIpv4 } from "../wire/ipv4.js";

export interface UsersCheck {
  readonly errors: ConfigError[];
  readonly warnings: string[];
}

/** `lines[i]` is the line users[i] starts on (loadUsers' `lines`). */
export function checkUsers(users: readonly LocalUser[], lines: readonly number[], config: ServerConfig, fileName: string): UsersCheck {
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  const serverPeers = config.peers.filter((p) => p.role === "server");

  if (users.length === 0) {
    const peerLogins = serverPeers.filter((p) => p.user !== undefined && p.password !== undefined);
    // A router whose server role only answers its own dial-out peers' calls back (answer = yes: they place the
    // Incoming-Call-Request and authenticate to the far end) needs no logins of its own.
    const answering = config.peers.filter((p) => p.role === "client" && p.answer);
    if (answering.length > 0 && peerLogins.length === 0) {
      warnings.push(`${fileName}: holds no users; this server only answers calls back from ${answering.map((p) => `[peer ${p.name}]`).join(", ")} (answer = yes)`);
    } else if (peerLogins.length === 0) {
      errors.push(
        new ConfigError(
          fileName,
          0,
          "holds no users, so nobody could log in",
          `add one line per user, e.g. "alice * \\"a long password\\" *" (or its hash from "pptp-ts hash-password alice PASSWORD"), or point [ppp] users at the right file`,
        ),
      );
    } else {
      warnings.push(`${fileName}: holds no users; only the [peer NAME] logins (${peerLogins.map((p) => p.name).join(", ")}) can connect`);
    }
    return { errors, warnings };
  }

  const poolText = config.ppp.pool.map(formatAddressRange).join(", ");
  const routes = serverPeers.flatMap((p) => p.routes);
  /** Addresses the server uses itself, or gives to named peers: no user may have them. */
  const reserved = new Map<string, string>([[config.ppp.localAddress, "the server's own tunnel address ([ppp] local-address)"]]);
  for (const p of serverPeers) {
    if (p.localAddress !== undefined) reserved.set(p.localAddress, `the server's tunnel address towards [peer ${p.name}] (local-address)`);
    if (p.remoteAddress !== undefined) reserved.set(p.remoteAddress, `the address of [peer ${p.name}] (remote-address)`);
  }
  const owner = new Map<string, { user: string; line: number }>();

  users.forEach((u, i) => {
    const line = lines[i] ?? 0;
    const a = u.addresses?.[0];
    if (a === undefined) return;
    const name = JSON.stringify(u.user);
    const clash = reserved.get(a);
    if (clash !== undefined) {
      errors.push(
        new ConfigError(fileName, line, `user ${name}: static address ${a} is ${clash}`, `give ${name} another address, or "*" for one from the pool (${poolText})`),
      );
      return;
    }
    const first = owner.get(a);
    // The same user on several lines (another server column, or a repeated line the loader already warns is
    // never used) may repeat its own address: only two different users on one address clash.
    if (first !== undefined && sameName(first.user, u.user, config.ppp.caseSensitiveUsers)) return;
    if (first !== undefined) {
      errors.push(
        new ConfigError(
          fileName,
          line,
          `user ${name}: static address ${a} is already user ${JSON.stringify(first.user)}'s (line ${first.line}); only one of them could be online at a time`,
          `give each user its own address, or "*" for one from the pool (${poolText})`,
        ),
      );
      return;
    }
    owner.set(a, { user: u.user, line });
    // Inside the pool it is routed into the TUN device (pppd setups commonly do this; the pool does not yet hold
    // such addresses back for their owners, see pool.ts assign).
    if (rangesContain(config.ppp.pool, a)) return;
    const v = parseIpv4(a);
    const routed = v.ok && routes.some((route) => {
      const b = prefixBounds(route);
      return v.value >= b.first && v.value <= b.last;
    });
    if (!routed) {
      warnings.push(
        `${where(fileName, line)}: user ${name}: static address ${a} is outside the pool (${poolText}) and every [peer] route: while ${name} is online the server routes ${a}/32 into ${config.server.tunName} itself — make sure ${a} is not used elsewhere on this host's networks, or use an address in the pool`,
      );
    }
    // Inside a [peer] route it is routed into the TUN device, where the server finds a session's own address
    // before the peer's networks: it works.
  });
  return { errors, warnings };
}

/**
 * A secrets file other users of the host can read, from its permission bits (`mode` as fs.statSync gives it);
 * undefined when only its owner can.
 */
export function secretsModeWarning(fileName: string, mode: number): string | undefined {
  const open = mode & 0o077;
  if (open === 0 || (open & 0o044) === 0) return undefined;
  const who = (open & 0o004) !== 0 ? "every user of this host" : "its group";
  return `${fileName}: permissions ${(mode & 0o777).toString(8).padStart(4, "0")}: the secrets in it can be read by ${who} — fix: "chmod 600 ${fileName}"`;
}

function sameName(a: string, b: string, caseSensitive: boolean): boolean {
  return caseSensitive ? a === b : a.toLowerCase() === b.toLowerCase();
}
