/**
 * The rooms of the TUN write queue and the GRE send queue (core/packet-room.ts; src/io/tun.ts TunTxQueue,
 * src/io/gre-demux.ts TxQueue), over fake native endpoints that record what they are handed (no root, no addon):
 * a packet built in a room is written from where it was built (no copy) and byte for byte, a room not taken
 * (a packet lost on the way) leaves nothing in the batch, a packet taken after something else was queued over its
 * room is written on its own, and a full queue is written before it gives a room.
 */
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { TunTxQueue } from "../../src/io/tun.js";
import { TxQueue } from "../../src/io/gre-demux.js";
import type { NativeTun } from "../../src/io/native.js";
import type { RawIpSocket } from "../../src/io/raw-socket.js";
import type { PacketRoom } from "../../src/core/packet-room.js";

interface Written {
  /** Packets as the kernel would get them, in order. */
  packets: Uint8Array[];
  /** Where each packet of a batch was in the buffer handed over (-1: written on its own). */
  offsets: number[];
  batches: number;
}

function fakeTun(): { tun: NativeTun; w: Written } {
  const w: Written = { packets: [], offsets: [], batches: 0 };
  const tun = {
    write(buf: Uint8Array, off: number, len: number): number {
      w.packets.push(buf.slice(off, off + len));
      w.offsets.push(-1);
      return len;
    },
    writeBatch(buf: Uint8Array, offs: Uint32Array, lens: Uint32Array, n: number): number {
      w.batches++;
      for (let i = 0; i < n; i++) {
        w.packets.push(buf.slice(offs[i], offs[i] + lens[i]));
        w.offsets.push(offs[i]);
      }
      return n;
    },
  };
  return { tun: tun as unknown as NativeTun, w };
}

function fakeRaw(): { sock: RawIpSocket; w: Written } {
  const w: Written = { packets: [], offsets: [], batches: 0 };
  const sock = {
    isClosed: false,
    send(buf: Uint8Array, off: number, len: number): boolean {
      w.packets.push(buf.slice(off, off + len));
      w.offsets.push(-1);
      return true;
    },
    sendBatch(buf: Uint8Array, offs: Uint32Array, lens: Uint32Array, _dsts: Uint32Array, n: number): number {
      w.batches++;
      for (let i = 0; i < n; i++) {
        w.packets.push(buf.slice(offs[i], offs[i] + lens[i]));
        w.offsets.push(offs[i]);
      }
      return n;
    },
  };
  return { sock: sock as unknown as RawIpSocket, w };
}

function ipv4(len: number, tag: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = (i * 13 + tag) & 0xff;
  p[0] = 0x45;
  return p;
}

interface Queue extends PacketRoom {
  queue(buf: Uint8Array, off: number, len: number): boolean;
  flush(): void;
}

const queues: Array<[string, () => { q: Queue; w: Written }]> = [
  [
    "TUN write queue",
    () => {
      const { tun, w } = fakeTun();
      const q = new TunTxQueue(tun, () => false);
      return { q, w };
    },
  ],
  [
    "GRE send queue",
    () => {
      const { sock, w } = fakeRaw();
      const t = new TxQueue(sock);
      const q: Queue = {
        get bytes() {
          return t.bytes;
        },
        room: (len) => t.room(len),
        queue: (buf, off, len) => t.queue(buf, off, len, 0x0a000002, 0),
        flush: () => t.flush(),
      };
      return { q, w };
    },
  ],
];

describe("packets built in a queue's room", () => {
  for (const [name, make] of queues) {
    test(`${name}: built in place at every alignment and length, written from where they were built, byte for byte`, () => {
      const { q, w } = make();
      const sent: Uint8Array[] = [];
      const at: number[] = [];
      for (let i = 0; i < 300; i++) {
        const len = 20 + ((i * 97) % 1481);
        const lead = i % 8;
        const p = ipv4(len, i);
        if (i % 5 === 4) {
          // Now and then a packet copied in the ordinary way, between packets built in place.
          q.queue(p, 0, len);
          at.push(-2);
        } else {
          const r = q.room(lead + len);
          assert.ok(r >= 0);
          q.bytes.set(p, r + lead);
          q.queue(q.bytes, r + lead, len);
          at.push(r + lead);
        }
        sent.push(p);
      }
      q.flush();
      assert.equal(w.packets.length, sent.length);
      for (let i = 0; i < sent.length; i++) {
        assert.deepEqual(w.packets[i], sent[i], `packet ${i}`);
        if (at[i] >= 0) assert.equal(w.offsets[i], at[i], `packet ${i} was moved (copied)`);
      }
      assert.ok(w.offsets.every((o) => o >= 0), "every packet went in a batch");
    });

    test(`${name}: a room not taken (the packet was dropped on the way) leaves nothing behind`, () => {
      const { q, w } = make();
      const a = ipv4(600, 1);
      q.queue(a, 0, a.length);
      const r1 = q.room(1500);
      q.bytes.fill(0xee, r1, r1 + 1500); // half a datagram, then dropped: never handed to queue()
      const r2 = q.room(1500);
      assert.equal(r2, r1, "the same room again");
      const b = ipv4(700, 2);
      q.bytes.set(b, r2 + 6);
      q.queue(q.bytes, r2 + 6, b.length);
      q.flush();
      assert.deepEqual(w.packets, [a, b]);
      assert.equal(w.batches, 1);
    });

    test(`${name}: a packet whose room was queued over is written on its own; a full queue is written before the next room`, () => {
      const { q, w } = make();
      const r = q.room(800);
      const a = ipv4(800, 3);
      q.bytes.set(a, r);
      const other = ipv4(100, 4);
      q.queue(other, 0, other.length); // copied into the arena at r: a's bytes are partly gone
      q.queue(q.bytes, r, a.length);
      assert.equal(w.offsets.at(-1), -1, "written on its own, not taken into the batch");
      q.flush();
      assert.deepEqual(w.packets[0], other, "the packet queued in between went first, intact");
      assert.equal(w.packets.length, 2);
      w.packets.length = 0;
      w.offsets.length = 0;
      const before = w.batches;
      for (let i = 0; i < 64; i++) q.queue(ipv4(40, i), 0, 40);
      assert.equal(w.batches, before, "64 packets fit one batch");
      const r2 = q.room(1400);
      assert.equal(w.batches, before + 1, "the full queue was written before the room was given");
      assert.equal(r2, 0);
      assert.equal(q.room(1 << 20), -1, "no room larger than the arena");
    });
  }
});
