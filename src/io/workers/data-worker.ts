/**
 * A data-plane worker thread: one raw GRE socket whose kernel filter keeps only the Call IDs the steering map gives
 * this worker, one queue of the multi-queue TUN device whose steering program sends it the packets for its calls'
 * addresses, and the DataCalls handed to it (data-call.ts). The control thread talks to it over the MessagePort
 * protocol in protocol.ts. See README.md for the whole design.
 *
 *   GRE in:  socket batch → GreDemux (Call ID + peer address checks, as on the control thread) → DataCall
 *            → TUN queue write (IP) or a "control" message (any other PPP frame)
 *   IP in:   TUN queue batch → destination address → DataCall → GRE socket send
 */
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { GreDemux, type GreEndpoint } from "../gre-demux.js";
import { GreSocket } from "../gre-socket.js";
import { TunDevice } from "../tun.js";
import type { PacketBatch } from "../transport.js";
import type { GreHeader } from "../../wire/gre.js";
import { DataCall } from "./data-call.js";
import type { FromWorker, ToWorker, WorkerCallStats, WorkerSetup } from "./protocol.js";
import { steeringNative } from "./steering.js";

interface Held {
  readonly call: DataCall;
  readonly endpoint: GreEndpoint;
}

function callStats(c: DataCall): WorkerCallStats {
  return { callId: c.localCallId, ...c.stats, greLost: c.channel.stats.lost, greOutOfWindow: c.channel.stats.droppedOutOfWindow, greNextSendSeq: c.channel.nextSendSeq };
}

function run(setup: WorkerSetup): void {
  const port = parentPort!;
  const post = (m: FromWorker): void => port.postMessage(m);
  const now = (): number => performance.now();

  const sock = GreSocket.open({ bindAddress: setup.bindAddress });
  // The GRE filter of this owner: the kernel keeps for this socket only the Call IDs mapped to it.
  const n = steeringNative();
  const prog = n.greFilter(setup.callMapFd, setup.owner);
  try {
    n.attachSocketFilter(sock.fd, prog);
  } finally {
    n.closeFd(prog);
  }
  const demux = new GreDemux(sock, now);
  const t = setup.tun;
  const tun = TunDevice.open({
    name: t.name,
    mtu: t.mtu,
    address: t.address,
    ...(t.prefix !== undefined ? { prefix: t.prefix } : {}),
    ...(t.peer !== undefined ? { peer: t.peer } : {}),
    multiQueue: true,
  });
  const calls = new Map<number, Held>();
  const byAddress = new Map<number, DataCall>();
  let tunNoRoute = 0;
  let tunDropped = 0;

  tun.onBatch((b: PacketBatch) => {
    const ts = now();
    const d = b.data;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      if (len < 20 || d[off] >> 4 !== 4) {
        tunNoRoute++;
        continue;
      }
      const dst = ((d[off + 16] << 24) | (d[off + 17] << 16) | (d[off + 18] << 8) | d[off + 19]) >>> 0;
      const c = byAddress.get(dst);
      if (c === undefined) {
        tunNoRoute++;
        continue;
      }
      if (!c.sendIp(ts, d, off, len)) tunDropped++;
    }
  });
  tun.onError((e) => post({ type: "error", error: `TUN queue: ${e.message}` }));
  demux.onError((e) => post({ type: "error", error: `GRE socket: ${e.message}` }));

  // One timer for every call of this worker (GRE delayed acknowledgments, reorder gaps): never one per packet, and
  // none while the worker holds no call.
  let tick: NodeJS.Timeout | undefined;
  const serve = (): void => {
    const ts = now();
    for (const h of calls.values()) {
      const due = h.call.pollTimeout();
      if (due !== undefined && due <= ts) h.call.handleTimeout(ts);
    }
  };
  const retime = (): void => {
    if (calls.size > 0 && tick === undefined) tick = setInterval(serve, setup.tickMs);
    else if (calls.size === 0 && tick !== undefined) {
      clearInterval(tick);
      tick = undefined;
    }
  };

  // Calls handed back to the control thread whose GRE this worker still passes on (see "remove" in protocol.ts).
  const forwarding = new Set<number>();

  const add = (m: Extract<ToWorker, { type: "add" }>): void => {
    const h = m.call;
    if (forwarding.delete(h.localCallId)) demux.release(h.localCallId);
    try {
      if (calls.has(h.localCallId)) throw new Error(`call ${h.localCallId} is already on this worker`);
      const call = new DataCall(
        h,
        (buf, off, len) => demux.send(buf, off, len, h.peerIp, h.localIp),
        (buf, off, len) => {
          if (!tun.write(buf, off, len)) tunDropped++;
        },
        (frame) => post({ type: "control", callId: h.localCallId, frame }),
        demux.packetRoom,
        tun.packetRoom,
      );
      const endpoint: GreEndpoint = { receive: (ts: number, gh: GreHeader, data: Uint8Array) => call.receive(ts, data, gh), flush: () => {} };
      demux.register(h.localCallId, h.peerIp, endpoint, h.localIp);
      calls.set(h.localCallId, { call, endpoint });
      byAddress.set(h.clientIp >>> 0, call);
      // What waited behind a gap in the control thread's reorder buffer: in the channel before anything read here.
      if (h.held !== undefined) for (const p of h.held) call.receiveForwarded(now(), p);
      retime();
      post({ type: "added", callId: h.localCallId });
    } catch (e) {
      post({ type: "add-failed", callId: h.localCallId, error: (e as Error).message });
    }
  };

  const remove = (callId: number, forward: boolean): void => {
    const h = calls.get(callId);
    if (h === undefined) {
      post({ type: "removed", callId, stats: undefined });
      return;
    }
    const state = h.call.handBack();
    calls.delete(callId);
    demux.release(callId);
    if (byAddress.get(h.call.clientIp) === h.call) byAddress.delete(h.call.clientIp);
    retime();
    post({ type: "removed", callId, stats: callStats(h.call), state });
    if (forward) {
      // After "removed", so the control thread has the sequence state before the first packet it passes on.
      forwarding.add(callId);
      const peerIp = h.call.peerIp;
      demux.register(
        callId,
        peerIp,
        {
          receive: (_ts: number, gh: GreHeader, data: Uint8Array) =>
            post({
              type: "gre",
              callId,
              packet: { hasSeq: gh.hasSeq, seq: gh.seq, hasAck: gh.hasAck, ack: gh.ack, payload: data.slice(gh.payloadOffset, gh.payloadOffset + gh.payloadLength) },
            }),
          flush: () => {},
        },
        h.call.localIp,
      );
    }
  };

  port.on("message", (m: ToWorker) => {
    switch (m.type) {
      case "add":
        add(m);
        return;
      case "remove":
        remove(m.callId, m.forward === true);
        return;
      case "forget":
        if (forwarding.delete(m.callId)) demux.release(m.callId);
        return;
      case "frame":
        calls.get(m.callId)?.call.sendFrame(now(), m.frame);
        return;
      case "ip": {
        const c = calls.get(m.callId)?.call;
        if (c === undefined || !c.sendIp(now(), m.packet, 0, m.packet.length)) tunDropped++;
        return;
      }
      case "gre":
        calls.get(m.callId)?.call.receiveForwarded(now(), m.packet);
        return;
      case "stats":
        post({
          type: "stats",
          id: m.id,
          calls: [...calls.values()].map((h) => callStats(h.call)),
          gre: { ...demux.counters, tunNoRoute, tunDropped },
        });
        return;
      case "stop":
        for (const id of [...calls.keys()]) remove(id, false);
        sock.close();
        tun.close();
        port.close();
        return;
    }
  });
  post({ type: "ready", owner: setup.owner, queue: tun.name });
}

if (parentPort !== null && workerData !== null && typeof workerData === "object" && "owner" in workerData) {
  try {
    run(workerData as WorkerSetup);
  } catch (e) {
    parentPort.postMessage({ type: "error", error: (e as Error).message } satisfies FromWorker);
  }
}
