/**
 * Worker role "tun-tcp": a minimal TCP peer behind a TunDevice (run inside a network namespace by worker.ts).
 * The kernel's socket in this namespace talks to 10.207.net.2, which is us, crafting packets on the TUN:
 *  - up: after a handshake, `segments` data segments are written in one turn (the offload modes coalesce them
 *    into super-packets) and the kernel's socket must receive exactly those bytes;
 *  - down: the socket sends `downBytes`; every packet read from the TUN (a TSO super-packet cut in native code,
 *    or a plain packet) must have right IP and TCP checksums by the independent computation below, and the bytes
 *    arrive in order. We ACK what we got so the kernel keeps sending.
 */
import { createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import { TunDevice, type TunOffloadName } from "../../src/io/tun.js";

function inetSum(b: Uint8Array, off: number, len: number, sum = 0): number {
  for (let i = 0; i < len; i += 2) sum += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function tcpSum(p: Uint8Array, off: number, len: number): number {
  const ihl = (p[off] & 15) * 4;
  const tl = len - ihl;
  let s = inetSum(p, off + 12, 8);
  s += 6 + tl;
  return inetSum(p, off + ihl, tl, s);
}

interface Pkt {
  seq: number;
  ack: number;
  flags: number;
  payload?: Uint8Array;
  mss?: number;
}

function craft(p: Pkt, src: number[], dst: number[], sport: number, dport: number): Uint8Array {
  const opt = p.mss === undefined ? [] : [2, 4, p.mss >> 8, p.mss & 0xff];
  const thl = 20 + opt.length;
  const data = p.payload ?? new Uint8Array(0);
  const b = new Uint8Array(20 + thl + data.length);
  const v = new DataView(b.buffer);
  b.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, ...src, ...dst]);
  v.setUint16(2, b.length);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint32(24, p.seq >>> 0);
  v.setUint32(28, p.ack >>> 0);
  b[32] = (thl / 4) << 4;
  b[33] = p.flags;
  v.setUint16(34, 65535);
  b.set(opt, 40);
  b.set(data, 20 + thl);
  v.setUint16(10, ~inetSum(b, 0, 20) & 0xffff);
  v.setUint16(36, ~tcpSum(b, 0, b.length) & 0xffff);
  return b;
}

export async function tunTcp(a: Record<string, unknown>): Promise<Record<string, unknown>> {
  const offload = String(a.offload) as TunOffloadName;
  const segments = Number(a.segments);
  const downBytes = Number(a.downBytes);
  // Each run its own addresses: a socket of an earlier run may linger on the same four-tuple.
  const net = Number(a.net);
  const tun = TunDevice.open({ name: String(a.name), mtu: 1400, address: `10.207.${net}.1`, peer: `10.207.${net}.2`, offload });
  const local = [10, 207, net, 1];
  const peer = [10, 207, net, 2];
  const port = 5001;
  const sport = 40000;
  const mss = 1360;

  const received: Buffer[] = [];
  let conn: Socket | undefined;
  const server = createServer((s) => {
    conn = s;
    s.on("data", (d) => received.push(d));
  });
  await new Promise<void>((r) => server.listen(port, `10.207.${net}.1`, r));

  // What the kernel sends us.
  let theirSeq = 0;
  let synAck = false;
  let badChecksums = 0;
  let packetsIn = 0;
  let largestIn = 0;
  const down: Uint8Array[] = [];
  let downNext = 0;
  let outOfOrder = 0;
  const mySeq0 = 1000;
  let mySeq = mySeq0;
  const send = (p: Pkt): void => {
    tun.write(craft(p, peer, local, sport, port), 0, 20 + 20 + (p.mss === undefined ? 0 : 4) + (p.payload?.length ?? 0));
  };
  tun.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      const o = b.offsets[i];
      const len = b.lengths[i];
      const d = b.data;
      if (len < 40 || d[o] >> 4 !== 4 || d[o + 9] !== 6) continue;
      packetsIn++;
      largestIn = Math.max(largestIn, len);
      if (inetSum(d, o, (d[o] & 15) * 4) !== 0xffff || tcpSum(d, o, len) !== 0xffff) badChecksums++;
      const v = new DataView(d.buffer, d.byteOffset + o, len);
      const ihl = (d[o] & 15) * 4;
      const flags = d[o + ihl + 13];
      const seq = v.getUint32(ihl + 4);
      const thl = (d[o + ihl + 12] >> 4) * 4;
      if (flags & 0x02) {
        theirSeq = (seq + 1) >>> 0;
        downNext = theirSeq;
        synAck = true;
        continue;
      }
      const n = len - ihl - thl;
      if (n > 0) {
        if (seq === downNext) {
          down.push(Uint8Array.from(d.subarray(o + ihl + thl, o + len)));
          downNext = (downNext + n) >>> 0;
        } else outOfOrder++;
        send({ seq: mySeq, ack: downNext, flags: 0x10 });
      }
    }
  });

  send({ seq: mySeq - 1, ack: 0, flags: 0x02, mss });
  for (let i = 0; i < 100 && !synAck; i++) await sleep(20);
  if (!synAck) throw new Error("no SYN-ACK from the kernel");
  send({ seq: mySeq, ack: theirSeq, flags: 0x10 });
  for (let i = 0; i < 100 && conn === undefined; i++) await sleep(20);

  // Up: all segments written in one turn (the last with PSH).
  const sent = new Uint8Array(segments * mss);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 9)) & 0xff;
  for (let k = 0; k < segments; k++) {
    send({ seq: mySeq, ack: theirSeq, flags: k === segments - 1 ? 0x18 : 0x10, payload: sent.subarray(k * mss, (k + 1) * mss) });
    mySeq += mss;
  }
  const upGot = (): number => received.reduce((n, b) => n + b.length, 0);
  for (let i = 0; i < 150 && upGot() < sent.length; i++) await sleep(20);
  const upOk = Buffer.concat(received).equals(Buffer.from(sent));

  // Down: the socket sends; we read, check and ACK.
  const downData = Buffer.alloc(downBytes);
  for (let i = 0; i < downBytes; i++) downData[i] = (i * 13 + (i >> 10)) & 0xff;
  conn?.write(downData);
  const downGot = (): number => down.reduce((n, b) => n + b.length, 0);
  for (let i = 0; i < 250 && downGot() < downBytes; i++) await sleep(20);
  const downOk = Buffer.concat(down).equals(downData);

  const off = tun.offloadStats();
  const stats = tun.stats();
  conn?.destroy();
  server.close();
  tun.close();
  return { offload: tun.offload, upOk, upBytes: upGot(), downOk, downBytes: downGot(), badChecksums, outOfOrder, packetsIn, largestIn, off, rxDropped: stats.rxDropped, txErrors: stats.txErrors };
}
