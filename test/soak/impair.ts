/**
 * A userspace stand-in for `tc qdisc ... netem loss L% delay D J duplicate P%`, for kernels built without
 * sch_netem (CONFIG_NET_SCH_NETEM unset, as on the development VM). It runs in the "wan" namespace between the
 * server and the clients, where policy routing sends every forwarded packet into its TUN device; each packet it
 * reads is dropped with probability `loss`, otherwise written back to the TUN after `delay ± jitter` ms (uniform,
 * drawn per packet, so packets overtake each other exactly as netem's jitter reorders them), and with
 * probability `duplicate` a second copy is written after its own independent delay. The kernel then routes what
 * comes out of the TUN to its destination.
 *
 *   node impair.js '{"tun":"imp0","loss":0.05,"delayMs":25,"jitterMs":20,"duplicate":0.01}'
 *
 * It prints {"event":"ready"}, every 5 s {"event":"progress","lateMaxMs":N} (how late it wrote packets against
 * their due time: the stand-in for a kernel qdisc is a process, and on a busy machine it can be starved), and
 * on SIGTERM {"event":"final",...} with what it did: packets in, dropped, duplicated, written, and written out
 * of arrival order (per IP protocol: GRE 47, TCP 6).
 */
import { TunDevice } from "../../src/io/tun.js";

interface ImpairArgs {
  readonly tun: string;
  readonly loss: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly duplicate: number;
}

interface Held {
  due: number;
  /** Arrival order, to count reordering. */
  arrival: number;
  proto: number;
  pkt: Uint8Array;
}

/** A binary min-heap on `due`. */
class Heap {
  private a: Held[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Held | undefined {
    return this.a[0];
  }
  push(h: Held): void {
    const a = this.a;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].due <= a[i].due) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): Held | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].due < a[m].due) m = l;
        if (r < a.length && a[r].due < a[m].due) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

type Counts = { in: number; dropped: number; duplicated: number; written: number; reordered: number; writeErrors: number };
const zero = (): Counts => ({ in: 0, dropped: 0, duplicated: 0, written: 0, reordered: 0, writeErrors: 0 });

function main(a: ImpairArgs): void {
  const tun = TunDevice.open({ name: a.tun, mtu: 1500, address: "10.203.0.1", peer: "10.203.0.2", txQueueLen: 4000 });
  const heap = new Heap();
  const byProto = new Map<number, Counts>();
  const counts = (p: number): Counts => {
    let c = byProto.get(p);
    if (!c) byProto.set(p, (c = zero()));
    return c;
  };
  let arrivals = 0;
  /** How late packets leave against their due time (the impairer itself starved of CPU), per report period. */
  let lateMax = 0;
  let lateWorst = 0;
  let highestWritten = -1;
  let timer: NodeJS.Timeout | undefined;
  let timerDue = Infinity;
  const delay = () => Math.max(0, a.delayMs + (Math.random() * 2 - 1) * a.jitterMs);

  const flush = (): void => {
    timer = undefined;
    timerDue = Infinity;
    const now = performance.now();
    for (let h = heap.peek(); h && h.due <= now + 0.5; h = heap.peek()) {
      heap.pop();
      const late = now - h.due;
      if (late > lateMax) lateMax = late;
      const c = counts(h.proto);
      if (tun.write(h.pkt, 0, h.pkt.length)) c.written++;
      else c.writeErrors++;
      if (h.arrival < highestWritten) c.reordered++;
      else highestWritten = h.arrival;
    }
    arm();
  };
  const arm = (): void => {
    const h = heap.peek();
    if (!h || h.due >= timerDue) return;
    if (timer) clearTimeout(timer);
    timerDue = h.due;
    timer = setTimeout(flush, Math.max(0, h.due - performance.now()));
  };

  tun.onBatch((b) => {
    const now = performance.now();
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      // IPv4 protocol number; IPv6 (the kernel's own router solicitations and such) is counted apart.
      const proto = len >= 20 && b.data[off] >> 4 === 4 ? b.data[off + 9] : -6;
      const c = counts(proto);
      c.in++;
      const arrival = arrivals++;
      if (Math.random() < a.loss) {
        c.dropped++;
        continue;
      }
      const pkt = b.data.slice(off, off + len);
      heap.push({ due: now + delay(), arrival, proto, pkt });
      if (Math.random() < a.duplicate) {
        c.duplicated++;
        heap.push({ due: now + delay(), arrival, proto, pkt });
      }
    }
    arm();
  });
  tun.onError((e) => process.stderr.write(`impair: ${e.message}\n`));
  process.stdout.write(JSON.stringify({ event: "ready", tun: tun.name }) + "\n");
  // Event-loop lag: a 100 ms tick that comes late means packets waited unread in the TUN queue as long.
  let lastTick = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    const late = now - lastTick - 100;
    if (late > lateMax) lateMax = late;
    lastTick = now;
  }, 100);
  const report = setInterval(() => {
    process.stdout.write(JSON.stringify({ event: "progress", lateMaxMs: Math.round(lateMax), held: heap.size }) + "\n");
    if (lateMax > lateWorst) lateWorst = lateMax;
    lateMax = 0;
  }, 5000);
  process.once("SIGTERM", () => {
    const out: Record<string, Counts> = {};
    for (const [p, c] of byProto) out[p === 47 ? "gre" : p === 6 ? "tcp" : p === 17 ? "udp" : p === 1 ? "icmp" : p === -6 ? "ipv6" : `proto${p}`] = c;
    clearInterval(report);
    clearInterval(lag);
    process.stdout.write(JSON.stringify({ event: "final", held: heap.size, lateWorstMs: Math.round(Math.max(lateWorst, lateMax)), ...out }) + "\n");
    tun.close();
    process.exit(0);
  });
}

main(JSON.parse(process.argv[2] ?? "{}") as ImpairArgs);
