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
