#!/usr/bin/env node
/**
 * `pptp-ts` command line entry. Subcommands are added as the layers land;
 * unknown ones get a clear message instead of a stack trace.
 */
import { VERSION } from "../version.js";
import { runServer, runCheckConfig } from "./server-command.js";
import { runConnect } from "./connect-command.js";
import { ntHashLine } from "../config/users-file.js";
import { readPassword } from "./read-secret.js";
import { runShow, runClear, runReload } from "./admin-command.js";
import { closest } from "../config/config-error.js";

/** The subcommands, for "did you mean" (add yours). */
const COMMANDS = ["server", "connect", "check-config", "show", "clear", "reload", "capture", "debug", "hash-password", "version", "help"];
import { runCapture } from "./capture-command.js";
import { runDebug } from "./debug-command.js";

const USAGE = `pptp-ts ${VERSION} — PPTP VPN server and client

usage:
  pptp-ts server [-c FILE] [--debug CATS]   run the PPTP server (TCP 1723 + GRE); without -c: safe defaults,
                                            printed at start; CATS: events,errors,packets,negotiation
  pptp-ts connect SERVER --user NAME [...]  dial a PPTP server (client role): TUN with the negotiated address,
                                            host route to the server, split or default routes, redial with
                                            backoff; \`pptp-ts connect --help\` lists the options
  pptp-ts connect -c FILE [PEER ...]        run the role-client [peer NAME]s of a config file
  pptp-ts hash-password USER                print a chap-secrets line with the NT hash ($NT$...) instead of
                                            the clear password (works for MS-CHAPv1/v2, not PAP/CHAP-MD5);
                                            the password is asked for, or read from stdin — never argv
  pptp-ts check-config -c FILE              check the config, users and secret files as the server would, print
                                            the effective configuration (secrets not shown); exit 0 if valid
  pptp-ts show sessions [--json] [user NAME | address IP | session ID]
                                            the running server's sessions (over its control socket)
  pptp-ts show tunnels|peers|vpdn [--json]  control connections (with or without calls); dial-out peers'
                                            state, last failure and next redial; both as Cisco's show vpdn
  pptp-ts show pool|stats [--json]          address pools; counters by topic
  pptp-ts clear session ID | user NAME | address IP | all
                                            end sessions properly (accounting cause Admin-Reset)
  pptp-ts clear tunnel PEER                 end every call on the control connection to PEER (its address or
                                            [peer NAME]), then the connection itself
  pptp-ts debug [CATEGORY on|off [user NAME | session ID]]
                                            switch log categories at run time, for everyone or one user's /
                                            session's lines; no arguments: what is on
  pptp-ts reload                            what SIGHUP does, with the result (applied, or the config error)
  pptp-ts capture user NAME | session ID -w FILE.pcap [--count N] [--seconds S] [--control]
                                            one session's decrypted packets as pcap for tshark (root only)
  pptp-ts version                           print the version
  pptp-ts help                              this text

Every command takes --help.

A config file may hold [peer NAME] sections (LAN-to-LAN, dial-out, named dial-in peers): \`pptp-ts server -c\`
runs the server and every dial-out peer in one process.

Signals (server): SIGHUP reloads config and users, SIGTERM/SIGINT hang up every session and exit.
`;

const HASH_PASSWORD_USAGE = `usage: pptp-ts hash-password USER
  prints a chap-secrets line for USER with the NT hash ($NT$...) instead of the clear password (MS-CHAPv1/v2 only);
  the password is asked for at a prompt, or read from stdin — never taken from the command line
`;

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0] ?? "help";
  switch (cmd) {
    case "server":
      return runServer(argv.slice(1));
    case "connect":
      return runConnect(argv.slice(1));
    case "check-config":
      return runCheckConfig(argv.slice(1));
    case "reload":
      return runReload(argv.slice(1));
    case "show":
      return runShow(argv.slice(1));
    case "clear":
      return runClear(argv.slice(1));
    case "capture":
      return runCapture(argv.slice(1));
    case "debug":
      return runDebug(argv.slice(1));
    case "hash-password": {
      if (argv[1] === "--help" || argv[1] === "-h") {
        process.stdout.write(HASH_PASSWORD_USAGE);
        return 0;
      }
      if (argv.length === 3) {
        process.stderr.write(
          "pptp-ts hash-password: the password is not taken on the command line (ps and the shell history would keep it)\n" +
            "usage: pptp-ts hash-password USER   (type the password at the prompt, or pipe it on stdin)\n",
        );
        return 2;
      }
      if (argv.length !== 2) {
        process.stderr.write("usage: pptp-ts hash-password USER   (type the password at the prompt, or pipe it on stdin)\n");
        return 2;
      }
      const pw = await readPassword(`password for ${argv[1]}`);
      if (typeof pw !== "string") {
        process.stderr.write(`pptp-ts hash-password: ${pw[0]}\n`);
        return 1;
      }
      if (pw === "") {
        process.stderr.write("pptp-ts hash-password: the password is empty\n");
        return 1;
      }
      process.stdout.write(ntHashLine(argv[1], pw) + "\n");
      return 0;
    }
    case "version":
    case "--version":
      if (argv[1] === "--help" || argv[1] === "-h") {
        process.stdout.write("usage: pptp-ts version   prints the version\n");
        return 0;
      }
      process.stdout.write(`pptp-ts ${VERSION}\n`);
      return 0;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      {
        const guess = closest(cmd, COMMANDS);
        process.stderr.write(`pptp-ts: unknown command "${cmd}"${guess ? ` — did you mean "${guess}"?` : ""}\n\n${USAGE}`);
      }
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The server leaves handles (sockets, timers) closed but the process may still hold signal listeners.
    if (process.argv[2] === "server" || process.argv[2] === "connect") process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`pptp-ts: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
