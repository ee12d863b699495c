/**
 * Child process of pool.test.ts, run inside a fresh network namespace: `ip netns exec <ns> node pool-child.js run`.
 * A control thread (this one) with its TUN queue 0 and GRE socket, two data-plane workers, two calls handed to
 * them, and a client on loopback sending and receiving their GRE. Prints one JSON result line.
 */
import * as dgram from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";
import { GreSocket } from "../../../src/io/gre-socket.js";
import { TunDevice } from "../../../src/io/tun.js";
import { DataPlaneWorkers } from "../../../src/io/workers/pool.js";
import type { CallHandoff } from "../../../src/io/workers/data-call.js";
import { FakePeer, testKeys, udpDatagram } from "../../../bench/workers/peer.js";
import { GreHeader, parseGreHeader } from "../../../src/wire/gre.js";
import type { ForwardedGre } from "../../../src/io/workers/protocol.js";

const LOOPBACK = 0x7f000001;
const SERVER = 0x0a4e0001; // 10.78.0.1
const net = (last: number): number => (0x0a4e0000 | last) >>> 0;

async function run(): Promise<Record<string, unknown>> {
  const tun = TunDevice.open({ name: "pwq0", mtu: 1400, address: SERVER, prefix: 24, multiQueue: true });
  const mainGre = GreSocket.open();
  const mainSaw: number[] = [];
  mainGre.onBatch((b) => {
    for (let i = 0; i < b.count; i++) mainSaw.push((b.data[b.offsets[i] + 6] << 8) | b.data[b.offsets[i] + 7]);
  });
  const mainTun: string[] = [];
  tun.onBatch((b) => {
    for (let i = 0; i < b.count; i++) if (b.data[b.offsets[i]] >> 4 === 4) mainTun.push(String(b.data[b.offsets[i] + 19]));
  });
  const control: Array<[number, number[]]> = [];
  const workers = await DataPlaneWorkers.start({
    workers: 2,
    greSocketFd: mainGre.fd,
    tun: { fd: tun.fd, name: tun.name, mtu: 1400, address: SERVER, prefix: 24 },
    onControl: (callId, frame) => control.push([callId, [...frame]]),
  });

  const calls = [
    { local: 100, peer: 501, client: net(10), owner: 1 },
    { local: 201, peer: 502, client: net(11), owner: 2 },
  ];
  const peers = new Map(calls.map((c) => [c.peer, new FakePeer(c.local, c.peer, testKeys(c.local))]));
  const owners: number[] = [];
  for (const c of calls) {
    const k = testKeys(c.local);
    const h: CallHandoff = {
      localCallId: c.local,
      peerCallId: c.peer,
      peerIp: LOOPBACK,
      localIp: LOOPBACK,
      clientIp: c.client,
      peerReceiveWindow: 64,
      initialSeq: 10,
      sendFlags: { acfc: false, pfc: false },
      mppe: { sendKey: k.serverSend, recvKey: k.serverRecv, bits: 128, stateless: true },
      maxIpOut: 1396,
    };
    owners.push(await workers.handOff(h, c.owner));
  }

  // The client: one raw GRE socket (it sees all GRE on loopback; it keeps what is keyed with its Call IDs).
  const client = GreSocket.open();
  const clientGot: Array<{ callId: number; seq: number | undefined; protocol: number | undefined; text: string }> = [];
  client.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const id = (b.data[off + 6] << 8) | b.data[off + 7];
      const p = peers.get(id);
      if (p === undefined) continue;
      const r = p.read(b.data, off, b.lengths[i]);
      if (r?.seq === undefined) continue; // acknowledgment-only
      const text = r.protocol === 0x0021 && r.payload ? Buffer.from(r.payload.subarray(28)).toString() : "";
      clientGot.push({ callId: id, seq: r.seq, protocol: r.protocol, text });
    }
  });

  // Upstream: each client sends two datagrams to a UDP socket on the server's tunnel address.
  const sink = dgram.createSocket("udp4");
  const sinkGot: string[] = [];
  sink.on("message", (m, rinfo) => sinkGot.push(`${rinfo.address}:${m.toString()}`));
  await new Promise<void>((r) => sink.bind(5555, "10.78.0.1", () => r()));
  for (const c of calls) {
    const p = peers.get(c.peer)!;
    for (const word of ["one", "two"]) {
      const pkt = p.ip(udpDatagram(c.client, SERVER, 6000, 5555, Buffer.from(`${c.local}-${word}`)));
      client.send(pkt, 0, pkt.length, LOOPBACK);
    }
  }
  // Downstream: the server side sends one datagram to each client address (routed into the TUN device).
  for (const c of calls) {
    await new Promise<void>((r) => sink.send(Buffer.from(`to-${c.local}`), 6000, `10.78.0.${c.client & 0xff}`, () => r()));
  }
  // Control: an LCP Echo-Request from the first client reaches the control thread; its reply goes out via worker 1.
  const p0 = peers.get(501)!;
  const echo = p0.frame(new Uint8Array([0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0]));
  client.send(echo, 0, echo.length, LOOPBACK);
  await sleep(300);
  workers.sendFrame(100, new Uint8Array([0xff, 0x03, 0xc0, 0x21, 0x0a, 0x01, 0x00, 0x08, 0, 0, 0, 0]));
  await sleep(200);
  const stats = await workers.stats();
  const mainSawBefore = [...new Set(mainSaw)].sort((a, b) => a - b);
  // Back from worker 1: from now on the control thread's socket gets Call ID 100.
  const back = await workers.takeBack(100);
  const late = p0.ip(udpDatagram(net(10), SERVER, 6000, 5555, Buffer.from("late")));
  client.send(late, 0, late.length, LOOPBACK);
  await sleep(200);
  await workers.close();
  sink.close();
  for (const s of [client, mainGre, tun]) s.close();
  return {
    owners,
    sinkGot: sinkGot.sort(),
    clientGot,
    control,
    perWorker: stats.map((s) => ({ owner: s.owner, calls: s.calls.map((c) => ({ callId: c.callId, ipIn: c.ipIn, ipOut: c.ipOut, controlIn: c.controlIn, controlOut: c.controlOut })) })),
    mainSawBefore,
    mainSawAfter100: mainSaw.includes(100),
    mainTun,
    back: back?.stats && { ipIn: back.stats.ipIn, ipOut: back.stats.ipOut },
  };
}

/**
 * A worker dies and one call is taken back while its packets are in flight. Two workers, call 100 on worker 1,
 * call 201 on worker 2. Worker 1 is killed: the pool reports call 100 lost and starts a new worker 1, which attaches
 * as the last TUN queue while the kernel moved worker 2's queue into the dead one's index; call 300 then goes to the
 * new worker 1 (fewest calls). IP both ways must work on 201 (survivor, remapped queue) and 300 (new worker).
 * Then call 201 is taken back with `forward` right after a burst of its GRE: every packet is either counted by the
 * worker or passed on to the control thread, none is lost in between.
 */
async function death(): Promise<Record<string, unknown>> {
  const tun = TunDevice.open({ name: "pwq0", mtu: 1400, address: SERVER, prefix: 24, multiQueue: true });
  const mainGre = GreSocket.open();
  const mainSaw: number[] = [];
  mainGre.onBatch((b) => {
    for (let i = 0; i < b.count; i++) mainSaw.push((b.data[b.offsets[i] + 6] << 8) | b.data[b.offsets[i] + 7]);
  });
  const mainTun: string[] = [];
  tun.onBatch((b) => {
    for (let i = 0; i < b.count; i++) if (b.data[b.offsets[i]] >> 4 === 4) mainTun.push(String(b.data[b.offsets[i] + 19]));
  });
  const lost: Array<[number, number[]]> = [];
  const restarted: Array<[number, string | undefined]> = [];
  const steering: string[] = [];
  const errors: string[] = [];
  let forwarded = 0;
  const workers = await DataPlaneWorkers.start({
    workers: 2,
    greSocketFd: mainGre.fd,
    tun: { fd: tun.fd, name: tun.name, mtu: 1400, address: SERVER, prefix: 24 },
    onControl: () => {},
    onGre: (callId, p) => {
      if (callId === 201 && p.hasSeq) forwarded++;
    },
    onWorkerLost: (owner, ids) => lost.push([owner, [...ids]]),
    onWorkerRestarted: (owner, error) => restarted.push([owner, error]),
    onSteering: (owner, m) => steering.push(`${owner}: ${m}`),
    onError: (owner, m) => errors.push(`${owner}: ${m}`),
  });
  const handoff = (local: number, peer: number, client: number): CallHandoff => {
    const k = testKeys(local);
    return {
      localCallId: local,
      peerCallId: peer,
      peerIp: LOOPBACK,
      localIp: LOOPBACK,
      clientIp: client,
      peerReceiveWindow: 64,
      initialSeq: 10,
      sendFlags: { acfc: false, pfc: false },
      mppe: { sendKey: k.serverSend, recvKey: k.serverRecv, bits: 128, stateless: true },
      maxIpOut: 1396,
    };
  };
  const calls = [
    { local: 100, peer: 501, client: net(10) },
    { local: 201, peer: 502, client: net(11) },
    { local: 300, peer: 503, client: net(12) },
  ];
  const peers = new Map(calls.map((c) => [c.peer, new FakePeer(c.local, c.peer, testKeys(c.local))]));
  await workers.handOff(handoff(100, 501, net(10)), 1);
  await workers.handOff(handoff(201, 502, net(11)), 2);

  await workers.killWorker(1);
  await sleep(100);
  await workers.settled();
  const ownerOf100 = workers.ownerOf(100);
  const owner300 = await workers.handOff(handoff(300, 503, net(12)));

  const client = GreSocket.open();
  const clientGot: string[] = [];
  client.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const id = (b.data[off + 6] << 8) | b.data[off + 7];
      const p = peers.get(id);
      if (p === undefined) continue;
      const r = p.read(b.data, off, b.lengths[i]);
      if (r?.protocol === 0x0021 && r.payload) clientGot.push(Buffer.from(r.payload.subarray(28)).toString());
    }
  });
  const sink = dgram.createSocket("udp4");
  const sinkGot: string[] = [];
  sink.on("message", (m) => sinkGot.push(m.toString()));
  await new Promise<void>((r) => sink.bind(5555, "10.78.0.1", () => r()));
  for (const c of calls.slice(1)) {
    const p = peers.get(c.peer)!;
    const pkt = p.ip(udpDatagram(c.client, SERVER, 6000, 5555, Buffer.from(`up-${c.local}`)));
    client.send(pkt, 0, pkt.length, LOOPBACK);
    await new Promise<void>((r) => sink.send(Buffer.from(`down-${c.local}`), 6000, `10.78.0.${c.client & 0xff}`, () => r()));
  }
  await sleep(300);
  const after = await workers.stats();

  // The take-back with forward, and at once a burst of call 201's GRE: the kernel still steers it to the worker,
  // which reads some before the "remove" message and the rest after, when it no longer runs the call.
  const p201 = peers.get(502)!;
  const BURST = 40;
  let state: unknown;
  // The burst's first packet is held back until the call has left the worker: the rest wait behind that gap in the
  // worker's reorder buffer (its gap time-out is 50 ms) and must come to the control thread with the state.
  const burst = Array.from({ length: BURST }, (_, i) => p201.ip(udpDatagram(net(11), SERVER, 6000, 5555, Buffer.from(`burst-${i}`))));
  // Half of it reaches the worker before the "remove" message, half after (the worker then forwards it).
  for (const pkt of burst.slice(1, BURST / 2)) client.send(pkt, 0, pkt.length, LOOPBACK);
  const pending = workers.takeBack(201, { onState: (t) => (state = t.state) });
  for (const pkt of burst.slice(BURST / 2)) client.send(pkt, 0, pkt.length, LOOPBACK);
  const back = await pending;
  const heldBack = (state as { held?: unknown[] } | undefined)?.held?.length ?? 0;
  client.send(burst[0], 0, burst[0].length, LOOPBACK); // now steered to the control thread's socket (mainSaw)
  await sleep(300);
  const ipInBefore = after.find((w) => w.owner === 2)?.calls.find((c) => c.callId === 201)?.ipIn ?? 0;

  await workers.close();
  sink.close();
  for (const s of [client, mainGre, tun]) s.close();
  return {
    lost,
    restarted,
    steering,
    errors: errors.filter((e) => !/exited with code/.test(e)),
    ownerOf100,
    owner300,
    clientGot: clientGot.sort(),
    sinkGot: sinkGot.filter((t) => t.startsWith("up-")).sort(),
    mainTun,
    perWorker: after.map((w) => ({ owner: w.owner, calls: w.calls.map((c) => c.callId) })),
    burst: BURST - 1,
    heldBack,
    burstOnWorker: (back?.stats?.ipIn ?? 0) - ipInBefore,
    forwarded,
    stateSeq: (state as { gre?: { nextSendSeq: number } } | undefined)?.gre?.nextSendSeq,
    mainSaw100: mainSaw.includes(100),
  };
}

/**
 * A hand-off with packets out of order (worker-calls.ts): the control thread's channel expected sequence 0 and held
 * 2 and 3 behind it (CallHandoff.held); 1 was still queued on its socket (forwardGre, after the "add"); 4 and 5
 * come on the wire to the worker. The worker's thread must deliver 0..5 into the TUN queue in order, once.
 */
async function handoff(): Promise<Record<string, unknown>> {
  const tun = TunDevice.open({ name: "pwq0", mtu: 1400, address: SERVER, prefix: 24, multiQueue: true });
  const mainGre = GreSocket.open();
  const workers = await DataPlaneWorkers.start({
    workers: 1,
    greSocketFd: mainGre.fd,
    tun: { fd: tun.fd, name: tun.name, mtu: 1400, address: SERVER, prefix: 24 },
    onControl: () => {},
  });
  const k = testKeys(100);
  const peer = new FakePeer(100, 501, k);
  const pkts = Array.from({ length: 6 }, (_, i) => peer.ip(udpDatagram(net(10), SERVER, 6000, 5555, Buffer.from(`p${i}`))));
  const gh = new GreHeader();
  const fwd = (pkt: Uint8Array): ForwardedGre => {
    if (!parseGreHeader(pkt, 0, pkt.length, gh).ok) throw new Error("bad GRE");
    return { hasSeq: gh.hasSeq, seq: gh.seq, hasAck: gh.hasAck, ack: gh.ack, payload: pkt.slice(gh.payloadOffset, gh.payloadOffset + gh.payloadLength) };
  };
  const sink = dgram.createSocket("udp4");
  const sinkGot: string[] = [];
  sink.on("message", (m) => sinkGot.push(m.toString()));
  await new Promise<void>((r) => sink.bind(5555, "10.78.0.1", () => r()));
  const pending = workers.handOff({
    localCallId: 100,
    peerCallId: 501,
    peerIp: LOOPBACK,
    localIp: LOOPBACK,
    clientIp: net(10),
    peerReceiveWindow: 64,
    initialSeq: 10,
    gre: { nextSendSeq: 10, acked: 9, rxExpected: 0 },
    sendFlags: { acfc: false, pfc: false },
    mppe: { sendKey: k.serverSend, recvKey: k.serverRecv, bits: 128, stateless: true },
    maxIpOut: 1396,
    held: [fwd(pkts[2]), fwd(pkts[3])],
  });
  const forwarded = workers.forwardGre(100, fwd(pkts[1]));
  await pending;
  const client = GreSocket.open();
  for (const k of [0, 4, 5]) client.send(pkts[k], 0, pkts[k].length, LOOPBACK);
  await sleep(300);
  const stats = await workers.stats();
  await workers.close();
  sink.close();
  for (const s of [client, mainGre, tun]) s.close();
  const c = stats[0]?.calls.find((x) => x.callId === 100);
  return { forwarded, sinkGot, ipIn: c?.ipIn, greLost: c?.greLost };
}

if (process.argv[2] === "handoff") {
  const r = await handoff();
  process.stdout.write(JSON.stringify({ event: "result", ...r }) + "\n");
}
if (process.argv[2] === "run") {
  const r = await run();
  process.stdout.write(JSON.stringify({ event: "result", ...r }) + "\n");
}
if (process.argv[2] === "death") {
  const r = await death();
  process.stdout.write(JSON.stringify({ event: "result", ...r }) + "\n");
}
