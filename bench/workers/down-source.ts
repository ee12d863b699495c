/**
 * The workers bench's download source (runs in the server namespace, its own process so its CPU is not the
 * server's): UDP datagrams to every bench call's client address as fast as the kernel takes them, round robin. The
 * server namespace routes the bench network into the TUN device, whose steering program hands each datagram to the
 * worker owning that address: TUN read, MPPE encrypt, GRE send — the path every download takes. Stops on "stop" (or
 * stdin closing) and says how many it sent.
 */
import * as dgram from "node:dgram";
import { createInterface } from "node:readline";

export interface DownSourceArgs {
  /** The calls' client addresses (uint32). */
  readonly clients: readonly number[];
  /** IP datagram size in octets (UDP payload = size - 28). */
  readonly size: number;
}

const dotted = (a: number): string => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

function main(a: DownSourceArgs): void {
  const sock = dgram.createSocket("udp4");
  const payload = Buffer.alloc(a.size - 28, 0x5a);
  const to = a.clients.map(dotted);
  let sent = 0;
  let running = true;
  let inFlight = 0;
  // Bounded in-flight sends: dgram queues in user space when the kernel pushes back, and an unbounded queue only
  // measures memory.
  const pump = (): void => {
    while (running && inFlight < 256) {
      inFlight++;
      sock.send(payload, 9, to[sent % to.length], () => {
        inFlight--;
      });
      sent++;
    }
    if (running) setImmediate(pump);
  };
  sock.bind(0, () => {
    process.stdout.write(JSON.stringify({ event: "ready" }) + "\n");
    pump();
  });
  const stop = (): void => {
    if (!running) return;
    running = false;
    process.stdout.write(JSON.stringify({ event: "totals", sent }) + "\n");
    sock.close();
    process.exit(0);
  };
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (l) => l === "stop" && stop());
  rl.on("close", stop);
}

if (process.argv[2] !== undefined) main(JSON.parse(process.argv[2]) as DownSourceArgs);
