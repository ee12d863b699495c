/**
 * Host-side end of the lab's TCP transfer checks (guest key xfer_mb=N), run
 * inside the lab's network namespace from a `pre` or `with` command (build the
 * command line with harness.ts peerCommand()):
 *
 *   lab-peer recv --port P [--host ADDR] [--count N] [--timeout S]
 *       TCP sink: for each connection prints
 *       LAB-PEER recv n=<k> from=<ip>:<port> bytes=<N> sha256=<hex> secs=<S>
 *       and closes its side once the peer has half-closed (the guest's lab-send
 *       waits for that, so its time covers delivery). Exits 0 after N
 *       connections, 2 when the timeout comes first.
 *   lab-peer close --port P [--host ADDR]
 *       Accepts TCP connections and closes each at once, printing
 *       LAB-PEER accept n=<k> from=<ip>:<port>; runs until stopped (a `pre`
 *       command is stopped by run.sh). A stand-in server that lets a test see
 *       the guest's client dial without any PPTP behind it.
 *   lab-peer send --to ADDR[,ADDR...] --port P --mb N [--timeout S]
 *       Sends N MiB of random bytes to each address in turn (connects are
 *       retried until the timeout: the guest may still be starting its
 *       listener), half-closes, waits for the peer to close, then prints
 *       LAB-PEER send to=<ip>:<port> bytes=<N> sha256=<hex> secs=<S>
 *       --to ready:<field> takes the addresses from that field of the LAB-READY
 *       line (env LAB_READY, set by run.sh for `with`), e.g. ready:local is
 *       every client's tunnel address ("-" entries, clients that are down, skipped).
 * Failures print "LAB-PEER error op=<op> ... msg=<text>" and exit 1.
 *
 * The guest side reports the same sha256 in its "xfer" result lines, so a test
 * compares the two ends (harness.ts parsePeer).
 */
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

const MIB = 1024 * 1024;

function say(line: string): void {
  process.stdout.write(`LAB-PEER ${line}\n`);
}

function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
    out.set(a.slice(2), v);
    i++;
  }
  return out;
}

function numberArg(args: Map<string, string>, name: string, dflt?: number): number {
  const v = args.get(name);
  if (v === undefined) {
    if (dflt === undefined) throw new Error(`--${name} is required`);
    return dflt;
  }
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

function recv(args: Map<string, string>): Promise<number> {
  const port = numberArg(args, "port");
  const host = args.get("host") ?? "0.0.0.0";
  const count = numberArg(args, "count", 1);
  const timeoutS = numberArg(args, "timeout", 300);
  return new Promise((resolve) => {
    let done = 0;
    let n = 0;
    const server = createServer((sock: Socket) => {
      const k = ++n;
      const hash = createHash("sha256");
      const t0 = performance.now();
      let bytes = 0;
      const from = `${sock.remoteAddress ?? "?"}:${sock.remotePort ?? 0}`;
      sock.on("data", (b: Buffer) => {
        bytes += b.length;
        hash.update(b);
      });
      sock.on("end", () => {
        const secs = (performance.now() - t0) / 1000;
        say(`recv n=${k} from=${from} bytes=${bytes} sha256=${hash.digest("hex")} secs=${secs.toFixed(2)}`);
        sock.end();
        if (++done >= count) {
          clearTimeout(timer);
          server.close(() => resolve(0));
        }
      });
      sock.on("error", (e: Error) => say(`error op=recv n=${k} from=${from} bytes=${bytes} msg=${JSON.stringify(e.message)}`));
    });
    const timer = setTimeout(() => {
      say(`error op=recv msg="timeout after ${timeoutS}s with ${done} of ${count} connections"`);
      server.close();
      resolve(2);
    }, timeoutS * 1000);
    server.on("error", (e: Error) => {
      say(`error op=recv msg=${JSON.stringify(e.message)}`);
      clearTimeout(timer);
      resolve(1);
    });
    server.listen(port, host, () => say(`listening host=${host} port=${port} count=${count}`));
  });
}

function acceptAndClose(args: Map<string, string>): Promise<number> {
  const port = numberArg(args, "port");
  const host = args.get("host") ?? "0.0.0.0";
  return new Promise((resolve) => {
    let n = 0;
    const server = createServer((sock: Socket) => {
      say(`accept n=${++n} from=${sock.remoteAddress ?? "?"}:${sock.remotePort ?? 0}`);
      sock.destroy();
    });
    server.on("error", (e: Error) => {
      say(`error op=close msg=${JSON.stringify(e.message)}`);
      resolve(1);
    });
    server.listen(port, host, () => say(`listening host=${host} port=${port}`));
  });
}

function connectOnce(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", reject);
  });
}

async function sendOne(host: string, port: number, data: Buffer, sha: string, deadline: number): Promise<boolean> {
  let sock: Socket | undefined;
  let lastError = "";
  while (sock === undefined) {
    try {
      sock = await connectOnce(host, port);
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
      if (performance.now() > deadline) {
        say(`error op=send to=${host}:${port} msg=${JSON.stringify(`connect: ${lastError}`)}`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const s = sock;
  const t0 = performance.now();
  return new Promise((resolve) => {
    let failed = false;
    s.on("error", (e: Error) => {
      failed = true;
      say(`error op=send to=${host}:${port} msg=${JSON.stringify(e.message)}`);
    });
    s.on("data", () => {
      // the sink sends nothing; its close (end) is what we wait for
    });
    s.on("close", () => {
      if (!failed) {
        const secs = (performance.now() - t0) / 1000;
        say(`send to=${host}:${port} bytes=${data.length} sha256=${sha} secs=${secs.toFixed(2)}`);
      }
      resolve(!failed);
    });
    s.end(data);
  });
}

function targets(spec: string): string[] {
  if (!spec.startsWith("ready:")) return spec.split(",").filter((a) => a !== "");
  const field = spec.slice("ready:".length);
  const ready = process.env.LAB_READY ?? "";
  const m = new RegExp(`(?:^|\\s)${field}=(\\S+)`).exec(ready);
  if (m === null) throw new Error(`--to ${spec}: no ${field}= in LAB_READY=${JSON.stringify(ready)}`);
  return m[1].split(",").filter((a) => a !== "" && a !== "-");
}

async function send(args: Map<string, string>): Promise<number> {
  const to = args.get("to");
  if (to === undefined) throw new Error("--to is required");
  const port = numberArg(args, "port");
  const mb = numberArg(args, "mb");
  const timeoutS = numberArg(args, "timeout", 120);
  const deadline = performance.now() + timeoutS * 1000;
  let ok = true;
  for (const host of targets(to)) {
    const data = randomBytes(Math.round(mb * MIB));
    const sha = createHash("sha256").update(data).digest("hex");
    if (!(await sendOne(host, port, data, sha, deadline))) ok = false;
  }
  return ok ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const [op, ...rest] = argv;
  const args = parseArgs(rest);
  if (op === "recv") return recv(args);
  if (op === "send") return send(args);
  if (op === "close") return acceptAndClose(args);
  throw new Error(`unknown operation ${JSON.stringify(op)} (recv | send | close)`);
}

// `node --test dist/test/` also executes this file (it sits under test/); without
// arguments it does nothing there, and prints its usage when run by hand.
const argv = process.argv.slice(2);
if (argv.length === 0) {
  if (process.env.NODE_TEST_CONTEXT === undefined) {
    process.stderr.write("usage: lab-peer recv --port P [--host A] [--count N] [--timeout S]\n" +
      "       lab-peer send --to ADDR[,ADDR]|ready:<field> --port P --mb N [--timeout S]\n" +
      "       lab-peer close --port P [--host A]\n");
  }
} else {
  main(argv).then(
    (code) => process.exit(code),
    (e: unknown) => {
      say(`error op=${argv[0]} msg=${JSON.stringify(e instanceof Error ? e.message : String(e))}`);
      process.exit(1);
    },
  );
}
