#!/usr/bin/env node
/**
 * `pptp-ts` command line entry. Subcommands are added as the layers land;
 * unknown ones get a clear message instead of a stack trace.
 */
import { VERSION } from "../version.js";
import { runServer } from "./server-command.js";
import { ntHashLine } from "../server/users-file.js";

const USAGE = `pptp-ts ${VERSION} — PPTP VPN server and client

usage:
  pptp-ts server [-c FILE] [--debug CATS]   run the PPTP server (TCP 1723 + GRE); without -c: safe defaults,
                                            printed at start; CATS: events,errors,packets,negotiation
  pptp-ts hash-password USER PASSWORD       print a chap-secrets line with the NT hash ($NT$...) instead of
                                            the clear password (works for MS-CHAPv1/v2, not PAP/CHAP-MD5)
  pptp-ts version                           print the version
  pptp-ts help                              this text

Signals (server): SIGHUP reloads config and users, SIGTERM/SIGINT hang up every session and exit.
`;

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0] ?? "help";
  switch (cmd) {
    case "server":
      return runServer(argv.slice(1));
    case "hash-password": {
      if (argv.length !== 3) {
        process.stderr.write("usage: pptp-ts hash-password USER PASSWORD\n");
        return 2;
      }
      process.stdout.write(ntHashLine(argv[1], argv[2]) + "\n");
      return 0;
    }
    case "version":
    case "--version":
      process.stdout.write(`pptp-ts ${VERSION}\n`);
      return 0;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`pptp-ts: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The server leaves handles (sockets, timers) closed but the process may still hold signal listeners.
    if (process.argv[2] === "server") process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`pptp-ts: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
