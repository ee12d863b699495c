/**
 * Harness for the interop tests: boots the qemu lab (test/interop/lab) with a
 * scenario and hands back what the guest reported.
 *
 * The lab runs stock Debian peers (pppd 2.4.9, pptp-linux 1.10.0, pptpd 1.4.0)
 * in a qemu guest whose NIC is a tap inside a private network namespace
 * (10.99.0.1 on the host side, 10.99.0.2 in the guest). Code under test runs on
 * the host side inside that namespace through `pre` (started before the guest
 * boots, e.g. our server) and `with` (started once the guest prints LAB-READY,
 * e.g. our client). Needs root (netns, tap, debootstrap); see lab/README.md.
 *
 * Costs on the 2-core development machine (TCG, no usable KVM), see README:
 * first image build ~90 s (plus ~25 s of apt-get for the host packages), later
 * builds <1 s; a selftest run 40–70 s, a client run that fails fast ~35 s.
 */
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type LabScenario = "selftest" | "client" | "server" | "perf" | "cmd" | "node";

export interface LabOptions {
  scenario: LabScenario;
  /** Guest keys, passed as lab.KEY=VALUE on the kernel command line (see lab/README.md). */
  keys?: Record<string, string | number>;
  /** Shell command run in the netns before the guest boots (its process group is stopped at the end). */
  pre?: string;
  /** Shell command run in the netns after LAB-READY (env LAB_READY holds that line); its exit code counts. */
  with?: string;
  /** run.sh's wall-clock limit for the guest; default: run.sh's own per-scenario default. */
  timeoutS?: number;
  /** Network namespace name (default pptplab); distinct names let runs go in parallel. */
  netns?: string;
  /** Capture the tap traffic to <runDir>/tap.pcap. */
  pcap?: boolean;
  /** More run.sh options, e.g. ["--node", "--dir", "/opt/app=./dist"]. */
  runArgs?: string[];
  /** Called with every line run.sh prints (host lines and the live guest console). */
  onLine?: (line: string) => void;
}

export interface LabRun {
  /** run.sh's verdict: the guest printed "status PASS" and `with` (if any) exited 0. */
  ok: boolean;
  exitCode: number;
  /** LAB-RESULT lines without the "LAB-RESULT " prefix, in order; the last is "status PASS|FAIL ...". */
  results: string[];
  /** LAB-EVENT lines without the prefix (ppp ip-up / ip-down). */
  events: string[];
  /** The first LAB-READY line without the prefix, if the guest got that far. */
  ready: string | undefined;
  /** The guest's serial console (CRs stripped). */
  console: string;
  /** What run.sh itself printed (LAB-HOST lines, the streamed console, the summary). */
  host: string;
  /** Output of `pre` and `with` (empty when not used). */
  preLog: string;
  withLog: string;
  /** test/interop/runs/<ts>-<scenario>-<pid>/ with console.txt, pre.log, with.log, tap.pcap, timing. */
  runDir: string;
  /** The key=value pairs of <runDir>/timing (verdict, wall, kernel_to_init, initrd_mb, ...). */
  timing: Record<string, string>;
}

/** The project root: the nearest directory above this file that holds package.json. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("harness: no package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const ROOT = projectRoot();
export const LAB_DIR = join(ROOT, "test", "interop", "lab");
export const CACHE_DIR = process.env.LAB_CACHE ?? join(ROOT, "test", "interop", "cache");
export const RUNS_DIR = process.env.LAB_RUNS ?? join(ROOT, "test", "interop", "runs");
/** The compiled host-side transfer peer (see lab-peer.ts and peerCommand). */
export const PEER_JS = join(ROOT, "dist", "test", "interop", "lab-peer.js");

function onPath(cmd: string): boolean {
  for (const d of (process.env.PATH ?? "").split(delimiter)) {
    if (d === "") continue;
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function imageBuilt(): boolean {
  return existsSync(join(CACHE_DIR, "initrd.img")) && existsSync(join(CACHE_DIR, "vmlinuz"));
}

/**
 * Whether the lab can run here. Checks only cheap facts (root, Linux, /dev/net/tun,
 * qemu and the netns tooling, and either a built image or the tools to build one);
 * it does not boot anything.
 */
export function labAvailable(): { ok: boolean; why?: string } {
  const why: string[] = [];
  if (process.platform !== "linux") why.push(`platform is ${process.platform}, the lab needs Linux`);
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    why.push("not root (the lab creates a network namespace and a tap, and debootstraps a rootfs)");
  }
  if (!existsSync("/dev/net/tun")) why.push("no /dev/net/tun");
  const need = ["qemu-system-x86_64", "ip", "flock"];
  if (!imageBuilt()) need.push("debootstrap", "cpio", "depmod", "modprobe");
  const missing = need.filter((c) => !onPath(c));
  if (missing.length > 0) {
    why.push(`missing ${missing.join(", ")} (install test/interop/lab/host-packages.txt)`);
  }
  if (!existsSync(join(LAB_DIR, "run.sh"))) why.push(`no ${join(LAB_DIR, "run.sh")}`);
  return why.length === 0 ? { ok: true } : { ok: false, why: why.join("; ") };
}

interface Exit {
  code: number;
  output: string;
}

/** Runs a command in its own process group; kills that group (by its id) after limitS. */
function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv, limitS: number, onLine?: (l: string) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: string[] = [];
    let partial = "";
    const take = (buf: Buffer): void => {
      const text = buf.toString("utf8");
      chunks.push(text);
      if (onLine === undefined) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) onLine(l.replace(/\r$/, ""));
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      // run.sh has its own timeout; this is only the backstop for a wedged run.sh
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
    }, limitS * 1000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (onLine !== undefined && partial !== "") onLine(partial);
      const note = killed ? `\n[harness] killed after ${limitS}s\n` : "";
      resolve({ code: code ?? (signal !== null ? 128 : 1), output: chunks.join("") + note });
    });
  });
}

let imagePromise: Promise<{ secs: number; log: string }> | undefined;

/**
 * Builds (or refreshes) the guest image once per process: test/interop/lab/build.sh,
 * which is a no-op taking well under a second once test/interop/cache/ is built.
 * The first build from scratch takes ~90 s here (kernel .deb, debootstrap, KVM probe).
 * Rejects with the build log's tail when the build fails.
 */
export function ensureImage(): Promise<{ secs: number; log: string }> {
  if (imagePromise === undefined) {
    imagePromise = (async () => {
      const t0 = Date.now();
      const env = { ...process.env, LAB_CACHE: CACHE_DIR };
      const r = await runCommand("bash", [join(LAB_DIR, "build.sh")], env, 1800);
      mkdirSync(RUNS_DIR, { recursive: true });
      writeFileSync(join(RUNS_DIR, ".last-build.log"), r.output);
      const secs = (Date.now() - t0) / 1000;
      if (r.code !== 0) {
        const tail = r.output.trimEnd().split("\n").slice(-25).join("\n");
        throw new Error(`lab build.sh failed (exit ${r.code}) after ${secs.toFixed(0)}s:\n${tail}`);
      }
      return { secs, log: r.output };
    })();
    // a failed build may be retried by a later call
    imagePromise.catch(() => {
      imagePromise = undefined;
    });
  }
  return imagePromise;
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function linesWith(prefix: string, text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const l = raw.replace(/\r$/, "");
    if (l.startsWith(prefix)) out.push(l.slice(prefix.length));
  }
  return out;
}

/** Boots the lab with one scenario and waits for it to end (see LabOptions / LabRun). */
export async function runLab(opts: LabOptions): Promise<LabRun> {
  await ensureImage();
  const args = [join(LAB_DIR, "run.sh"), "--no-build"];
  if (opts.timeoutS !== undefined) args.push("--timeout", String(opts.timeoutS));
  if (opts.pcap === true) args.push("--pcap");
  if (opts.pre !== undefined) args.push("--pre", opts.pre);
  if (opts.with !== undefined) args.push("--with", opts.with);
  if (opts.runArgs !== undefined) args.push(...opts.runArgs);
  args.push(opts.scenario);
  for (const [k, v] of Object.entries(opts.keys ?? {})) {
    if (!/^[A-Za-z0-9_]+$/.test(k)) throw new Error(`runLab: bad key ${JSON.stringify(k)}`);
    args.push(`${k}=${String(v)}`);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, LAB_CACHE: CACHE_DIR, LAB_RUNS: RUNS_DIR };
  if (opts.netns !== undefined) env.LAB_NETNS = opts.netns;
  const verbose = process.env.LAB_VERBOSE === "1";
  const onLine =
    opts.onLine !== undefined || verbose
      ? (l: string): void => {
          if (verbose) process.stderr.write(`[lab] ${l}\n`);
          opts.onLine?.(l);
        }
      : undefined;
  // backstop only: run.sh enforces the real limit (its default is at most a few minutes
  // per scenario, plus the server duration / perf runs / hold), then cleans up
  const limit = (opts.timeoutS ?? 1200) + 180;
  const r = await runCommand("bash", args, env, limit, onLine);

  const runDir = /^LAB-HOST scenario=.* run=(\S+)/m.exec(r.output)?.[1] ?? "";
  const consoleText = runDir === "" ? "" : readIfExists(join(runDir, "console.txt"));
  const timing: Record<string, string> = {};
  if (runDir !== "") Object.assign(timing, fields(readIfExists(join(runDir, "timing"))));
  return {
    ok: r.code === 0,
    exitCode: r.code,
    results: linesWith("LAB-RESULT ", consoleText),
    events: linesWith("LAB-EVENT ", consoleText),
    ready: linesWith("LAB-READY ", consoleText)[0],
    console: consoleText,
    host: r.output,
    preLog: runDir === "" ? "" : readIfExists(join(runDir, "pre.log")),
    withLog: runDir === "" ? "" : readIfExists(join(runDir, "with.log")),
    runDir,
    timing,
  };
}

/**
 * The key=value pairs of a result line: `mppe="128-bit stateless" rc=0` ->
 * { mppe: "128-bit stateless", rc: "0" }. Words without "=" are skipped.
 */
export function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_.]+)=("([^"]*)"|(\S*))/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    out[m[1]] = m[3] ?? m[4] ?? "";
  }
  return out;
}

/** The result lines whose first word is `kind` (e.g. "auth", "xfer", "ping"). */
export function resultsOf(results: readonly string[], kind: string): string[] {
  return results.filter((l) => l === kind || l.startsWith(kind + " "));
}

/** "PASS" | "FAIL" | undefined, from the final "status ..." result line. */
export function guestStatus(results: readonly string[]): "PASS" | "FAIL" | undefined {
  const s = resultsOf(results, "status").at(-1);
  if (s === undefined) return undefined;
  return s.startsWith("status PASS") ? "PASS" : s.startsWith("status FAIL") ? "FAIL" : undefined;
}

/** A word safe to put in a bash command line. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A shell command that runs the host-side transfer peer (lab-peer.ts) with this
 * node binary, for use inside `pre` / `with`, e.g.
 *   pre: peerCommand("recv", "--port", "5001", "--count", "2")
 *   with: peerCommand("send", "--to", "ready:local", "--port", "5001", "--mb", "4")
 * It prints LAB-PEER lines (see parsePeer) into pre.log / with.log.
 */
export function peerCommand(...args: string[]): string {
  return [process.execPath, PEER_JS, ...args].map(shellQuote).join(" ");
}

/** The LAB-PEER lines of a pre/with log, each as its fields (plus `op`: recv | send | error). */
export function parsePeer(log: string): Array<Record<string, string>> {
  return linesWith("LAB-PEER ", log).map((l) => ({ op: l.split(" ")[0] ?? "", ...fields(l) }));
}

/** What tshark (Wireshark's dissectors, an independent decoder) made of the PPTP/GRE packets one host sent. */
export interface TsharkVerdict {
  /** PPTP control + GRE packets from `src`. */
  readonly total: number;
  /** Of those, malformed or carrying warning-level (or worse) expert info. */
  readonly bad: number;
  /** `tshark -V` of the first bad ones, for the failure message. */
  readonly detail: string;
  /** Count of packets from `src` matching a display filter (e.g. "pptp.control_message_type", "chap"). */
  count(filter: string): number;
}

export function tsharkVerdict(pcap: string, src: string): TsharkVerdict {
  const run = (cmd: string): string => execFileSync("sh", ["-c", cmd]).toString();
  const count = (filter: string): number => Number(run(`tshark -r '${pcap}' -Y '${filter}' 2>/dev/null | wc -l`).trim());
  const ours = `ip.src==${src} && (pptp || gre)`;
  const badFilter = `(${ours}) && (_ws.malformed || _ws.expert.severity >= 6291456)`;
  const bad = count(badFilter);
  return {
    total: count(ours),
    bad,
    detail: bad ? run(`tshark -r '${pcap}' -Y '${badFilter}' -V 2>/dev/null | head -80`) : "",
    count: (filter) => count(`ip.src==${src} && (${filter})`),
  };
}

/**
 * How far `src` ran ahead of `peer`'s acknowledgments in a capture (RFC 2637 §4.2): for each GRE data packet `src`
 * sent, its sequence number less the highest acknowledgment `peer` had sent by then; and the receive window `peer`
 * advertised (its Outgoing-Call-Reply or -Request), as tshark decodes them.
 */
export function greRunAhead(pcap: string, src: string, peer: string): { maxOutstanding: number; dataPackets: number; peerWindow: number | undefined } {
  const rows = execFileSync("tshark", ["-r", pcap, "-Y", `gre && ip.proto == 47 && ((ip.src==${src} && ip.dst==${peer}) || (ip.src==${peer} && ip.dst==${src}))`, "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "gre.sequence_number", "-e", "gre.ack_number"], { maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "ignore"] })
    .toString()
    .split("\n");
  let acked = -1;
  let maxOutstanding = 0;
  let dataPackets = 0;
  for (const row of rows) {
    const [from, seq, ack] = row.split(",");
    if (from === peer && ack) acked = Math.max(acked, Number(ack));
    if (from === src && seq) {
      dataPackets++;
      maxOutstanding = Math.max(maxOutstanding, Number(seq) - acked);
    }
  }
  const win = execFileSync("tshark", ["-r", pcap, "-Y", `ip.src==${peer} && pptp.packet_receive_window_size`, "-T", "fields", "-e", "pptp.packet_receive_window_size"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim().split("\n")[0];
  return { maxOutstanding, dataPackets, peerWindow: win ? Number(win) : undefined };
}
