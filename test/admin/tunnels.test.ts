/**
 * `show tunnels`, `show peers`, `show vpdn` and `clear tunnel` against a real server (loopback TCP, in-memory
 * GRE/TUN) and a real dial-out peer, asked over a real control socket by the real `pptp-ts` command in a child
 * process; and `--help` / "did you mean" for every subcommand.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { execFile, spawnSync } from "node:child_process";
import * as net from "node:net";
import { answerAdmin, type PeerLine, type TunnelLine } from "../../src/admin/commands.js";
import { processTarget } from "../../src/admin/target.js";
import { peerTable, tunnelTable, vpdnText } from "../../src/admin/tunnel-table.js";
import { openControlSocket, controlRequest } from "../../src/io/control-socket.js";
import { rig, dial, waitFor, settings } from "../runtime/server-rig.js";
import { config, RecordingNetwork } from "../runtime/driver-support.js";
import { PptpClient } from "../../src/client/client.js";
import { GreDemux } from "../../src/io/gre-demux.js";
import { MemoryGreNetwork, MemoryTun } from "../../src/io/memory.js";
import { ControlStreamFramer, emitControlMessage } from "../../src/wire/pptp-control.js";
import type { AccountingSink, SessionSnapshot, TerminateCause } from "../../src/aaa/types.js";
import type { LogCategory } from "../../src/session/connection.js";
import { privilegedSkip } from "../io/netns.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

/** The `pptp-ts` command in a child process (asynchronously: this process's server must answer it meanwhile). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20_000 }, (e, stdout, stderr) => {
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const SCCRQ = emitControlMessage({
  type: "SCCRQ",
  protocolVersion: 0x0100,
  framingCapabilities: 1,
  bearerCapabilities: 1,
  maximumChannels: 0,
  firmwareRevision: 0x870,
  hostName: "branch-rtr",
  vendorString: "raw test peer",
});

/** A TCP connection from `from` that sends only `first` (if anything) and records the control messages it receives. */
function rawPeer(port: number, from: string, first?: Uint8Array) {
  const got: string[] = [];
  const stopReasons: number[] = [];
  const framer = new ControlStreamFramer();
  const sock = net.connect({ host: "127.0.0.1", port, localAddress: from });
  sock.on("connect", () => first && sock.write(first));
  sock.on("data", (d) => {
    framer.push(d);
    for (let m = framer.next(); m?.ok; m = framer.next()) {
      got.push(m.value.type);
      if (m.value.type === "StopCCRQ") stopReasons.push(m.value.reason);
    }
  });
  sock.on("error", () => {});
  let closed = false;
  sock.on("close", () => (closed = true));
  return { sock, got, stopReasons, closed: () => closed };
}

/** Control message types the dialled client receives on TCP, in order. */
function recordControl(sock: net.Socket): string[] {
  const got: string[] = [];
  const framer = new ControlStreamFramer();
  sock.on("data", (d) => {
    framer.push(d);
    for (let m = framer.next(); m?.ok; m = framer.next()) got.push(m.value.type);
  });
  return got;
}

class RecordingAccounting implements AccountingSink {
  readonly stops: { user?: string; cause: TerminateCause }[] = [];
  accountingOn(): void {}
  start(): void {}
  interim(): void {}
  stop(s: SessionSnapshot, cause: TerminateCause): void {
    this.stops.push({ ...(s.user !== undefined ? { user: s.user } : {}), cause });
  }
  async accountingOff(): Promise<void> {}
}

const socketPath = () => join(mkdtempSync(join(tmpdir(), "pptpts-tun-")), "ctl.sock");

/**
 * The idle peers these tests list must outlive the test: the server closes a connection without SCCRQ after
 * start-timeout (10 s) and one without a call after no-call-timeout (30 s), and under load the CLI's child processes
 * (several, one after another, over a second each) took the first test past 10 s — the silent peer was gone and
 * `show vpdn` said "total tunnels 2" (reproduced by stretching the test by 10.5 s).
 */
const patient = { ...settings, limits: { ...settings.limits, startTimeoutMs: 600_000, noCallTimeoutMs: 600_000 } };

describe("show tunnels / show vpdn / clear tunnel against a running server", () => {
  test("every control connection is listed — no SCCRQ yet, SCCRQ but no call, a call — and show vpdn gives the totals and the session", async () => {
    const r = await rig(patient);
    const path = socketPath();
    const sock = await openControlSocket(path, async (req) => answerAdmin(processTarget({ server: r.server, clients: [] }), req));
    const silent = rawPeer(r.port, "127.0.0.5");
    const bare = rawPeer(r.port, "127.0.0.4", SCCRQ);
    try {
      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => alice.up() && bare.got.includes("SCCRP"), 8000);
      const a = (await controlRequest(path, { cmd: "show-tunnels" })) as { ok: true; tunnels: TunnelLine[] };
      assert.equal(a.tunnels.length, 3);
      const by = (ip: string) => a.tunnels.find((t) => t.remote.startsWith(`${ip}:`))!;
      assert.deepEqual(
        [by("127.0.0.5").state, by("127.0.0.5").calls, by("127.0.0.5").hostName],
        ["wait-sccrq", 0, undefined],
        "TCP up, nothing said yet",
      );
      assert.deepEqual([by("127.0.0.4").state, by("127.0.0.4").calls, by("127.0.0.4").hostName, by("127.0.0.4").vendor], ["established", 0, "branch-rtr", "raw test peer"]);
      const t = by("127.0.0.2");
      assert.equal(t.state, "established");
      assert.equal(t.role, "server");
      assert.equal(t.calls, 1);
      const session = r.server.find({ user: "alice" })[0];
      assert.deepEqual(t.callIds, [session.callId]);
      assert.equal(t.sessions?.[0].user, "alice");
      assert.equal(t.sessions?.[0].state, "up");
      assert.equal(t.sessions?.[0].address, session.framedAddress);
      assert.equal(t.sessions?.[0].peerCallId, alice.client.control.listCalls()[0].callId, "RemID is the client's own Call ID");
      assert.equal(new Set(a.tunnels.map((x) => x.id)).size, 3, "tunnel numbers are distinct");
      // What a metrics scrape reads: the same connections counted by state, without a report per connection.
      const counted = processTarget({ server: r.server, clients: [] }).tunnelStates!();
      assert.deepEqual(
        [...counted].sort((x, y) => x.state.localeCompare(y.state)),
        [
          { role: "server", state: "established", n: 2 },
          { role: "server", state: "wait-sccrq", n: 1 },
        ],
      );
      assert.match(t.local ?? "", new RegExp(`^127\\.0\\.0\\.1:${r.port}$`));

      // the command itself, in another process, over the socket
      const shown = await cli("show", "tunnels", "--socket", path);
      assert.equal(shown.code, 0, shown.stderr);
      console.log(`$ pptp-ts show tunnels\n${shown.stdout}`);
      const lines = shown.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^TUNNEL\s+ROLE\s+REMOTE\s+LOCAL\s+PEER\s+STATE\s+HOST\s+VENDOR\s+CALLS\s+CALL IDS\s+UPTIME$/);
      assert.equal(lines.length, 5);
      assert.match(lines.find((l) => l.includes("127.0.0.4:"))!, /\bserver\s+127\.0\.0\.4:\d+\s+127\.0\.0\.1:\d+\s+-\s+established\s+branch-rtr\s+raw test peer\s+0\s+-\s+\d\d:\d\d:\d\d$/);
      assert.match(lines.find((l) => l.includes("127.0.0.5:"))!, /\s+wait-sccrq\s+-\s+-\s+0\s+-\s/);
      assert.match(lines.find((l) => l.includes("127.0.0.2:"))!, new RegExp(`\\s+established\\s+\\S+\\s+\\S+\\s+1\\s+${session.callId}\\s`));
      assert.equal(lines[4], "3 tunnels");
      const json = await cli("show", "tunnels", "--json", "--socket", path);
      assert.equal((JSON.parse(json.stdout) as TunnelLine[]).length, 3);

      const vpdn = await cli("show", "vpdn", "--socket", path);
      assert.equal(vpdn.code, 0, vpdn.stderr);
      console.log(`$ pptp-ts show vpdn\n${vpdn.stdout}`);
      assert.match(vpdn.stdout, /^PPTP tunnel and session information: total tunnels 3, sessions 1\n\n/);
      assert.match(vpdn.stdout, /\nTunID\s+Role\s+Remote Name\s+State\s+Remote Address\s+Port\s+Local Address\s+Port\s+Sessions\s+Peer\s+Last Chg\n/);
      assert.match(vpdn.stdout, /\nLocID\s+RemID\s+TunID\s+Intf\s+Username\s+State\s+Last Chg\s+Address\s+Bytes In\/Out\s+Pkts In\/Out\s+GRE Send\n/);
      assert.match(vpdn.stdout, new RegExp(`\\n${session.callId}\\s+${t.sessions![0].peerCallId}\\s+${t.id}\\s+\\S+\\s+alice\\s+up\\s+\\d\\d:\\d\\d:\\d\\d\\s+${session.framedAddress!.replace(/\./g, "\\.")}\\s`));
      alice.hangUp();
    } finally {
      silent.sock.destroy();
      bare.sock.destroy();
      sock.close();
      await r.stop();
    }
  });

  test("clear tunnel: LCP Terminate and Call-Disconnect-Notify for each call, then Stop-Control-Connection-Request; Admin-Reset; the other tunnels untouched", async () => {
    const acct = new RecordingAccounting();
    const r = await rig(patient, undefined, { accounting: acct });
    const path = socketPath();
    const sock = await openControlSocket(path, async (req) => answerAdmin(processTarget({ server: r.server, clients: [] }), req));
    const bare = rawPeer(r.port, "127.0.0.4", SCCRQ);
    try {
      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      const aliceWire = recordControl(alice.sock);
      const bob = dial(r, "127.0.0.3", "bob", "pw2");
      await waitFor(() => alice.up() && bob.up() && bare.got.includes("SCCRP"), 8000);

      const unknown = await cli("clear", "tunnel", "127.0.0.77", "--socket", path);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no control connection to 127\.0\.0\.77/);

      const c = await cli("clear", "tunnel", "127.0.0.2", "--socket", path);
      assert.equal(c.code, 0, c.stderr);
      console.log(`$ pptp-ts clear tunnel 127.0.0.2\n${c.stdout}`);
      assert.match(c.stdout, /^clearing 1 tunnel with 1 call: 127\.0\.0\.2:\d+ \(tunnel \d+\)\n$/);
      await waitFor(() => aliceWire.includes("StopCCRQ"), 10_000);
      // the call first (its LCP Terminate-Request ended the link, so the client saw why), then the tunnel
      assert.deepEqual(aliceWire.filter((m) => m === "CDN" || m === "StopCCRQ"), ["CDN", "StopCCRQ"]);
      const down = alice.events.find((e) => e.type === "call-down");
      assert.ok(down && down.type === "call-down");
      assert.match(down.reason, /administrative reset \(pptp-ts clear tunnel\)/, "the peer's Terminate-Request text reached the client");
      const lcp = alice.events.findIndex((e) => e.type === "log" && /^LCP down: peer sent Terminate-Request \("administrative reset \(pptp-ts clear tunnel\)"\)/.test(e.message));
      const cdn = alice.events.findIndex((e) => e.type === "log" && /cleared by peer/.test(e.message));
      assert.ok(lcp >= 0 && cdn > lcp, "LCP Terminate-Request first, then the Call-Disconnect-Notify");
      await waitFor(() => r.server.sessionCount === 1 && acct.stops.length === 1, 8000);
      assert.deepEqual(acct.stops, [{ user: "alice", cause: "admin-reset" }]);
      const log = r.lines.join("\n");
      assert.match(log, /call \d+ user=alice peer=127\.0\.0\.2: disconnect \(admin-reset\): administrative reset \(pptp-ts clear tunnel\)/);
      assert.match(log, /user=alice peer=127\.0\.0\.2: session down: .*administrative reset.*; cause admin-reset/);
      assert.ok(bob.up() && !bob.down(), "bob's tunnel is untouched");
      assert.ok(!bare.got.includes("StopCCRQ"));

      // a tunnel with no call stops at once
      const b = await cli("clear", "tunnel", "127.0.0.4", "--socket", path);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /^clearing 1 tunnel with 0 calls/);
      await waitFor(() => bare.got.includes("StopCCRQ"), 8000);
      // RFC 2637 §2.3 Reason 1 (None): a general request to clear the control connection — the server stays up,
      // so not 3 (Stop-Local-Shutdown)
      assert.deepEqual(bare.stopReasons, [1]);
      const left = (await controlRequest(path, { cmd: "show-tunnels" })) as { ok: true; tunnels: TunnelLine[] };
      assert.ok(left.tunnels.some((t) => t.remote.startsWith("127.0.0.3:") && t.calls === 1));
      bob.hangUp();
    } finally {
      bare.sock.destroy();
      sock.close();
      await r.stop();
    }
  });
});

describe("show peers: dial-out peers", () => {
  test("a peer in retry-wait shows its last failure in plain words and when it redials; its tunnel shows once it is connected", async () => {
    // A port nobody listens on: the peer's dial is refused.
    const closed = net.createServer();
    await new Promise<void>((res) => closed.listen(0, "127.0.0.1", () => res()));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((res) => closed.close(() => res()));
    const r = await rig();
    const grenet = r.grenet;
    const lines: string[] = [];
    const cfg = config(
      `[server]\nenable = no\n` +
        `[peer hq]\nrole = client\nremote = 127.0.0.1\nport = ${deadPort}\nuser = alice\npassword = pw1\nreconnect-delay = 30\nreconnect-max-delay = 60\n` +
        `[peer branch]\nrole = client\nremote = 127.0.0.1\nport = ${r.port}\nuser = bob\npassword = pw2\nreconnect-delay = 30\n`,
    );
    const gre = new GreDemux(grenet.attach("127.0.0.6"), () => performance.now());
    const tuns: MemoryTun[] = [];
    const clients = cfg.peers.map(
      (peer) =>
        new PptpClient({
          peer,
          gre,
          openTun: (t) => {
            const tun = new MemoryTun(t.name, t.mtu);
            tuns.push(tun);
            return tun;
          },
          net: new RecordingNetwork(),
          log: { enabled: (_c: LogCategory) => true, log: (c, m) => lines.push(`[${c}] ${m}`) },
          bindAddress: "127.0.0.6",
        }),
    );
    const path = socketPath();
    const sock = await openControlSocket(path, async (req) => answerAdmin(processTarget({ server: r.server, clients }), req));
    const iv = setInterval(() => tuns.forEach((t) => t.deliver()), 2);
    try {
      for (const c of clients) await c.start();
      await waitFor(() => clients[0].state === "retry-wait" && clients[1].state === "up", 10_000);
      const a = (await controlRequest(path, { cmd: "show-peers" })) as { ok: true; peers: PeerLine[] };
      const hq = a.peers.find((p) => p.name === "hq")!;
      assert.equal(hq.state, "retry-wait");
      assert.equal(hq.failures, 1);
      assert.match(hq.lastError ?? "", new RegExp(`^cannot reach the server 127\\.0\\.0\\.1:${deadPort}: connection refused: nothing listens on the PPTP port there`));
      // reconnect-delay 30 s with the backoff's ±20 % jitter, counting down
      assert.ok(hq.nextRedialInMs !== undefined && hq.nextRedialInMs > 20_000 && hq.nextRedialInMs <= 36_000, `next redial in ${hq.nextRedialInMs} ms`);
      await new Promise((res) => setTimeout(res, 300));
      const later = (await controlRequest(path, { cmd: "show-peers" })) as { ok: true; peers: PeerLine[] };
      const laterMs = later.peers.find((p) => p.name === "hq")!.nextRedialInMs!;
      assert.ok(laterMs < hq.nextRedialInMs - 250 && laterMs > hq.nextRedialInMs - 1000, `${hq.nextRedialInMs} then ${laterMs}`);
      const branch = a.peers.find((p) => p.name === "branch")!;
      assert.equal(branch.state, "up");
      assert.equal(branch.failures, 0);
      assert.equal(branch.nextRedialInMs, undefined);
      assert.match(branch.localAddress ?? "", /^192\.168\.50\.1\d$/);

      const shown = await cli("show", "peers", "--socket", path);
      assert.equal(shown.code, 0, shown.stderr);
      console.log(`$ pptp-ts show peers\n${shown.stdout}`);
      const out = shown.stdout.split("\n");
      assert.match(out[0], /^PEER\s+STATE\s+SERVER\s+ADDRESS\s+UPTIME\s+FAILURES\s+NEXT REDIAL\s+LAST FAILURE$/);
      assert.match(out.find((l) => l.startsWith("hq "))!, /^hq\s+retry-wait\s+127\.0\.0\.1\s+-\s+-\s+1\s+in [23]\d\.\d s\s+cannot reach the server 127\.0\.0\.1:\d+: connection refused/);
      assert.match(out.find((l) => l.startsWith("branch "))!, /^branch\s+up\s+127\.0\.0\.1\s+192\.168\.50\.1\d\s+\d\d:\d\d:\d\d\s+0\s+-\s+-$/);
      assert.equal(out[3], "2 dial-out peers");

      // one process, both ends of the branch's control connection: the server's and the peer's
      const t = (await controlRequest(path, { cmd: "show-tunnels" })) as { ok: true; tunnels: TunnelLine[] };
      const mine = t.tunnels.find((x) => x.role === "client")!;
      assert.equal(mine.peerName, "branch");
      assert.equal(mine.state, "established");
      assert.equal(mine.hostName, "pptp-ts-test", "the server's SCCRP host name");
      assert.equal(mine.sessions?.[0].user, "bob");
      assert.equal(mine.sessions?.[0].interface, "pt-branch");
      const theirs = t.tunnels.find((x) => x.role === "server")!;
      assert.equal(theirs.sessions?.[0].callId, mine.sessions?.[0].peerCallId, "the server's LocID is the peer's RemID");
      assert.equal(theirs.sessions?.[0].peerCallId, mine.sessions?.[0].callId);
      // GRE send windows: the server sends freely ([gre] flow-control off); our client keeps to the server's
      // advertised 512 once the server has acknowledged on its own (auto)
      assert.equal(theirs.sessions?.[0].gre?.flowControl, "off");
      const g = mine.sessions?.[0].gre;
      assert.ok(g && (g.flowControl === "off" || (g.flowControl === "sliding" && g.peerWindow === 512)), JSON.stringify(g));
      console.log(vpdnText(t.tunnels));

      // clear tunnel by [peer NAME] on the dial-out side: the call and then the tunnel end; the peer redials later
      const c = await cli("clear", "tunnel", "branch", "--socket", path);
      assert.equal(c.code, 0, c.stderr);
      await waitFor(() => r.lines.some((l) => /user=bob .*session down: .*administrative reset \(pptp-ts clear tunnel\)/.test(l)), 10_000);
      await waitFor(() => clients[1].state !== "up", 10_000);
      assert.match(lines.join("\n"), /peer branch: clear tunnel: administrative reset/);
      assert.match(clients[1].snapshot().lastError ?? "", /administrative reset/);
    } finally {
      clearInterval(iv);
      sock.close();
      await Promise.all(clients.map((c) => c.stop("test over")));
      gre.close();
      await r.stop();
    }
  });
});

describe("the tables", () => {
  const tunnels: TunnelLine[] = [
    { id: 1, role: "server", remote: "198.51.100.7:50123", local: "203.0.113.1:1723", state: "wait-sccrq", calls: 0, callIds: [], uptimeMs: 2000, sinceChangeMs: 2000, sessions: [] },
    {
      id: 2,
      role: "server",
      remote: "198.51.100.8:50200",
      local: "203.0.113.1:1723",
      state: "established",
      hostName: "WIN-PC",
      vendor: "Microsoft",
      calls: 1,
      callIds: [13],
      uptimeMs: 65_000,
      sinceChangeMs: 64_000,
      sessions: [{ callId: 13, peerCallId: 32768, state: "up", user: "cisco", address: "10.0.0.10", interface: "pptp0", sinceChangeMs: 24_000, bytesIn: 3469, bytesOut: 394, packetsIn: 35, packetsOut: 12 }],
    },
  ];

  test("show vpdn: totals, tunnels, sessions in the seeds' shape", () => {
    assert.equal(
      vpdnText(tunnels),
      [
        "PPTP tunnel and session information: total tunnels 2, sessions 1",
        "",
        "TunID  Role    Remote Name  State        Remote Address  Port   Local Address  Port  Sessions  Peer  Last Chg",
        "1      server  -            wait-sccrq   198.51.100.7    50123  203.0.113.1    1723  0         -     00:00:02",
        "2      server  WIN-PC       established  198.51.100.8    50200  203.0.113.1    1723  1         -     00:01:04",
        "",
        "LocID  RemID  TunID  Intf   Username  State  Last Chg  Address    Bytes In/Out   Pkts In/Out  GRE Send",
        "13     32768  2      pptp0  cisco     up     00:00:24  10.0.0.10  3.4 KiB/394 B  35/12        -",
        "",
      ].join("\n"),
    );
    const paced = [{ ...tunnels[1], sessions: [{ ...tunnels[1].sessions![0], gre: { flowControl: "sliding", window: 32, peerWindow: 64, outstanding: 12, windowFull: 40, ackTimeouts: 1 } }, { ...tunnels[1].sessions![0], callId: 14, gre: { flowControl: "off", outstanding: 0, windowFull: 0, ackTimeouts: 0 } }] }];
    const rows = vpdnText(paced).split("\n");
    assert.match(rows.find((l) => l.startsWith("13 "))!, /35\/12\s+sliding 12\/32 of 64, 40 dropped at full window, 1 ack time-out$/);
    assert.match(rows.find((l) => l.startsWith("14 "))!, /35\/12\s+off$/);
    assert.equal(vpdnText([]), "PPTP tunnel and session information: total tunnels 0, sessions 0\n\n%No active PPTP tunnels\n");
    assert.match(vpdnText(tunnels.slice(0, 1)), /\n%No active PPTP sessions\n$/);
  });

  test("show tunnels and show peers", () => {
    assert.equal(
      tunnelTable(tunnels),
      [
        "TUNNEL  ROLE    REMOTE              LOCAL             PEER  STATE        HOST    VENDOR     CALLS  CALL IDS  UPTIME",
        "1       server  198.51.100.7:50123  203.0.113.1:1723  -     wait-sccrq   -       -          0      -         00:00:02",
        "2       server  198.51.100.8:50200  203.0.113.1:1723  -     established  WIN-PC  Microsoft  1      13        00:01:05",
        "2 tunnels",
        "",
      ].join("\n"),
    );
    assert.equal(
      peerTable([
        { name: "hq", state: "retry-wait", server: "203.0.113.1", failures: 3, lastError: "authentication failed (691)", lastErrorCode: 691, nextRedialInMs: 75_400 },
        { name: "br", state: "up", server: "203.0.113.9", localAddress: "10.9.0.2", upForMs: 3_600_000, failures: 0 },
      ]),
      [
        "PEER  STATE       SERVER       ADDRESS   UPTIME    FAILURES  NEXT REDIAL  LAST FAILURE",
        "hq    retry-wait  203.0.113.1  -         -         3         in 1m 15s    authentication failed (691)",
        "br    up          203.0.113.9  10.9.0.2  01:00:00  0         -            -",
        "2 dial-out peers",
        "",
      ].join("\n"),
    );
  });
});

describe("--help and did-you-mean", () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20_000 });

  test("every subcommand answers --help with its usage on stdout and exit 0", () => {
    for (const cmd of ["server", "connect", "check-config", "show", "clear", "reload", "hash-password", "version", "help"]) {
      for (const flag of cmd === "show" || cmd === "server" ? ["--help", "-h"] : ["--help"]) {
        const r = run(cmd, flag);
        assert.equal(r.status, 0, `${cmd} ${flag}: ${r.stderr}`);
        assert.match(r.stdout, /usage:/, `${cmd} ${flag}`);
        assert.equal(r.stderr, "", `${cmd} ${flag}`);
      }
    }
    assert.match(run("show", "--help").stdout, /show tunnels[\s\S]*show peers[\s\S]*show vpdn/);
    assert.match(run("clear", "--help").stdout, /clear tunnel PEER/);
    assert.match(run("help").stdout, /show tunnels\|peers\|vpdn[\s\S]*clear tunnel PEER[\s\S]*Every command takes --help/);
  });

  test("a mistyped option, subcommand or word gets the nearest one; a wild one just the error", () => {
    const cases: [string[], RegExp][] = [
      [["show", "tunnels", "--jsn"], /^pptp-ts show: unknown option "--jsn" — did you mean --json\?\n/],
      [["show", "tunnels", "--sockt", "/x"], /unknown option "--sockt" — did you mean --socket\?/],
      [["clear", "all", "--sokcet=/x"], /unknown option "--sokcet" — did you mean --socket\?/],
      [["reload", "--confg", "x"], /unknown option "--confg" — did you mean --config\?/],
      [["server", "--debgu", "all"], /^pptp-ts server: unknown option "--debgu" — did you mean --debug\?\n/],
      [["check-config", "--confi", "x"], /unknown option "--confi" — did you mean --config\?/],
      [["connect", "vpn.example.com", "--usr", "a"], /unknown option "--usr" — did you mean --user\?/],
      [["connect", "vpn.example.com", "--mppe-strenghts", "128"], /unknown option "--mppe-strenghts" — did you mean --mppe-strengths\?/],
      [["show", "tunels"], /unknown "tunels" — did you mean "tunnels"\?/],
      [["shwo", "peers"], /unknown command "shwo" — did you mean "show"\?/],
      [["clear", "tunel", "10.0.0.1"], /did you mean "tunnel"\?/],
    ];
    for (const [args, re] of cases) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(" "));
    }
    const wild = run("show", "tunnels", "--frobnicate");
    assert.equal(wild.status, 2);
    assert.match(wild.stderr, /unknown option "--frobnicate"\n/);
    assert.match(run("server", "-c").stderr, /--config needs a value/);
    assert.match(run("show", "tunnels", "--json=yes").stderr, /--json takes no value/);
  });
});

describe("a dial-out-only process answers on its control socket (root: a network namespace)", () => {
  test("`pptp-ts connect -c FILE` writes its log in the file's [log] format (json)", { skip: privilegedSkip("a dial-out process in its own network namespace"), timeout: 60_000 }, async () => {
    const { spawn } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "pptpts-dialout-json-"));
    const conf = join(dir, "pptp-ts.conf");
    writeFileSync(conf, "[server]\nenable = no\ncontrol-socket = ctl.sock\n[log]\nformat = json\n[peer hq]\nrole = client\nremote = 127.0.0.1\nport = 1\nuser = alice\npassword = pw1\nreconnect-delay = 30\n");
    const ns = `pptpts-dialjson-${process.pid}`;
    spawnSync("ip", ["netns", "add", ns]);
    let err = "";
    const p = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, "connect", "-c", conf], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    p.stderr!.on("data", (d) => (err += d));
    try {
      spawnSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
      await waitFor(() => /redialling in/.test(err), 20_000).catch(() => assert.fail(err));
      const lines = err.split("\n").filter((l) => l.length > 0);
      const redial = lines.find((l) => /redialling in/.test(l))!;
      const rec = JSON.parse(redial) as Record<string, unknown>;
      assert.equal(typeof rec["time"], "string", redial);
      assert.match(JSON.stringify(rec), /redialling in/);
    } finally {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (p.exitCode === null) p.kill("SIGKILL");
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
  for (const cmd of ["connect", "server"]) test(`\`pptp-ts ${cmd} -c FILE\` (no server role): show peers and show tunnels over the file's control socket`, { skip: privilegedSkip("a dial-out process in its own network namespace"), timeout: 60_000 }, async () => {
    const { spawn } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "pptpts-dialout-"));
    const conf = join(dir, "pptp-ts.conf");
    // Nothing listens on 127.0.0.1:1 in the namespace: the peer is refused and waits to redial.
    writeFileSync(conf, "[server]\nenable = no\ncontrol-socket = ctl.sock\n[peer hq]\nrole = client\nremote = 127.0.0.1\nport = 1\nuser = alice\npassword = pw1\nreconnect-delay = 30\n");
    const ns = `pptpts-dialout-${process.pid}`;
    spawnSync("ip", ["netns", "add", ns]);
    let out = "";
    const p = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, cmd, "-c", conf], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    p.stdout!.on("data", (d) => (out += d));
    p.stderr!.on("data", (d) => (out += d));
    try {
      spawnSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
      await waitFor(() => /redialling in/.test(out) && /control socket .*ctl\.sock/.test(out), 20_000).catch(() => assert.fail(out));
      const peers = await cli("show", "peers", "-c", conf);
      assert.equal(peers.code, 0, peers.stderr);
      assert.match(peers.stdout, /^PEER\s+STATE[^\n]*\nhq\s+retry-wait\s+127\.0\.0\.1\s+-\s+-\s+1\s+in [23]\d\.\d s\s+cannot reach the server 127\.0\.0\.1:1: connection refused/);
      const tunnels = await cli("show", "tunnels", "--json", "-c", conf);
      assert.equal(tunnels.code, 0, tunnels.stderr);
      assert.deepEqual(JSON.parse(tunnels.stdout), [], "no control connection while it waits");
      const sessions = await cli("show", "sessions", "-c", conf);
      assert.equal(sessions.code, 0, sessions.stderr);
      assert.match(sessions.stdout, /0 sessions\n$/);
    } finally {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (p.exitCode === null) p.kill("SIGKILL");
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
});
