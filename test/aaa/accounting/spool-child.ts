/**
 * Child process for spool-crash.test.ts: adds records 1..total to a file spool (continuing after the last one a
 * previous run accepted) and delivers them over UDP to the parent, which answers "ack N". It prints "A n" once a
 * record is accepted (fsynced) and "DONE" once everything is delivered. The parent kills it with SIGKILL at random.
 */
import { createSocket } from "node:dgram";
import { openSpool } from "../../../src/io/spool-file.js";
import { SpoolRunner } from "../../../src/io/spool-runner.js";

const [path, portText, totalText, seedText] = process.argv.slice(2);
const port = Number(portText);
const total = Number(totalText);
let x = Number(seedText) >>> 0 || 1;
const rnd = (): number => {
  x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
  return x / 0x100000000;
};

const { spool, loaded } = openSpool<{ n: number }>(path, { maxRecords: 100_000, compactAfter: 16, retryMs: 20, retryMaxMs: 80 });
const sock = createSocket("udp4");
const waiting = new Map<number, (ok: boolean) => void>();
let attempt = 0;
sock.on("message", (m) => {
  const n = Number(m.toString().split(" ")[1]);
  waiting.get(n)?.(true);
});
const runner = new SpoolRunner(spool, (e) => new Promise<boolean>((resolve) => {
  // A new request per attempt (as a resent Accounting-Request has a new Identifier).
  const id = ++attempt;
  const t = setTimeout(() => { waiting.delete(e.record.n); resolve(false); }, 150);
  waiting.set(e.record.n, (ok) => { clearTimeout(t); waiting.delete(e.record.n); resolve(ok); });
  sock.send(`${e.record.n} ${id}`, port, "127.0.0.1");
}));

let next = loaded.nextSeq;
function addSome(): void {
  if (next > total) {
    void runner.drained(60_000).then((ok) => {
      process.stdout.write(ok ? "DONE\n" : "STUCK\n");
      sock.close();
      runner.close();
    });
    return;
  }
  const n = next++;
  spool.add({ n }, Date.now());
  process.stdout.write(`A ${n}\n`);
  runner.kick();
  setTimeout(addSome, Math.floor(rnd() * 6));
}
process.stdout.write(`S ${spool.pending}\n`);
runner.kick();
addSome();
