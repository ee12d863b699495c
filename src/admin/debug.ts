/**
 * `pptp-ts debug` applied to the running process's Logger. Without a filter a category goes on or off for
 * everyone ("off" also drops every filter of it); with `user NAME` it is on for that user's sessions, present and
 * future; with `session ID` for that session while it lasts (the ID must exist now). SIGHUP sets the global
 * categories back to the config's `[log] debug` (plus `--debug`) and keeps the filters: see Logger.setCategories.
 */
import type { Logger } from "../server/log.js";
import type { SessionDirectory } from "../aaa/types.js";
import type { DebugAnswer, DebugRequest } from "./commands.js";

export function applyDebug(logger: Logger, req: DebugRequest, sessions: Pick<SessionDirectory, "find"> | undefined): DebugAnswer {
  if (req.categories === undefined || req.on === undefined) return { ok: true, debug: logger.debugState() };
  if (req.sessionId !== undefined && (sessions === undefined || sessions.find({ sessionId: req.sessionId }).length === 0)) {
    return { ok: false, error: `no session ${req.sessionId} (pptp-ts show sessions lists them)` };
  }
  const who = req.user !== undefined ? ` for user ${req.user}` : req.sessionId !== undefined ? ` for session ${req.sessionId}` : "";
  const changes: string[] = [];
  for (const category of req.categories) {
    const filter = { category, ...(req.user !== undefined ? { user: req.user } : {}), ...(req.sessionId !== undefined ? { session: req.sessionId } : {}) };
    if (who === "") {
      logger.setEnabled(category, req.on);
      if (!req.on) logger.clearFilters(category);
      changes.push(`${category} ${req.on ? "on" : "off"} for everyone`);
    } else if (req.on) {
      logger.addFilter(filter);
      changes.push(`${category} on${who}`);
    } else if (logger.removeFilter(filter)) changes.push(`${category} off${who}`);
    else if (req.categories.length === 1) return { ok: false, error: `${category} was not on${who}` };
  }
  const state = logger.debugState();
  return { ok: true, debug: { ...state, changed: changes.join("; ") || "nothing changed" } };
}

/** What `pptp-ts debug` prints. */
export function debugText(s: { readonly categories: readonly string[]; readonly filters: readonly { category: string; user?: string; session?: string }[]; readonly changed?: string }): string {
  const lines: string[] = [];
  if (s.changed !== undefined) lines.push(s.changed);
  lines.push(`on for everyone: ${s.categories.length ? s.categories.join(", ") : "nothing"}`);
  for (const f of s.filters) lines.push(`${f.category} on for ${f.user !== undefined ? `user ${f.user}` : `session ${f.session}`}`);
  return lines.join("\n") + "\n";
}
