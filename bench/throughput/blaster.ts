/**
 * The bulk traffic of the throughput bench (main.ts), run inside a network namespace:
 *
 *   node blaster.js sink HOST PORT    accepts TCP connections on HOST:PORT and counts the bytes it reads; prints
 *                                     "listening", then, for every "mark" line on stdin, "mark BYTES" (the total so far)
 *   node blaster.js send HOST PORT    connects to HOST:PORT and writes 64 KB blocks as fast as TCP takes them
 *                                     until stdin closes or it is signalled
 *
 * TCP rather than UDP: its flow control makes the tunnel's slowest stage set the rate, nothing is dropped to be
 * counted later, and the sender costs the kernel a few large writes rather than one syscall per datagram. The
 * figure is what the sink read (TCP payload, i.e. goodput inside the tunnel), counted by the sink itself.
 */
import { createServer, connect } from "node:net";
import { createInterface } from "node:readline";

const BLOCK = 64 * 1024;

function sink(host: string, port: number): void {
  let bytes = 0;
  const server = createServer((s) => {
    s.on("data", (d: Buffer) => (bytes += d.length));
    s.on("error", () => {});
  });
  server.listen(port, host, () => process.stdout.write("listening\n"));
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (l) => {
    if (l.trim() === "mark") process.stdout.write(`mark ${bytes}\n`);
  });
  rl.on("close", () => process.exit(0));
}

function send(host: string, port: number): void {
  const block = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) block[i] = (i * 131) & 0xff; // not all zeros: nothing on the path compresses
  const s = connect({ host, port, noDelay: false });
  const pump = (): void => {
    while (s.write(block));
  };
  s.on("connect", () => {
    process.stdout.write("connected\n");
    pump();
  });
  s.on("drain", pump);
  s.on("error", (e) => {
    process.stderr.write(`send: ${e.message}\n`);
    process.exit(1);
  });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("close", () => process.exit(0));
}

const [mode, host, port] = process.argv.slice(2);
if (mode === "sink") sink(host, Number(port));
else if (mode === "send") send(host, Number(port));
else {
  process.stderr.write("usage: blaster.js sink|send HOST PORT\n");
  process.exit(2);
}
