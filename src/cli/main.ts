#!/usr/bin/env node
/**
 * `pptp-ts` command line entry. Subcommands are added as the layers land;
 * unknown ones get a clear message instead of a stack trace.
 */
import { VERSION } from "../version.js";

const USAGE = `pptp-ts ${VERSION} — PPTP VPN server and client

usage:
  pptp-ts version              print the version
  pptp-ts help                 this text
`;

function main(argv: string[]): number {
  const cmd = argv[0] ?? "help";
  switch (cmd) {
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

process.exitCode = main(process.argv.slice(2));
