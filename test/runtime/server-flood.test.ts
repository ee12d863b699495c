/**
 * A connection flood from one address against the real server driver on loopback TCP: 300 connections that
 * complete SCCRQ and then sit idle, and 300 that trickle their SCCRQ one byte every 2 s, each reopened as soon
 * as it is closed — while an honest client (our own client engine) connects, authenticates and passes traffic.
 * The server must hold at most max-connections-per-address of them, end the ones that overstay, log the flood
 * in a few aggregated lines, and let the honest client in about as fast as without the flood.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { rig, dial, waitFor, sleep, settings, type Rig } from "./server-rig.js";
import { SEED_SCCRQ_WINDOWS } from "../pptp/fixtures.js";
import { fakeIpPacket } from "../support/random.js";
import { bytesEqual } from "../../src/wire/bytes.js";
import type { ServerConfig } from "../../src/config/config.js";
import * as net from "node:net";
import { parseControlMessage } from "../../src/wire/pptp-control.js";

const ATTACKER = "127.0.0.9";
const ATTACKER_IP = 0x7f000009;
const PER_ADDRESS = 16;

/**
 * The attacker, in a worker thread so that its own sockets do not share the server's event loop (a real attacker
 * is another host): one address opening `idle` + `slow` connections, interleaved, and reopening each one 250 ms
 * after the server closes it. Idle ones send a whole SCCRQ and then nothing; slow ones send one SCCRQ byte
 * every 2 s.
 */
const FLOOD_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const net = require("node:net");
const { port, from, idle, slow } = workerData;
const sccrq = Buffer.from(workerData.sccrq);
const st = { attempts: 0, held: 0, maxHeld: 0, established: 0, stopped: 0 };
let running = true;
const sockets = new Set();
const timers = new Set();
function later(ms, f) { const t = setTimeout(() => { timers.delete(t); f(); }, ms); timers.add(t); return t; }
function open(kind) {
  if (!running) return;
  st.attempts++;
  const s = net.connect({ host: "127.0.0.1", port, localAddress: from });
  sockets.add(s);
  let connected = false, got = 0, drip;
  s.on("connect", () => {
    connected = true; st.held++; st.maxHeld = Math.max(st.maxHeld, st.held);
    if (kind === "idle") s.write(sccrq);
    else { let i = 0; const next = () => { if (s.destroyed || i >= sccrq.length) return; s.write(sccrq.subarray(i, i + 1)); i++; drip = later(2000, next); }; next(); }
  });
  s.on("data", (d) => { const b = got; got += d.length; if (b < 156 && got >= 156) st.established++; if (b < 172 && got >= 172) st.stopped++; });
  s.on("error", () => {});
  s.on("close", () => { sockets.delete(s); if (drip) clearTimeout(drip); if (connected) st.held--; later(250, () => open(kind)); });
}
for (let i = 0; i < Math.max(idle, slow); i++) { if (i < idle) open("idle"); if (i < slow) open("slow"); }
parentPort.on("message", (m) => {
  if (m === "stats") parentPort.postMessage({ ...st });
  if (m === "stop") { running = false; for (const t of timers) clearTimeout(t); for (const s of sockets) s.destroy(); parentPort.postMessage({ ...st }); setTimeout(() => process.exit(0), 50); }
});
`;

interface FloodStats {
  attempts: number;
  held: number;
  maxHeld: number;
  established: number;
  stopped: number;
}

class Flood {
  private readonly w: Worker;
  constructor(port: number, idle: number, slow: number) {
    this.w = new Worker(FLOOD_WORKER, { eval: true, workerData: { port, from: ATTACKER, idle, slow, sccrq: SEED_SCCRQ_WINDOWS } });
  }
  private ask(m: string): Promise<FloodStats> {
    return new Promise((resolve) => this.w.once("message", resolve));
  }
  stats(): Promise<FloodStats> {
    const p = this.ask("stats");
    this.w.postMessage("stats");
    return p;
  }
  async stop(): Promise<FloodStats> {
    const p = this.ask("stop");
    this.w.postMessage("stop");
    const s = await p;
    await new Promise((r) => this.w.once("exit", r));
    return s;
  }
}

const floodSettings: ServerConfig = {
  ...settings,
  limits: { ...settings.limits, startTimeoutMs: 3000, noCallTimeoutMs: 3000, maxConnectionsPerAddress: PER_ADDRESS },
};

async function honest(r: Rig, from: string): Promise<number> {
  const c = dial(r, from, "alice", "pw1");
  await waitFor(() => c.up(), 15_000);
  const setup = c.setupMs()!;
  const address = r.server.sessions().find((x) => x.peer === from)!.address!;
  const up = fakeIpPacket(300, 1, address, "10.1.1.1");
  const before = r.tun.written.length;
  assert.ok(c.client.sendIp(c.now(), c.client.currentCallId!, up, 0, up.length));
  await waitFor(() => r.tun.written.length > before);
  assert.ok(bytesEqual(r.tun.written[r.tun.written.length - 1], up));
  const down = fakeIpPacket(1396, 2, "10.1.1.1", address); // the largest that fits MRU 1400 under MPPE
  r.tun.inject(down);
  await waitFor(() => c.ipIn.length > 0);
  assert.ok(bytesEqual(c.ipIn[0], down));
  c.hangUp();
  await waitFor(() => r.server.sessionCount === 0);
  return setup;
}

describe("connection flood from one address", () => {
  test("300 idle + 300 slow-SCCRQ connections: at most 16 held, honest client connects and passes traffic", { timeout: 60_000 }, async () => {
    const r = await rig(floodSettings);
    let flood: Flood | undefined;
    try {
      const baseline = await honest(r, "127.0.0.2");
      flood = new Flood(r.port, 300, 300);
      let serverMax = 0;
      const sampler = setInterval(() => (serverMax = Math.max(serverMax, r.server.defences.limits.openFrom(ATTACKER_IP))), 20);
      try {
        await sleep(2000);
        const during = await honest(r, "127.0.0.3");
        // Let the start and no-call deadlines (3 s) end what the flood holds, at least once each.
        await sleep(5000);
        const f = await flood.stats();
        const attemptsSoFar = f.attempts;
        console.log(
          `flood: ${f.attempts} connection attempts from ${ATTACKER}, at most ${serverMax} held by the server ` +
            `(${f.maxHeld} open at once as the attacker saw it, accept backlog included); ${f.established} got SCCRP, ` +
            `${f.stopped} were stopped for placing no call; honest client set-up ${baseline.toFixed(0)} ms before, ` +
            `${during.toFixed(0)} ms during the flood; refused ${r.server.defences.counters.connectionsRefused}, ` +
            `ended for overstaying ${r.server.defences.counters.connectionsExpired}`,
        );
        // Seen from the attacker: only a few generations of 16 ever got as far as an SCCRP (300 without limits).
        assert.ok(f.established < 100, `${f.established} attacker connections got an SCCRP`);
        assert.ok(attemptsSoFar > 1200, `the flood kept trying (${attemptsSoFar} attempts)`);
        assert.ok(serverMax <= PER_ADDRESS, `the server held ${serverMax} connections from one address (limit ${PER_ADDRESS})`);
        assert.ok(during < 3000, `honest client set up in ${during} ms during the flood`);
        assert.ok(f.stopped > 0, "idle established connections were stopped (StopCCRQ)");
        const log = r.lines.join("\n");
        assert.match(log, /no complete Start-Control-Connection-Request within 3 s \(start-timeout\)/);
        assert.match(log, /no call placed for 3 s \(no-call-timeout\)/);
        assert.match(log, /refused control connection from 127\.0\.0\.9/);
        // Thousands of attempts, a handful of lines: one per kind of refusal per address per interval, and one
        // per accepted connection (at most a few dozen were accepted).
        const attackerLines = r.lines.filter((l) => l.includes(ATTACKER));
        assert.ok(attackerLines.length < 20 * 12, `${attackerLines.length} log lines for ${attemptsSoFar} attempts`);
        const refusalLines = r.lines.filter((l) => /refused .*control connection/.test(l));
        assert.ok(refusalLines.length <= 6, `refusals logged in ${refusalLines.length} lines`);
      } finally {
        clearInterval(sampler);
      }
    } finally {
      await flood?.stop();
      await r.stop();
    }
  });
});

describe("what the server advertises", () => {
  test("SCCRP Maximum Channels is max-sessions (RFC 2637 §2.2), not 65535", async () => {
    const r = await rig({ ...settings, server: { ...settings.server, maxSessions: 7 } });
    try {
      const s = net.connect({ host: "127.0.0.1", port: r.port, localAddress: "127.0.0.7" });
      const chunks: Buffer[] = [];
      s.on("data", (d) => chunks.push(d));
      s.on("connect", () => s.write(SEED_SCCRQ_WINDOWS));
      await waitFor(() => Buffer.concat(chunks).length >= 156);
      s.destroy();
      const m = parseControlMessage(Buffer.concat(chunks).subarray(0, 156));
      assert.ok(m.ok && m.value.type === "SCCRP");
      assert.equal(m.value.type === "SCCRP" ? m.value.maximumChannels : -1, 7);
    } finally {
      await r.stop();
    }
  });
});
