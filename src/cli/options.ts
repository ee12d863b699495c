/**
 * Command-line options for the subcommands: node:util parseArgs, with its errors said the way the config parser
 * says a mistyped key — `unknown option "--jsn" — did you mean --json?` (the same edit-distance suggestion,
 * src/config/config-error.ts closest()).
 */
import { parseArgs } from "node:util";
import { closest } from "../config/config-error.js";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** `unknown option "X"`, with the nearest known option when one is a plausible typo. */
export function unknownOption(given: string, known: readonly string[]): string {
  const name = given.includes("=") ? given.slice(0, given.indexOf("=")) : given;
  // "--jsn" is compared with "--json": the dashes are part of what was typed, and "-x" is not near "--xy".
  const guess = name.startsWith("--") ? closest(name, known.filter((k) => k.startsWith("--"))) : undefined;
  return `unknown option "${given}"${guess !== undefined ? ` — did you mean ${guess}?` : ""}`;
}

/**
 * Parses `argv` against `options` (long names without dashes). Returns the values and the positional words, or
 * the problem in one line: an unknown option (with a suggestion), a missing value, a value given to a switch.
 */
export function parseOptions(
  argv: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
): { readonly values: OptionValues; readonly positionals: string[] } | string {
  try {
    const r = parseArgs({ args: [...argv], options: options as Record<string, OptionSpec>, allowPositionals: true, strict: true });
    return { values: r.values as OptionValues, positionals: r.positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const known = Object.keys(options).map((k) => `--${k}`);
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const given = /Unknown option '([^']+)'/.exec(err.message)?.[1] ?? "?";
      return unknownOption(given, known);
    }
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const m = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' (argument missing|does not take an argument|argument is ambiguous)/.exec(err.message);
      if (m) return m[2] === "argument missing" ? `${m[1]} needs a value` : m[2] === "does not take an argument" ? `${m[1]} takes no value` : `${m[1]} needs a value (got another option after it)`;
    }
    return err.message;
  }
}
