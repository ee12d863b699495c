/**
 * The soak test's traffic, run inside a network namespace as `node traffic.js ROLE JSON`:
 *
 *   send    (a client namespace) one UDP socket per tunnel, bound to the tunnel's address, sending `rate`
 *           datagrams a second to the flow's target behind the server, and checking the datagrams that come back
 *   reflect (the server namespace) receives every flow on UDP `port`, checks each datagram, and answers each one
 *           with a downstream datagram of its own sequence (so each direction is checked on its own)
 *
 * Both print JSON lines: {"event":"ready"}, {"event":"progress",...} every `reportMs`, and on SIGTERM (after a
 * short drain for datagrams still in flight) {"event":"final",...}, then exit.
 */
import * as dgram from "node:dgram";
import { buildDatagram, checkDatagram, MAX_DATAGRAM, SeqTracker } from "./datagram.js";

interface FlowSpec {
  readonly flow: number;
  /** The tunnel address on this side (the sender binds to it so the datagram takes that tunnel). */
  readonly local: string;
  readonly target: string;
}

interface SendArgs {
  readonly flows: readonly FlowSpec[];
  readonly rate: number;
  readonly port: number;
  readonly reportMs?: number;
}

interface ReflectArgs {
  readonly port: number;
  readonly reportMs?: number;
}

export interface FlowFigures {
  flow: number;
  sent: number;
  sendErrors: number;
  received: number;
  duplicates: number;
  reordered: number;
  corrupt: number;
  /** Milliseconds since the last datagram arrived (-1: none yet). */
  silentMs: number;
}

const DRAIN_MS = 800;
const print = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + "\n");

function figures(flow: number, sent: number, sendErrors: number, t: SeqTracker, lastRx: number): FlowFigures {
  return {
    flow,
    sent,
    sendErrors,
    received: t.received,
    duplicates: t.duplicates,
    reordered: t.reordered,
    corrupt: t.corrupt,
    silentMs: lastRx < 0 ? -1 : Math.round(performance.now() - lastRx),
  };
}

function onTerm(final: () => unknown, stop: () => void): void {
  process.once("SIGTERM", () => {
    stop();
    setTimeout(() => {
      print({ event: "final", ...(final() as object) });
      process.exit(0);
    }, DRAIN_MS);
  });
}

function send(a: SendArgs): void {
  const flows = a.flows.map((f) => ({ ...f, sock: dgram.createSocket("udp4"), seq: 0, sendErrors: 0, rx: new SeqTracker(), lastRx: -1, unknown: 0 }));
  let bound = 0;
  for (const f of flows) {
    f.sock.on("message", (m) => {
      const c = checkDatagram(m);
      if (!c.ok || c.flow !== f.flow || c.dir !== 1) {
        f.rx.corrupt++;
        process.stderr.write(`flow ${f.flow}: bad datagram from the tunnel: ${c.ok ? `flow ${c.flow} dir ${c.dir}` : c.why}\n`);
        return;
      }
      f.rx.record(c.seq);
      f.lastRx = performance.now();
    });
    f.sock.on("error", (e) => process.stderr.write(`flow ${f.flow}: ${e.message}\n`));
    f.sock.bind({ address: f.local, port: 0 }, () => {
      if (++bound === flows.length) print({ event: "ready" });
    });
  }
  const t0 = performance.now();
  let running = true;
  // Paced from the start time, not by interval ticks: a busy machine delays ticks but not the count.
  const pace = setInterval(() => {
    if (!running || bound < flows.length) return;
    const due = Math.floor(((performance.now() - t0) * a.rate) / 1000);
    for (const f of flows) {
      // After a stall, do not burst more than a second's worth at once.
      if (due - f.seq > a.rate) f.seq = due - a.rate;
      while (f.seq < due) {
        const seq = f.seq++;
        // A fresh buffer each time: dgram sends asynchronously and does not copy.
        const out = new Uint8Array(MAX_DATAGRAM);
        const len = buildDatagram(out, f.flow, seq, 0);
        try {
          f.sock.send(out.subarray(0, len), a.port, f.target, (e) => {
            if (e) f.sendErrors++;
          });
        } catch {
          f.sendErrors++;
        }
      }
    }
  }, 10);
  const all = () => ({ flows: flows.map((f) => figures(f.flow, f.seq, f.sendErrors, f.rx, f.lastRx)) });
  const report = setInterval(() => print({ event: "progress", ...all() }), a.reportMs ?? 5000);
  onTerm(all, () => {
    running = false;
    clearInterval(pace);
    clearInterval(report);
  });
}

function reflect(a: ReflectArgs): void {
  const sock = dgram.createSocket("udp4");
  const flows = new Map<number, { rx: SeqTracker; downSeq: number; sendErrors: number; lastRx: number }>();
  let unattributed = 0;
  sock.on("message", (m, rinfo) => {
    const c = checkDatagram(m);
    const flow = c.ok ? c.flow : c.flow;
    let f = flow !== undefined ? flows.get(flow) : undefined;
    if (!c.ok || c.dir !== 0) {
      if (f) f.rx.corrupt++;
      else unattributed++;
      process.stderr.write(`bad datagram from ${rinfo.address}:${rinfo.port}: ${c.ok ? `direction ${c.dir}` : c.why}\n`);
      return;
    }
    if (!f) flows.set(c.flow, (f = { rx: new SeqTracker(), downSeq: 0, sendErrors: 0, lastRx: -1 }));
    f.rx.record(c.seq);
    f.lastRx = performance.now();
    const out = new Uint8Array(MAX_DATAGRAM);
    const len = buildDatagram(out, c.flow, f.downSeq++, 1);
    const ff = f;
    sock.send(out.subarray(0, len), rinfo.port, rinfo.address, (e) => {
      if (e) ff.sendErrors++;
    });
  });
  sock.on("error", (e) => process.stderr.write(`reflector: ${e.message}\n`));
  sock.bind(a.port, () => print({ event: "ready" }));
  const all = () => ({
    unattributed,
    flows: [...flows].map(([flow, f]) => figures(flow, f.downSeq, f.sendErrors, f.rx, f.lastRx)),
  });
  const report = setInterval(() => print({ event: "progress", ...all() }), a.reportMs ?? 5000);
  onTerm(all, () => clearInterval(report));
}

const [role, json] = process.argv.slice(2);
const args = JSON.parse(json ?? "{}") as SendArgs & ReflectArgs;
if (role === "send") send(args);
else if (role === "reflect") reflect(args);
else {
  process.stderr.write(`usage: traffic.js send|reflect JSON\n`);
  process.exit(2);
}
