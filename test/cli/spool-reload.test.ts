/**
 * A reload that changes an accounting spool path (src/cli/spool-reload.ts): refused by name with file:line, against
 * the files actually open — so a second reload of the same file says it again — while nothing is said for a backend
 * whose accounting does not run or whose path is unchanged. The server-process side is test/runtime/cli.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/config.js";
import { spoolPathNotes } from "../../src/cli/spool-reload.js";

function parsed(text: string): { config: Parameters<typeof spoolPathNotes>[1]; lineOf: (k: string) => number | undefined } {
  const r = parseConfig(text, "/etc/pptp-ts/pptp-ts.conf");
  assert.ok(r.ok, r.ok ? "" : r.errors.join("\n"));
  return { config: r.config, lineOf: (k) => r.keyLines.get(k) };
}

test("a changed [accounting] spool / [tacacs] spool is named with file:line and 'restart to change the spool path'", () => {
  const open = { radius: "/var/lib/pptp-ts/accounting.spool", tacacs: "/var/lib/pptp-ts/tacacs-accounting.spool" };
  const next = parsed("[server]\nlisten = 0.0.0.0\n[accounting]\nspool = /srv/acct.spool\n[tacacs]\nservers = 10.0.0.5\nkey = k\n\nspool = /srv/tac.spool\n");
  const notes = spoolPathNotes(open, next.config, "/etc/pptp-ts/pptp-ts.conf", next.lineOf);
  assert.equal(notes.length, 2, notes.join("\n"));
  assert.match(notes[0], /^\/etc\/pptp-ts\/pptp-ts\.conf:4: \[accounting\] spool changed to \/srv\/acct\.spool: not applied, RADIUS accounting keeps spooling in \/var\/lib\/pptp-ts\/accounting\.spool .*restart to change the spool path/);
  assert.match(notes[1], /^\/etc\/pptp-ts\/pptp-ts\.conf:9: \[tacacs\] spool changed to \/srv\/tac\.spool: not applied, TACACS\+ accounting keeps spooling in \/var\/lib\/pptp-ts\/tacacs-accounting\.spool .*restart to change the spool path/);
});

test("compared with the open files, not the last reload: the same changed file reloaded twice is refused twice; back to the open path, nothing", () => {
  const open = { radius: "/var/lib/pptp-ts/accounting.spool" };
  const changed = parsed("[accounting]\nspool = /srv/acct.spool\n");
  assert.equal(spoolPathNotes(open, changed.config, "f", changed.lineOf).length, 1);
  assert.equal(spoolPathNotes(open, changed.config, "f", changed.lineOf).length, 1, "still not applied");
  const back = parsed("[accounting]\nspool = /var/lib/pptp-ts/accounting.spool\n");
  assert.deepEqual(spoolPathNotes(open, back.config, "f", back.lineOf), []);
});

test("no note for a backend whose accounting does not run (its spool is not open)", () => {
  const changed = parsed("[accounting]\nspool = /srv/acct.spool\n[tacacs]\nspool = /srv/tac.spool\n");
  assert.deepEqual(spoolPathNotes({}, changed.config, "f", changed.lineOf), []);
  assert.equal(spoolPathNotes({ tacacs: "/var/lib/pptp-ts/tacacs-accounting.spool" }, changed.config, "f", changed.lineOf).length, 1);
});
