/**
 * TACACS+ accounting through the durable spool, over real TCP against the independent test peer (tacacs-peer.ts):
 * a server down for a while, a server answering ERROR, a reply lost on the way back, a restart with records on
 * disk, a full spool, a damaged spool file, and RADIUS accounting next to it with a spool of its own.
 *
 * Delivery is at least once: a record counts as delivered only on a REPLY with SUCCESS (RFC 8907 §7.2), so a REPLY
 * lost after the server recorded the REQUEST (or a kill between the REPLY and the fsync of the "delivered" mark)
 * sends that record again, with the same flags and AV pairs (task_id, start_time, counters): the server sees the
 * same event twice and nothing else is repeated.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TacacsPeer, clientPcap, closedPort, type AcctRecord as SeenAcct } from "./tacacs-peer.js";
import { tacacsAccountingFromConfig } from "../../src/io/tacacs.js";
import { createRadiusAccounting } from "../../src/io/radius-accounting.js";
import type { SpooledAccounting } from "../../src/io/spool-accounting.js";
import { defaultTacacsConfig } from "../../src/config/tacacs-config.js";
import { tacacsRecords } from "../../src/aaa/tacacs/accounting.js";
import { spoolStatsReport } from "../../src/aaa/accounting/spool.js";
import { AccountingFanOut } from "../../src/aaa/accounting-fan-out.js";
import type { SessionSnapshot } from "../../src/aaa/types.js";
import { requireOrSkip, tsharkMissing } from "../support/prerequisites.js";
import { freeradiusMissing, startFreeRadius } from "../support/freeradius.js";
import { readDetail } from "./accounting/detail.js";
import { runChild } from "../support/child.js";

const KEY = "spool test key";
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tacacs-spool-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function peerOn(port: number, fault: "none" | "error" = "none"): Promise<TacacsPeer> {
  const p = new TacacsPeer({ key: KEY, users: [], fault });
  await p.listen(port);
  cleanup.push(() => p.close());
  return p;
}

/** TACACS+ accounting as the server builds it from [tacacs], with short retry pauses; the timeout stays generous, since a reply slower than it (a loaded machine) means the record is sent again: at least once. */
function accounting(port: number, spool: string, logs: string[], spoolMax = 1000, accountingErrorLimit = defaultTacacsConfig().accountingErrorLimit): SpooledAccounting {
  const c = { ...defaultTacacsConfig(), servers: [{ host: "127.0.0.1", port }], key: KEY, timeoutMs: 1500, deadlineMs: 3000, spool, spoolMax, accountingErrorLimit };
  const a = tacacsAccountingFromConfig(c, (_level, m) => logs.push(m), { retryMs: 50 });
  cleanup.push(() => a.close());
  return a;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function session(n: number, o: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    sessionId: `sess-${n}`, callId: n, user: `user${n}`, method: "chap-md5", peerAddress: "198.51.100.7", localAddress: "192.0.2.1",
    startedAt: 1_700_000_000_000 + n * 1000, durationMs: 0, inOctets: 0, outOctets: 0, inPackets: 0, outPackets: 0, backend: "tacacs+ 10.0.0.5:49", ...o,
  };
}

/** start, watchdog, stop for sessions 1..n (counters growing), as the server emits them. */
function sessions(sink: { start(s: SessionSnapshot): void; interim(s: SessionSnapshot): void; stop(s: SessionSnapshot, c: "user-request"): void }, n: number): string[] {
  const expected: string[] = [];
  for (let i = 1; i <= n; i++) {
    sink.start(session(i));
    sink.interim(session(i, { durationMs: 60_000, inOctets: 1000 * i, outOctets: 2000 * i, inPackets: i, outPackets: 2 * i }));
    sink.stop(session(i, { durationMs: 90_000, inOctets: 5000 * i, outOctets: 7000 * i, inPackets: 3 * i, outPackets: 4 * i }), "user-request");
    expected.push(`sess-${i} start`, `sess-${i} watchdog`, `sess-${i} stop`);
  }
  return expected;
}

const FLAG_NAME: Record<number, string> = { 0x02: "start", 0x04: "stop", 0x08: "watchdog" };
const seen = (p: TacacsPeer): string[] => p.accounting.map((a) => `${taskId(a)} ${FLAG_NAME[a.flags] ?? a.flags}`);
const taskId = (a: SeenAcct): string => a.args.find((x) => x.startsWith("task_id="))?.slice(8) ?? "?";

test("server down for 9 records, then answering ERROR, then losing one reply, then up: all delivered in order, only the unanswered one twice", async () => {
  const port = await closedPort();
  const logs: string[] = [];
  const a = accounting(port, join(tempDir(), "tacacs.spool"), logs);
  const expected = sessions(a.sink, 3);
  await until(() => a.stats().retries >= 2, 5000, "two failed attempts");
  assert.equal(a.stats().pending, 9);
  assert.equal(logs.filter((l) => /^TACACS\+ accounting: .*connection refused.*; records are kept in \S+ and sent in order when a server answers$/.test(l)).length, 1, logs.join("\n"));

  // ERROR (§7.2: the server failed to commit the record) is not delivery: the record stays at the head.
  const p = await peerOn(port, "error");
  await until(() => p.seen.length >= 2, 10_000, "two REQUESTs answered ERROR");
  assert.equal(a.stats().delivered, 0);
  assert.equal(a.stats().pending, 9);

  // The server records the next REQUEST but its REPLY is lost: at least once means that record goes again.
  p.opts.fault = "none";
  p.loseReplies = 1;
  assert.equal(await a.drained(20_000), true, JSON.stringify(a.stats()));
  assert.deepEqual(seen(p), [expected[0], ...expected]);
  assert.deepEqual(p.accounting[0], p.accounting[1], "the repeat is the same event: flags, task_id, times, counters");
  assert.equal(new Set(p.seen.map((s) => s.session)).size, p.seen.length, "every attempt is a new TACACS+ session (§4.1)");
  assert.deepEqual(p.errors, []);
  const stop3 = p.accounting[9].args;
  for (const av of ["task_id=sess-3", "elapsed_time=90", "bytes_in=15000", "bytes_out=21000", "paks_in=9", "paks_out=12", "reason=user-request"]) assert.ok(stop3.includes(av), `${av} in ${stop3.join(" ")}`);
  assert.equal(a.stats().delivered, 9);
  assert.ok(logs.some((l) => new RegExp(`^TACACS\\+ accounting: 127\\.0\\.0\\.1:${port} answers again; sending \\d+ spooled record\\(s\\)$`).test(l)), logs.join("\n"));
});

/** Records spooled while the server is down, the process gone without a goodbye, a new one started with it up. */
async function restartScenario(): Promise<{ p: TacacsPeer; expected: string[]; logs: string[]; spool: string; port: number }> {
  const port = await closedPort();
  const spool = join(tempDir(), "tacacs.spool");
  const first = accounting(port, spool, []);
  const expected = sessions(first.sink, 2);
  await until(() => first.stats().retries >= 1, 5000, "a failed attempt");
  first.close(); // no accountingOff: as if killed
  const text = readFileSync(spool, "utf8");
  assert.equal(text.match(/^R /gm)?.length, 6, text);
  assert.doesNotMatch(text, /^D /m);
  const p = await peerOn(port);
  const logs: string[] = [];
  const second = accounting(port, spool, logs);
  assert.equal(await second.drained(10_000), true, JSON.stringify(second.stats()));
  second.close();
  return { p, expected, logs, spool, port };
}

test("restart with undelivered records on disk: replayed in order once the server answers, and never again after", async () => {
  const { p, expected, logs, spool, port } = await restartScenario();
  assert.deepEqual(seen(p), expected);
  assert.ok(logs.includes("TACACS+ accounting spool: 6 undelivered record(s) from before the restart will be sent again"), logs.join("\n"));
  const third = accounting(port, spool, []);
  assert.equal(third.stats().pending, 0, "delivered records are marked on disk");
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(p.accounting.length, 6);
});

const CHILD = fileURLToPath(new URL("./tacacs-acct-child.js", import.meta.url));

test("kill -9 with records undelivered (server down), restarted with the server up: every record arrives once, in order", async () => {
  const port = await closedPort();
  const spool = join(tempDir(), "tacacs.spool");
  const first = runChild(CHILD, [spool, String(port), KEY, "3"]);
  await first.waitFor(/^ALL$/m, 10_000);
  await new Promise((r) => setTimeout(r, 300)); // a few failed attempts and retry pauses
  first.kill();
  await first.exited;
  const p = await peerOn(port);
  const second = runChild(CHILD, [spool, String(port), KEY, "drain"]);
  await second.waitFor(/^(DONE|STUCK)$/m, 25_000);
  assert.match(second.out(), /^DONE$/m);
  assert.equal(await second.exited, 0);
  assert.deepEqual(seen(p), [1, 2, 3].flatMap((n) => [`kill-${n} start`, `kill-${n} watchdog`, `kill-${n} stop`]));
  assert.ok(p.accounting[8].args.includes("bytes_out=21000") && p.accounting[8].args.includes("reason=lost-carrier"), p.accounting[8].args.join(" "));
});

test("tshark decodes the replayed accounting REQUESTs with the key: flags and task_id", { skip: requireOrSkip("tshark", tsharkMissing()) }, async () => {
  const { p, expected } = await restartScenario();
  const file = join(tempDir(), "replay.pcap");
  writeFileSync(file, clientPcap(p.streams));
  const fields = ["tacplus.type", "tacplus.acct.flags.start", "tacplus.acct.flags.watchdog", "tacplus.acct.flags.stop", "tacplus.arg_value", "_ws.malformed"];
  const out = execFileSync("tshark", ["-n", "-r", file, "-o", `tacplus.key:${KEY}`, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=;", ...fields.flatMap((f) => ["-e", f])], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const rows = out.trim().split("\n").map((l) => l.split("|"));
  const decoded = rows.map(([type, start, watchdog, stop, args, malformed]) => {
    assert.equal(type, "3");
    assert.equal(malformed, "");
    const flag = start === "1" ? "start" : watchdog === "1" ? "watchdog" : stop === "1" ? "stop" : "?";
    return `${args.split(";").find((x) => x.startsWith("task_id="))?.slice(8)} ${flag}`;
  });
  assert.deepEqual(decoded, expected, out);
});

test("a full spool drops the oldest watchdog first, keeps every start and stop, and refuses (logged) when nothing is droppable", async () => {
  const port = await closedPort();
  const logs: string[] = [];
  const a = accounting(port, join(tempDir(), "tacacs.spool"), logs, 5);
  const s1 = session(1), s2 = session(2), s3 = session(3), s4 = session(4);
  const w = (s: SessionSnapshot, t: number) => ({ ...s, durationMs: t * 1000, inOctets: t });
  a.sink.start(s1); // #1
  a.sink.interim(w(s1, 60)); // #2
  a.sink.interim(w(s1, 120)); // #3
  a.sink.start(s2); // #4
  a.sink.interim(w(s2, 60)); // #5: full
  a.sink.stop(w(s1, 150), "user-request"); // #6 drops #2
  a.sink.stop(w(s2, 90), "user-request"); // #7 drops #3
  a.sink.interim(w(s3, 30)); // #8 drops #5
  a.sink.start(s3); // #9 drops #8
  a.sink.start(s4); // refused: only starts and stops left
  assert.deepEqual(
    logs.filter((l) => l.includes("spool full")).map((l) => l.replace(/LOST: .*; raise/, "LOST: ...; raise")),
    [
      ...[2, 3, 5, 8].map((n) => `TACACS+ accounting spool full (5 undelivered records): dropped the oldest watchdog update #${n} (later records carry its totals)`),
      "TACACS+ accounting spool full (5 undelivered records, none droppable): a new record is LOST: ...; raise [tacacs] spool-max or bring the accounting server back",
    ],
  );
  assert.deepEqual({ dropped: a.stats().dropped, refused: a.stats().refused, pending: a.stats().pending }, { dropped: 4, refused: 1, pending: 5 });
  const p = await peerOn(port);
  assert.equal(await a.drained(10_000), true);
  assert.deepEqual(seen(p), ["sess-1 start", "sess-2 start", "sess-1 stop", "sess-2 stop", "sess-3 start"]);
});

test("a damaged spool file: each unreadable line is skipped with a log line naming file and line, the rest is delivered", async () => {
  const dir = tempDir();
  const spool = join(dir, "tacacs.spool");
  const start = JSON.stringify(tacacsRecords.start(session(1)));
  const stop = JSON.stringify(tacacsRecords.stop(session(1, { durationMs: 5000, inOctets: 7 }), "idle-timeout"));
  writeFileSync(
    spool,
    [
      `R 1 1700000001000 ${start}`,
      "R 2 garbage",
      "R 3 1700000001000 {not json",
      `R 4 1700000001000 ${start.replace('"flags":2', '"flags":99')}`,
      `R 5 1700000001000 ${JSON.stringify({ ...JSON.parse(start), args: ["x".repeat(300)] })}`,
      `R 6 1700000006000 ${stop}`,
      `R 7 1700000007000 {"flags":2,"authen`,
    ].join("\n"),
  );
  const port = await closedPort();
  const p = await peerOn(port);
  const logs: string[] = [];
  const a = accounting(port, spool, logs);
  assert.equal(await a.drained(10_000), true);
  for (const n of [2, 3, 4, 5, 7]) {
    assert.ok(logs.includes(`${spool}:${n}: unreadable TACACS+ accounting spool line skipped (a write torn by a crash, or damage); the records around it are kept`), `line ${n}:\n${logs.join("\n")}`);
  }
  assert.equal(a.stats().badLines, 5);
  assert.deepEqual(seen(p), ["sess-1 start", "sess-1 stop"]);
  assert.deepEqual(p.errors, []);
});

test("RADIUS accounting down does not hold TACACS+ accounting: TACACS+ back after an outage delivers all while RADIUS's spool keeps its own", async () => {
  const dir = tempDir();
  const port = await closedPort();
  const radiusPort = await closedPort(); // nothing answers RADIUS there (UDP: every try times out)
  const radius = await createRadiusAccounting({ servers: [{ host: "127.0.0.1", port: radiusPort, secret: new TextEncoder().encode("s") }], spoolPath: join(dir, "radius.spool"), spoolMax: 100, timeoutMs: 100, retries: 0, retryMs: 50, log: () => {} });
  cleanup.push(() => radius.close());
  const tac = accounting(port, join(dir, "tacacs.spool"), []);
  const expected = sessions(new AccountingFanOut([radius.sink, tac.sink]), 2);
  await until(() => tac.stats().retries >= 1, 5000, "a failed TACACS+ attempt");
  const p = await peerOn(port);
  assert.equal(await tac.drained(10_000), true);
  assert.deepEqual(seen(p), expected);
  assert.equal(radius.stats().pending, 6);
  assert.equal(radius.stats().delivered, 0);
});

test("TACACS+ down does not hold RADIUS accounting (FreeRADIUS), and its records follow once it is back", { skip: requireOrSkip("FreeRADIUS", freeradiusMissing()) }, async () => {
  const dir = tempDir();
  const fr = await startFreeRadius({ secret: "acct-secret", users: [] });
  cleanup.push(() => fr.stop());
  const radius = await createRadiusAccounting({ servers: [{ host: fr.address, port: fr.acctPort, secret: new TextEncoder().encode("acct-secret") }], spoolPath: join(dir, "radius.spool"), spoolMax: 100, timeoutMs: 500, retries: 2, log: () => {} });
  cleanup.push(() => radius.close());
  const port = await closedPort();
  const tac = accounting(port, join(dir, "tacacs.spool"), []);
  const expected = sessions(new AccountingFanOut([radius.sink, tac.sink]), 2);
  assert.equal(await radius.drained(10_000), true);
  assert.deepEqual(readDetail(fr.radacctDir).map((r) => `${r["Acct-Session-Id"]} ${r["Acct-Status-Type"]}`), expected.map((e) => e.replace("watchdog", "Interim-Update").replace(/start$/, "Start").replace(/stop$/, "Stop")));
  assert.equal(tac.stats().pending, 6);
  assert.equal(tac.stats().delivered, 0);
  const p = await peerOn(port);
  assert.equal(await tac.drained(10_000), true);
  assert.deepEqual(seen(p), expected);
});

/**
 * A server that answers ERROR (RFC 8907 §7.2: it did not commit the record) forever for one record: a production
 * server must not let that record hold every record behind it until spool-max. After [tacacs] accounting-error-limit
 * ERRORs in a row the record behind it is tried; the server takes it, so the refused record is dropped (logged in
 * full, counted) and the rest flows. A server that answers ERROR to everything keeps them all (its fault, not theirs).
 */
test("a server that answers ERROR forever to one record: after accounting-error-limit ERRORs it is dropped (logged, counted) and the records behind it flow in order", async () => {
  const port = await closedPort();
  const p = new TacacsPeer({ key: KEY, users: [], acctError: (args, flags) => flags === 0x02 && args.includes("task_id=sess-2") });
  await p.listen(port);
  cleanup.push(() => p.close());
  const logs: string[] = [];
  const a = accounting(port, join(tempDir(), "tacacs.spool"), logs, 1000, 3);
  const expected = sessions(a.sink, 3);
  assert.equal(await a.drained(20_000), true, `${JSON.stringify(a.stats())}\n${logs.join("\n")}`);
  assert.deepEqual(seen(p), expected.filter((e) => e !== "sess-2 start"), "every other record, in order");
  assert.equal(p.acctErrors, 3, "ERROR three times (the limit), then the record behind it was taken");
  assert.equal(a.stats().rejected, 1);
  assert.equal(a.stats().delivered, 8);
  assert.equal(spoolStatsReport(a.stats()).rejected, 1, "show stats / metrics (pptp_accounting_spool_rejected_dropped_total)");
  const dropped = logs.filter((l) => /DROPPED/.test(l));
  assert.equal(dropped.length, 1, logs.join("\n"));
  assert.match(dropped[0], /^TACACS\+ accounting spool: record #4 \(start sess-2 \(user2\)\) DROPPED: the server refused it 3 times .*the record was: \{.*"task_id=sess-2"/);
  assert.ok(logs.some((l) => /record #4 \(start sess-2 \(user2\)\) refused 3 times in a row \(.*status 2 ERROR.*\[tacacs\] accounting-error-limit = 3\)/.test(l)), logs.join("\n"));
});

test("a server that answers ERROR to every record keeps them all (its fault, not the records'), then takes them in order", async () => {
  const port = await closedPort();
  const p = await peerOn(port, "error");
  const logs: string[] = [];
  const a = accounting(port, join(tempDir(), "tacacs.spool"), logs, 1000, 2);
  const expected = sessions(a.sink, 2);
  // Two ERRORs for the head, one for the record behind it: the server refuses both, so nothing is dropped.
  await until(() => logs.some((l) => /refuses the record behind #1 too/.test(l)), 10_000, "the probe refused too");
  await until(() => p.seen.length >= 6, 10_000, "three more ERRORs");
  assert.equal(a.stats().rejected, 0);
  assert.equal(a.stats().pending, 6);
  p.opts.fault = "none";
  assert.equal(await a.drained(20_000), true, JSON.stringify(a.stats()));
  assert.deepEqual(seen(p), expected);
  assert.equal(a.stats().rejected, 0);
  assert.ok(!logs.some((l) => /DROPPED/.test(l)), logs.join("\n"));
});

test("accounting-error-limit = 0: a record the server refuses is retried forever, as an unanswered one", async () => {
  const port = await closedPort();
  const p = new TacacsPeer({ key: KEY, users: [], acctError: (args, flags) => flags === 0x02 && args.includes("task_id=sess-1") });
  await p.listen(port);
  cleanup.push(() => p.close());
  const a = accounting(port, join(tempDir(), "tacacs.spool"), [], 1000, 0);
  sessions(a.sink, 1);
  await until(() => p.acctErrors >= 4, 10_000, "four ERRORs");
  assert.deepEqual(seen(p), []);
  assert.equal(a.stats().pending, 3);
  assert.equal(a.stats().rejected, 0);
});
