/**
 * The workers bench's server (runs in the server namespace): the control thread's multi-queue TUN queue and GRE
 * socket, N data-plane workers (src/io/workers), and the bench's calls handed to them round robin — the data plane
 * exactly as the server would run it once a call is up, without PPTP control or PPP negotiation (the bench calls
 * start with fixed stateless MPPE-128 keys, bench/workers/peer.ts). Commands on stdin, one JSON line each answer:
 * "stats" → ServerStats, "stop" → closes and exits.
 */
import { createInterface } from "node:readline";
import { GreSocket } from "../../src/io/gre-socket.js";
import { TunDevice } from "../../src/io/tun.js";
import { DataPlaneWorkers } from "../../src/io/workers/pool.js";
import { testKeys } from "./peer.js";
import type { ServerArgs, ServerStats } from "./protocol.js";

/** The bench's tunnel network: 10.234.0.0/16, the server at .0.1. */
export const BENCH_TUN_ADDRESS = 0x0aea0001;

async function main(a: ServerArgs): Promise<void> {
  const tun = TunDevice.open({ name: "pwb0", mtu: 1500, address: BENCH_TUN_ADDRESS, prefix: 16, multiQueue: true, txQueueLen: 1000 });
  const gre = GreSocket.open({ bindAddress: a.localIp });
  let controlGre = 0;
  gre.onBatch((b) => (controlGre += b.count));
  tun.onBatch(() => {});
  const workers = await DataPlaneWorkers.start({
    workers: a.workers,
    greSocketFd: gre.fd,
    tun: { fd: tun.fd, name: tun.name, mtu: 1500, address: BENCH_TUN_ADDRESS, prefix: 16 },
    bindAddress: a.localIp,
    onControl: () => {},
    onError: (owner, m) => process.stderr.write(`worker ${owner}: ${m}\n`),
  });
  let i = 0;
  for (const c of a.calls) {
    const k = testKeys(c.local);
    await workers.handOff(
      {
        localCallId: c.local,
        peerCallId: c.peer,
        peerIp: a.peerIp,
        localIp: a.localIp,
        clientIp: c.client,
        peerReceiveWindow: 64,
        initialSeq: 0,
        sendFlags: { acfc: false, pfc: false },
        mppe: { sendKey: k.serverSend, recvKey: k.serverRecv, bits: 128, stateless: true },
        maxIpOut: 1496,
      },
      (i++ % a.workers) + 1,
    );
  }
  const say = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + "\n");
  say({ event: "ready" });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === "stats") {
      const s = await workers.stats();
      const st: ServerStats = {
        ipIn: s.reduce((n, w) => n + w.calls.reduce((m, c) => m + c.ipIn, 0), 0),
        bytesIn: s.reduce((n, w) => n + w.calls.reduce((m, c) => m + c.bytesIn, 0), 0),
        ipOut: s.reduce((n, w) => n + w.calls.reduce((m, c) => m + c.ipOut, 0), 0),
        bytesOut: s.reduce((n, w) => n + w.calls.reduce((m, c) => m + c.bytesOut, 0), 0),
        droppedMppe: s.reduce((n, w) => n + w.calls.reduce((m, c) => m + c.droppedMppe, 0), 0),
        greLost: s.reduce((n, w) => n + w.calls.reduce((m, c) => m + c.greLost + c.greOutOfWindow, 0), 0),
        demux: s.map((w) => w.gre),
        perWorker: s.map((w) => w.calls.reduce((m, c) => m + c.ipIn, 0)),
      };
      say({ event: "stats", ...st, controlGre });
    } else if (line === "stop") break;
  }
  rl.close();
  await workers.close();
  gre.close();
  tun.close();
  say({ event: "stopped" });
}

if (process.argv[2] !== undefined) await main(JSON.parse(process.argv[2]) as ServerArgs);
