/**
 * The server's open-file limit at start: raise the soft limit to the hard one (native/rlimit.c), then, once
 * everything but the sessions is open, log the limit and warn when max-sessions cannot fit
 * (src/server/open-file-limit.ts says why and what to raise).
 */
import { readdirSync } from "node:fs";
import { loadNative } from "../io/native.js";
import { openFileAdvice, type OpenFileLimit } from "../server/open-file-limit.js";
import type { Logger } from "../server/log.js";

/** Raises the soft RLIMIT_NOFILE to the hard one; undefined when the addon cannot be loaded (reported later, by the roles). */
export function raiseOpenFileLimit(): OpenFileLimit | undefined {
  try {
    return loadNative().raiseNofileLimit();
  } catch {
    return undefined;
  }
}

/** Descriptors this process holds now (readdir's own descriptor on the directory not counted). */
export function openDescriptors(): number {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return 0;
  }
}

/** Logs the limit (a warning when max-sessions does not fit) and returns how many control connections fit. */
export function logOpenFileLimit(logger: Logger, limit: OpenFileLimit | undefined, maxSessions: number): number {
  if (limit === undefined) return Infinity;
  const a = openFileAdvice(limit, openDescriptors(), maxSessions);
  logger.log(a.short ? "errors" : "events", a.line);
  return a.room;
}
