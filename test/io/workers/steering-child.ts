/**
 * Child process of steering.test.ts, run inside a fresh network namespace:
 *   ip netns exec <ns> node steering-child.js gre|tun
 * Prints one JSON line {"event":"result",...} and exits on its own. Run without a role it does nothing.
 */
import * as dgram from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";
import { GreSocket } from "../../../src/io/gre-socket.js";
import { TunDevice } from "../../../src/io/tun.js";
import { CallOwners, QueueOwners } from "../../../src/io/workers/steering.js";
import { enhancedGre } from "../packets.js";

const LOOPBACK = 0x7f000001;

/** Which Call IDs each of three GRE sockets (owners 0, 1, 2) receives, as the map changes. */
async function gre(): Promise<Record<string, unknown>> {
  const owners = new CallOwners();
  const got: number[][] = [[], [], []];
  const socks = [0, 1, 2].map((owner) => {
    const s = GreSocket.open();
    owners.attach(s.fd, owner);
    s.onBatch((b) => {
      for (let i = 0; i < b.count; i++) got[owner].push((b.data[b.offsets[i] + 6] << 8) | b.data[b.offsets[i] + 7]);
    });
    return s;
  });
  const sender = GreSocket.open({ pptpOnly: false });
  const send = (callId: number, protocol?: number): void => {
    const p = enhancedGre({ callId, seq: 1, ...(protocol !== undefined ? { protocol } : {}) }, new Uint8Array([0xff, 0x03, 0, 0x21]));
    sender.send(p, 0, p.length, LOOPBACK);
  };
  const round = async (): Promise<number[][]> => {
    for (const g of got) g.length = 0;
    send(100);
    send(200);
    send(300);
    send(100, 0x0800); // plain GRE carrying IPv4, not PPTP's: nobody keeps it
    send(400, 0x880b); // version check: see below (version 1 here, so owner 0 keeps it)
    await sleep(150);
    return got.map((g) => [...g].sort((a, b) => a - b));
  };
  owners.set(100, 1);
  owners.set(200, 2);
  const first = await round();
  owners.set(100, 2); // a call moved to another worker
  owners.delete(200); // a call back on the control thread
  const second = await round();
  const lookups = [owners.get(100), owners.get(200)];
  for (const s of [...socks, sender]) s.close();
  owners.close();
  return { first, second, lookups };
}

/** Which queue of a three-queue TUN device each destination's packets come out of, as the map changes. */
async function tun(): Promise<Record<string, unknown>> {
  const queues = [0, 1, 2].map(() => TunDevice.open({ name: "stq0", mtu: 1400, address: "10.77.0.1", prefix: 24, multiQueue: true }));
  const owners = new QueueOwners();
  owners.attach(queues[0].fd);
  const got: string[][] = [[], [], []];
  queues.forEach((q, k) =>
    q.onBatch((b) => {
      for (let i = 0; i < b.count; i++) {
        const o = b.offsets[i];
        if (b.data[o] >> 4 !== 4 || b.data[o + 9] !== 17) continue; // only our UDP (not IPv6 router solicitations)
        got[k].push(`${b.data[o + 16]}.${b.data[o + 17]}.${b.data[o + 18]}.${b.data[o + 19]}`);
      }
    }),
  );
  const udp = dgram.createSocket("udp4");
  const addr = (last: number): number => ((10 << 24) | (77 << 16) | last) >>> 0;
  const round = async (): Promise<string[][]> => {
    for (const g of got) g.length = 0;
    for (const last of [10, 11, 12]) {
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => udp.send(Buffer.from("x"), 9, `10.77.0.${last}`, () => r()));
    }
    await sleep(150);
    return got.map((g) => [...g].sort());
  };
  owners.set(addr(10), 1);
  owners.set(addr(11), 2);
  const first = await round();
  owners.set(addr(10), 2);
  owners.delete(addr(11));
  const second = await round();
  udp.close();
  for (const q of queues) q.close();
  owners.close();
  return { first, second };
}

const role = process.argv[2];
if (role === "gre" || role === "tun") {
  const r = await (role === "gre" ? gre() : tun());
  process.stdout.write(JSON.stringify({ event: "result", ...r }) + "\n");
}
