/**
 * The log categories every role and the config file share:
 * events: session life cycle (connect, auth result, address, disconnect with reason);
 * errors: malformed input and failed operations;
 * packets: every control message and PPP frame (verbose);
 * negotiation: LCP/IPCP/CCP option decisions and auth exchanges.
 */
export type LogCategory = "events" | "errors" | "packets" | "negotiation";

export const LOG_CATEGORIES: readonly LogCategory[] = ["events", "errors", "packets", "negotiation"];

export function isLogCategory(s: string): s is LogCategory {
  return (LOG_CATEGORIES as readonly string[]).includes(s);
}

/**
 * The `--debug` option's value: a comma-separated list of categories, or "all" (as in the config file's `debug`).
 * A string result is the message for a bad value.
 */
export function parseDebugOption(v: string): LogCategory[] | string {
  const cats = v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (cats.length === 1 && cats[0] === "all") return LOG_CATEGORIES.slice();
  if (cats.length === 0 || cats.some((c) => !isLogCategory(c))) return `--debug takes "all" or a comma-separated list of ${LOG_CATEGORIES.join(", ")} (got "${v}")`;
  return cats as LogCategory[];
}

/** `--debug` adds to the configured categories; it never turns the configured ones (events, errors) off. */
export function withDebug(configured: readonly LogCategory[], extra: readonly LogCategory[] | undefined): LogCategory[] {
  return LOG_CATEGORIES.filter((c) => configured.includes(c) || (extra ?? []).includes(c));
}
