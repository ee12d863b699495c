/**
 * TACACS+ over real TCP on loopback: our client (TacacsAuthenticator and the spooled accounting over TacacsTcpClient)
 * against the independent test peer (tacacs-peer.ts), and every packet our client sent judged by tshark's
 * TACACS+ dissector with the key.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TacacsPeer, clientPcap, closedPort, type PeerOptions, type PeerUser } from "./tacacs-peer.js";
import { tacacsAccountingFromConfig, tacacsFromConfig, type TacacsBackend } from "../../src/io/tacacs.js";
import type { SpooledAccounting } from "../../src/io/spool-accounting.js";
import { defaultTacacsConfig, type TacacsConfig } from "../../src/config/tacacs-config.js";
import type { AuthContext, AuthRequest, SessionSnapshot } from "../../src/aaa/types.js";
import { mschap1LmResponse, mschap1NtResponse, mschap2AuthenticatorResponse, mschap2NtResponse, ntPasswordHash } from "../../src/crypto/mschap.js";
import { requireOrSkip, tsharkMissing } from "../support/prerequisites.js";
import { seededRandom } from "../support/random.js";

const KEY = "s3cret tacacs key";
const USERS: PeerUser[] = [
  { name: "alice", password: "alice-pw", avPairs: ["addr=10.8.0.9", "route=192.168.20.0 255.255.255.0", "timeout=60", "idletime=10"] },
  { name: "bob", password: "bob-pw" },
  { name: "carol", password: "carol-pw", authorFail: true },
];
const CTX: AuthContext = { sessionId: "4f2a-0001", callId: 17, peerAddress: "198.51.100.7", localAddress: "192.0.2.1" };
const rnd = seededRandom(42);

function request(method: AuthRequest["method"], user: string, password: string): AuthRequest {
  switch (method) {
    case "pap":
      return { method, user, password };
    case "chap-md5": {
      const challenge = rnd(16);
      const response = new Uint8Array(createHash("md5").update(Uint8Array.of(7)).update(password).update(challenge).digest());
      return { method, user, id: 7, challenge, response };
    }
    case "mschap-v1": {
      const challenge8 = rnd(8);
      return { method, user, challenge8, ntResponse24: mschap1NtResponse(challenge8, ntPasswordHash(password)), lmResponse24: mschap1LmResponse(challenge8, password), useNt: true };
    }
    case "mschap-v2": {
      const authChallenge16 = rnd(16);
      const peerChallenge16 = rnd(16);
      return { method, user, authChallenge16, peerChallenge16, ntResponse24: mschap2NtResponse(authChallenge16, peerChallenge16, user, ntPasswordHash(password)) };
    }
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function peer(o: Partial<PeerOptions> = {}): Promise<TacacsPeer> {
  const p = new TacacsPeer({ key: KEY, users: USERS, ...o });
  await p.listen();
  cleanup.push(() => p.close());
  return p;
}

function backend(ports: number[], o: Partial<TacacsConfig> = {}, logs: string[] = []): TacacsBackend {
  const c: TacacsConfig = { ...defaultTacacsConfig(), servers: ports.map((port) => ({ host: "127.0.0.1", port })), key: KEY, timeoutMs: 1000, deadlineMs: 3000, ...o };
  const b = tacacsFromConfig(c, (level, m) => logs.push(`${level}: ${m}`));
  cleanup.push(() => b.close());
  return b;
}

/** TACACS+ accounting spooled in a fresh directory. */
function accounting(ports: number[], o: Partial<TacacsConfig> = {}, logs: string[] = []): SpooledAccounting {
  const dir = mkdtempSync(join(tmpdir(), "tacacs-acct-"));
  const c: TacacsConfig = { ...defaultTacacsConfig(), servers: ports.map((port) => ({ host: "127.0.0.1", port })), key: KEY, timeoutMs: 1000, deadlineMs: 3000, spool: join(dir, "tacacs.spool"), ...o };
  const a = tacacsAccountingFromConfig(c, (level, m) => logs.push(`${level}: ${m}`));
  cleanup.push(() => {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return a;
}

function snapshot(o: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    sessionId: "4f2a-0001", callId: 17, user: "alice", method: "chap-md5", peerAddress: "198.51.100.7", localAddress: "192.0.2.1",
    framedAddress: "10.8.0.9", startedAt: 1_700_000_000_000, durationMs: 0, inOctets: 0, outOctets: 0, inPackets: 0, outPackets: 0,
    backend: "tacacs+ 127.0.0.1:49", ...o,
  };
}

describe("TACACS+ authentication through the peer over TCP", () => {
  for (const method of ["pap", "chap-md5", "mschap-v1"] as const) {
    test(`${method}: right password accepted, wrong one refused with 691, unknown user refused`, async () => {
      const p = await peer();
      const b = backend([p.port], { authorization: false });
      const good = await b.authenticator.verify(request(method, "bob", "bob-pw"), CTX);
      assert.ok(good.ok, JSON.stringify(good));
      assert.equal(good.backend, `tacacs+ 127.0.0.1:${p.port}`);
      assert.equal(good.mppe, undefined, "TACACS+ gives no MPPE keys");
      const bad = await b.authenticator.verify(request(method, "bob", "wrong"), CTX);
      assert.ok(!bad.ok && bad.code === 691 && bad.unreachable !== true, JSON.stringify(bad));
      const nobody = await b.authenticator.verify(request(method, "mallory", "x"), CTX);
      assert.ok(!nobody.ok && nobody.code === 691);
      const start = p.seen.find((s) => s.type === 1)!;
      assert.equal(start.version, 0xc1, "minor version 1 for PAP/CHAP/MS-CHAP (RFC 8907 §5.4.2)");
      assert.deepEqual(p.errors, []);
    });
  }

  test("mschap-v2: a bare PASS is refused with the reason; a PASS carrying S=... passes it on", async () => {
    const p = await peer();
    const b = backend([p.port], { authorization: false });
    const bare = await b.authenticator.verify(request("mschap-v2", "bob", "bob-pw"), CTX);
    assert.ok(!bare.ok);
    assert.match(bare.message, /no authenticator response/);
    const withS = await peer({ mschapv2Success: true });
    const b2 = backend([withS.port], { authorization: false });
    const req = request("mschap-v2", "bob", "bob-pw") as Extract<AuthRequest, { method: "mschap-v2" }>;
    const r = await b2.authenticator.verify(req, CTX);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.authenticatorResponse, mschap2AuthenticatorResponse(ntPasswordHash("bob-pw"), req.ntResponse24, req.peerChallenge16, req.authChallenge16, "bob"));
    const wrong = await b2.authenticator.verify(request("mschap-v2", "bob", "nope"), CTX);
    assert.ok(!wrong.ok && wrong.code === 691);
  });

  test("authorization: AV pairs become the session policy; FAIL refuses with 649", async () => {
    const p = await peer();
    const b = backend([p.port]);
    const r = await b.authenticator.verify(request("pap", "alice", "alice-pw"), CTX);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.session, { framedAddress: "10.8.0.9", framedRoutes: ["192.168.20.0/24"], sessionTimeoutMs: 3_600_000, idleTimeoutMs: 600_000 });
    assert.deepEqual(r.addresses, ["10.8.0.9"]);
    const author = p.seen.find((s) => s.type === 2)!;
    assert.ok(author.body.toString("latin1").includes("service=ppp") && author.body.toString("latin1").includes("protocol=ip"));
    const carol = await b.authenticator.verify(request("pap", "carol", "carol-pw"), CTX);
    assert.ok(!carol.ok && carol.code === 649, JSON.stringify(carol));
  });

  test("accounting start, watchdog and stop arrive with task_id, times, counters and the cause", async () => {
    const p = await peer();
    const a = accounting([p.port]);
    a.sink.accountingOn();
    a.sink.start(snapshot());
    a.sink.interim(snapshot({ durationMs: 60_000, inOctets: 1000, outOctets: 2000, inPackets: 10, outPackets: 20 }));
    a.sink.stop(snapshot({ durationMs: 125_500, inOctets: 123456, outOctets: 654321, inPackets: 111, outPackets: 222 }), "idle-timeout");
    await a.sink.accountingOff();
    assert.deepEqual({ ...a.stats(), badLines: 0 }, { pending: 0, accepted: 3, delivered: 3, dropped: 0, refused: 0, retries: 0, badLines: 0, rejected: 0 });
    assert.deepEqual(p.accounting.map((a) => a.flags), [0x02, 0x08, 0x04]);
    const stop = p.accounting[2];
    assert.equal(stop.user, "alice");
    assert.equal(stop.port, "pptp/17");
    assert.equal(stop.remAddr, "198.51.100.7");
    for (const av of ["task_id=4f2a-0001", "start_time=1700000000", "elapsed_time=125", "bytes_in=123456", "bytes_out=654321", "paks_in=111", "paks_out=222", "stop_time=1700000125", "disc-cause=4", "reason=idle-timeout", "addr=10.8.0.9"]) {
      assert.ok(stop.args.includes(av), `${av} in ${stop.args.join(" ")}`);
    }
    assert.ok(p.accounting[0].args.includes("task_id=4f2a-0001") && !p.accounting[0].args.some((a) => a.startsWith("bytes_in")));
  });
});

describe("TACACS+ servers that fail", () => {
  test("failover: a refused first server, then the second answers", async () => {
    const dead = await closedPort();
    const p = await peer();
    const b = backend([dead, p.port], { authorization: false });
    const r = await b.authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.backend, `tacacs+ 127.0.0.1:${p.port}`);
  });

  test("a server that closes mid-request: the next one is asked", async () => {
    const closing = await peer({ fault: "close" });
    const p = await peer();
    const b = backend([closing.port, p.port], { authorization: false });
    const r = await b.authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(closing.seen.length, 1);
    const alone = await backend([closing.port]).authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    assert.ok(!alone.ok && alone.unreachable === true);
    assert.match(alone.message, /connection closed by the server before the reply \(servers do this when the key does not match: check the key\)/);
  });

  test("silent servers: unreachable within the deadline, and saying so", async () => {
    const s1 = await peer({ fault: "silent" });
    const s2 = await peer({ fault: "silent" });
    const s3 = await peer({ fault: "silent" });
    const b = backend([s1.port, s2.port, s3.port], { timeoutMs: 300, deadlineMs: 700, authorization: false });
    const t0 = Date.now();
    const r = await b.authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    const took = Date.now() - t0;
    assert.ok(!r.ok && r.unreachable === true, JSON.stringify(r));
    assert.match(r.message, /deadline of 700 ms/);
    assert.match(r.message, /no reply within 300 ms/);
    assert.ok(took >= 650 && took < 1500, `took ${took} ms`);
    assert.equal(s3.seen.length, 1, "the third server was tried before the deadline");
  });

  test("all servers refused: unreachable, naming each", async () => {
    const r = await backend([await closedPort(), await closedPort()]).authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    assert.ok(!r.ok && r.unreachable === true);
    assert.match(r.message, /connection refused.*; .*connection refused/);
  });

  test("a wrong key is diagnosed as such", async () => {
    const p = await peer({ fault: "wrong-key" });
    const r = await backend([p.port]).authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    assert.ok(!r.ok && r.unreachable === true);
    assert.match(r.message, /check the key/);
  });

  test("garbage instead of TACACS+ is diagnosed; a server ERROR lets a chain go on", async () => {
    const g = await peer({ fault: "garbage" });
    const r = await backend([g.port]).authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    assert.ok(!r.ok && r.unreachable === true);
    assert.match(r.message, /not a TACACS\+ reply/);
    const e = await peer({ fault: "error" });
    const r2 = await backend([e.port]).authenticator.verify(request("pap", "bob", "bob-pw"), CTX);
    assert.ok(!r2.ok && r2.unreachable === true && /ERROR: server error/.test(r2.message), JSON.stringify(r2));
  });

  test("accounting to an unreachable server stays in the spool, and the outage is logged once", async () => {
    const logs: string[] = [];
    const a = accounting([await closedPort()], { timeoutMs: 200, deadlineMs: 500 }, logs);
    a.sink.start(snapshot());
    a.sink.stop(snapshot({ durationMs: 1000 }), "user-request");
    assert.equal(await a.drained(1500), false);
    assert.equal(a.stats().pending, 2);
    assert.equal(a.stats().delivered, 0);
    const outage = logs.filter((l) => /TACACS\+ accounting: no TACACS\+ server answered.*; records are kept in \S+tacacs\.spool and sent in order when a server answers/.test(l));
    assert.equal(outage.length, 1, logs.join("\n"));
  });
});

describe("single-connection (RFC 8907 §4.3)", () => {
  test("a server that agrees carries every session on one connection, concurrent ones too", async () => {
    const p = await peer({ singleConnect: true });
    const b = backend([p.port], { singleConnection: true });
    const first = await b.authenticator.verify(request("pap", "alice", "alice-pw"), CTX);
    assert.ok(first.ok);
    const many = await Promise.all(["pap", "chap-md5", "mschap-v1", "pap"].map((m) => b.authenticator.verify(request(m as AuthRequest["method"], "bob", "bob-pw"), CTX)));
    assert.ok(many.every((r) => r.ok), JSON.stringify(many));
    assert.equal(p.connections, 1);
    assert.equal(p.seen.length, 2 + 4 * 2);
    assert.ok(p.seen.every((s) => (s.flags & 4) !== 0));
  });

  test("a server that does not agree gets one connection per session", async () => {
    const p = await peer({ singleConnect: false });
    const b = backend([p.port], { singleConnection: true, authorization: false });
    for (let i = 0; i < 3; i++) assert.ok((await b.authenticator.verify(request("pap", "bob", "bob-pw"), CTX)).ok);
    assert.equal(p.connections, 3);
  });
});

describe("tshark's TACACS+ dissector reads every packet we send", () => {
  const why = tsharkMissing();
  test("authentication of each type, authorization and accounting, decrypted with the key", { skip: requireOrSkip("tshark", why) }, async () => {
    const p = await peer({ mschapv2Success: true });
    const b = backend([p.port]);
    for (const m of ["pap", "chap-md5", "mschap-v1", "mschap-v2"] as const) assert.ok((await b.authenticator.verify(request(m, "alice", "alice-pw"), CTX)).ok, m);
    const a = accounting([p.port]);
    a.sink.start(snapshot());
    a.sink.stop(snapshot({ durationMs: 5000, inOctets: 10, outOctets: 20, inPackets: 1, outPackets: 2 }), "user-request");
    await a.sink.accountingOff();
    const dir = mkdtempSync(join(tmpdir(), "tacacs-pcap-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "client.pcap");
    writeFileSync(file, clientPcap(p.streams));
    if (process.env.TACACS_PCAP_KEEP) writeFileSync(process.env.TACACS_PCAP_KEEP, clientPcap(p.streams));
    const fields = ["tacplus.majvers", "tacplus.minvers", "tacplus.type", "tacplus.seqno", "tacplus.flags.unencrypted", "tacplus.session_id", "tacplus.user", "tacplus.authen_action", "tacplus.authentication_type", "tacplus.service", "tacplus.privilege_level", "tacplus.port", "tacplus.remote_address", "tacplus.auth_password", "tacplus.chap.id", "tacplus.mschap.id", "tacplus.arg_value", "tacplus.acct.flags.start", "tacplus.acct.flags.stop", "_ws.malformed", "_ws.expert"];
    const out = execFileSync("tshark", ["-n", "-r", file, "-o", `tacplus.key:${KEY}`, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=;", ...fields.flatMap((f) => ["-e", f])], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const rows = out.trim().split("\n").map((l) => Object.fromEntries(l.split("|").map((v, i) => [fields[i], v])));
    assert.equal(rows.length, 4 * 2 + 2, out);
    for (const r of rows) {
      assert.equal(r["_ws.malformed"], "", `malformed: ${JSON.stringify(r)}`);
      assert.equal(r["_ws.expert"], "", `expert info: ${JSON.stringify(r)}`);
      assert.equal(Number(r["tacplus.majvers"]) >> 4, 0xc, "major version 0xc (tshark shows the whole octet)");
      assert.equal(r["tacplus.seqno"], "1");
      assert.equal(r["tacplus.flags.unencrypted"], "0");
      assert.equal(r["tacplus.user"], "alice");
      assert.equal(r["tacplus.port"], "pptp/17");
      assert.equal(r["tacplus.remote_address"], "198.51.100.7");
    }
    const authen = rows.filter((r) => r["tacplus.type"] === "1");
    assert.deepEqual(authen.map((r) => r["tacplus.authentication_type"]), ["2", "3", "5", "6"]);
    for (const r of authen) {
      assert.equal(r["tacplus.minvers"], "1");
      assert.equal(r["tacplus.authen_action"], "1");
      assert.equal(r["tacplus.service"], "3");
      assert.equal(r["tacplus.privilege_level"], "1");
    }
    assert.equal(authen[0]["tacplus.auth_password"], "alice-pw", "tshark decrypted the PAP password with the key");
    assert.equal(authen[1]["tacplus.chap.id"], "7");
    assert.equal(authen[2]["tacplus.mschap.id"], "0");
    // The full dissection: MS-CHAPv1 data is id + 8-octet challenge + 49-octet response; tshark 4.0 has no MS-CHAPv2
    // decoder and shows its data length (1 + 16 + 49). Nothing anywhere is malformed.
    const verbose = execFileSync("tshark", ["-n", "-r", file, "-o", `tacplus.key:${KEY}`, "-V"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.doesNotMatch(verbose, /Malformed|Expert Info/i);
    assert.match(verbose, /Authentication type: MS-CHAP \(5\)[\s\S]*?MSCHAP Data Length: 58/);
    assert.match(verbose, /Authentication type: Unknown \(6\)[\s\S]*?Data: 66\n/);
    assert.equal(verbose.match(/Decrypted Request/g)?.length, rows.length);
    const author = rows.filter((r) => r["tacplus.type"] === "2");
    assert.equal(author.length, 4);
    for (const r of author) assert.equal(r["tacplus.arg_value"], "service=ppp;protocol=ip");
    const acct = rows.filter((r) => r["tacplus.type"] === "3");
    assert.deepEqual(acct.map((r) => [r["tacplus.acct.flags.start"], r["tacplus.acct.flags.stop"]]), [["1", "0"], ["0", "1"]]);
    assert.ok(acct[1]["tacplus.arg_value"].split(";").includes("bytes_out=20"), acct[1]["tacplus.arg_value"]);
    // The same capture read with a wrong key must not decode as cleanly: the dissector is really checking.
    const wrong = execFileSync("tshark", ["-n", "-r", file, "-o", "tacplus.key:not-the-key", "-T", "fields", "-e", "tacplus.user"], { encoding: "utf8" });
    assert.ok(!wrong.split("\n").includes("alice"), wrong);
  });
});
