/**
 * A reload (SIGHUP, `pptp-ts reload`) and the accounting spool paths. The spools were opened at start and hold the
 * undelivered records of both backends; a reload does not move them: switching files under a running runner would
 * leave the old file's undelivered records behind (a restart with the new path would never send them) or, copied,
 * risk sending a record twice. So a changed `[accounting] spool` / `[tacacs] spool` is refused by name — file:line,
 * the path in use, "restart to change the spool path" — while the rest of the reload applies.
 *
 * Compared with the paths the running spools use (not the last reload's config): a second reload with the same
 * changed file must say it again, since the server still spools where it started.
 */

/** The spool files open now, per backend (undefined: that backend's accounting does not run). */
export interface OpenSpools {
  readonly radius?: string;
  readonly tacacs?: string;
}

/** One note per backend whose spool path the reloaded config changes; empty when none does. */
export function spoolPathNotes(
  open: OpenSpools,
  next: { readonly accounting: { readonly spool: string }; readonly tacacs: { readonly spool: string } },
  configFile: string,
  lineOf: (key: string) => number | undefined,
): string[] {
  const notes: string[] = [];
  const check = (inUse: string | undefined, wanted: string, key: string, section: string, backend: string, topic: string): void => {
    if (inUse === undefined || inUse === wanted) return;
    const line = lineOf(key);
    const where = line !== undefined ? `${configFile}:${line}` : configFile;
    notes.push(
      `${where}: [${section}] spool changed to ${wanted}: not applied, ${backend} accounting keeps spooling in ${inUse} (its undelivered records are there); ` +
        `restart to change the spool path (first let it drain: show stats "${topic}" pending 0, or move the file to the new path while pptp-ts is stopped)`,
    );
  };
  check(open.radius, next.accounting.spool, "accounting.spool", "accounting", "RADIUS", "accounting-spool radius");
  check(open.tacacs, next.tacacs.spool, "tacacs.spool", "tacacs", "TACACS+", "accounting-spool tacacs");
  return notes;
}
