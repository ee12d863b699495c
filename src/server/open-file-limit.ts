/**
 * Does the configured number of sessions fit in the process's open-file limit (RLIMIT_NOFILE)?
 *
 * Every control connection is one TCP socket, hence one descriptor, for as long as its session lasts (RFC 2637
 * §2: one control connection per tunnel; the GRE of all calls shares one raw socket). Past the limit, accept(2)
 * fails with EMFILE and new peers see their TCP connection refused with nothing in the log that names the cause,
 * so the server says it at start, in plain words, with what to raise. `inUse` is what the process already holds
 * once everything but the sessions is open (stdio, the event loop, listeners, the raw GRE socket, the TUN device,
 * the control socket, log and RADIUS sockets, worker threads' loops).
 */

export interface OpenFileLimit {
  /** The soft limit in force (after raising it to the hard one where allowed); Infinity = unlimited. */
  readonly soft: number;
  readonly hard: number;
  /** The soft limit found at start, before the raise. */
  readonly before: number;
}

export interface OpenFileAdvice {
  /** True when max-sessions cannot all be up at once under this limit. */
  readonly short: boolean;
  /** Sessions (control connections) that fit: the soft limit less the descriptors held and DESCRIPTOR_RESERVE. */
  readonly room: number;
  readonly line: string;
}

const shown = (n: number): string => (n === Infinity ? "unlimited" : String(n));

/**
 * Descriptors kept free of control connections, so that a server full of sessions still accepts on its control
 * socket (`pptp-ts show`, `clear`), answers RADIUS and reopens its log: at the limit every accept(2) would fail.
 */
export const DESCRIPTOR_RESERVE = 16;

export function openFileAdvice(limit: OpenFileLimit, inUse: number, maxSessions: number): OpenFileAdvice {
  const raised = limit.before !== limit.soft ? ` (raised from ${shown(limit.before)})` : "";
  const room = limit.soft === Infinity ? Infinity : Math.max(0, limit.soft - inUse - DESCRIPTOR_RESERVE);
  const held = `${inUse} in use and ${DESCRIPTOR_RESERVE} kept for the control socket`;
  if (room >= maxSessions) {
    return { short: false, room, line: `open files: limit ${shown(limit.soft)}${raised}, hard ${shown(limit.hard)}; ${held}: room for ${shown(room)} sessions (max-sessions = ${maxSessions})` };
  }
  const need = inUse + DESCRIPTOR_RESERVE + maxSessions;
  const line =
    `open files: limit ${shown(limit.soft)}${raised}, hard ${shown(limit.hard)}, is too low for max-sessions = ${maxSessions}: ` +
    `each session holds one TCP descriptor, ${held}, so only ${room} sessions can be up at once ` +
    `(further peers get their TCP connection refused). Raise the limit to at least ${need}: LimitNOFILE=${need} in the ` +
    `systemd unit, or \`ulimit -n ${need}\` (and -Hn, as root) in the shell that starts pptp-ts — or lower max-sessions`;
  return { short: true, room, line };
}
