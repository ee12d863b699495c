/**
 * `pptp-ts capture`: one session's decrypted packets as a pcap file tshark reads. The server taps the session
 * (src/session/capture-tap.ts) and streams pcap records over its control socket; this command writes the file — so
 * it belongs to whoever ran the command — and says how many packets it wrote and how many the server dropped because
 * this reader fell behind.
 *
 * Root only: a capture is a user's traffic in clear. The control socket admits root and its group (0660); this
 * command also refuses anyone but root. Files: never an existing one unless --force, and never through a symbolic
 * link or onto something that is not a regular file (a device, a FIFO); created 0600.
 */
import { closeSync, constants, ftruncateSync, lstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_CONTROL_SOCKET } from "../config/config.js";
import { controlSocketPath } from "./control-path.js";
import { closest } from "../config/config-error.js";
import { controlStream } from "../io/control-socket.js";
import type { CaptureStarted } from "../admin/commands.js";
import type { CaptureSummary } from "../session/capture-tap.js";
import type { SessionSelector } from "../aaa/types.js";
import { pcapFileHeader } from "../wire/pcap.js";

export const CAPTURE_USAGE = `usage: pptp-ts capture session ID | user NAME | address IP -w FILE.pcap [options]
  writes the session's IP packets, decrypted, as pcap (read it with tshark -r FILE.pcap / Wireshark); Ctrl-C stops
  -w, --write FILE    the file (created 0600; "-" writes to stdout: pptp-ts capture ... -w - | tshark -r -)
  --count N           stop after N packets
  --seconds S         stop after S seconds
  --max-bytes SIZE    stop before the file exceeds SIZE (default 64M; K, M, G suffixes)
  --control           also the PPP control frames (LCP, PAP/CHAP, IPCP, CCP); the PAP password and the CHAP/MS-CHAP
                      response value are zeroed
  --force             overwrite FILE if it exists (a regular file only)
  --socket PATH | -c FILE   the server's control socket (default ${DEFAULT_CONTROL_SOCKET})
`;

const OPTIONS = {
  write: { type: "string", short: "w" },
  count: { type: "string" },
  seconds: { type: "string" },
  "max-bytes": { type: "string" },
  control: { type: "boolean" },
  force: { type: "boolean" },
  socket: { type: "string" },
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
} as const;

interface Parsed {
  readonly select: SessionSelector;
  readonly file: string;
  readonly socket: string;
  readonly request: Record<string, unknown>;
  readonly force: boolean;
  readonly maxBytes: number | undefined;
}

/** "64M" → 67108864; undefined when not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Number(m[1]) * mult;
}

function parse(argv: string[]): Parsed | string {
  let a;
  try {
    a = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    const m = /Unknown option '([^']+)'/.exec((e as Error).message);
    if (m) {
      const guess = closest(m[1].replace(/^-+/, ""), Object.keys(OPTIONS));
      return `unknown option "${m[1]}"${guess ? `; did you mean "--${guess}"?` : ""}`;
    }
    return (e as Error).message;
  }
  const v = a.values;
  if (v.help) return "help";
  const words = a.positionals;
  let select: SessionSelector;
  if (words.length === 1 && /^[0-9a-f]{16}$/i.test(words[0])) select = { sessionId: words[0].toUpperCase() };
  else if (words.length === 2 && words[0] === "session") select = { sessionId: words[1].toUpperCase() };
  else if (words.length === 2 && words[0] === "user") select = { user: words[1] };
  else if (words.length === 2 && words[0] === "address") select = { framedAddress: words[1] };
  else return words.length === 0 ? "which session? (session ID, user NAME or address IP)" : `expected session ID, user NAME or address IP (got "${words.join(" ")}")`;
  if (v.write === undefined || v.write === "") return "-w FILE is required (the pcap file to write, or - for stdout)";
  const request: Record<string, unknown> = { cmd: "capture", select, control: v.control === true };
  if (v.count !== undefined) {
    if (!/^\d+$/.test(v.count) || Number(v.count) < 1) return `--count "${v.count}" is not a number of packets (1 or more)`;
    request.count = Number(v.count);
  }
  if (v.seconds !== undefined) {
    const s = Number(v.seconds);
    if (!/^\d+(\.\d+)?$/.test(v.seconds) || !(s > 0)) return `--seconds "${v.seconds}" is not a number of seconds above 0`;
    request.seconds = s;
  }
  let maxBytes: number | undefined;
  if (v["max-bytes"] !== undefined) {
    maxBytes = parseSize(v["max-bytes"]);
    if (maxBytes === undefined) return `--max-bytes "${v["max-bytes"]}" is not a size (e.g. 1000000, 512K, 64M, 2G)`;
    request.maxBytes = maxBytes;
  }
  const socket = controlSocketPath(v.socket, v.config);
  if (typeof socket !== "string") return socket.error;
  return { select, file: v.write, socket, request, force: v.force === true, maxBytes };
}

/**
 * Opens the output file under the rules of the file comment; a string says why not. An existing file (--force) is
 * emptied only once the capture has started (truncate()), so a refused capture leaves it as it was.
 */
function openOutput(file: string, force: boolean): { fd: number; created: boolean } | string {
  if (file === "-") return { fd: 1, created: false };
  let existing: import("node:fs").Stats | undefined;
  try {
    existing = lstatSync(file);
  } catch {
    existing = undefined;
  }
  if (existing) {
    if (existing.isSymbolicLink()) return `${file} is a symbolic link: not written through (give the real path)`;
    if (!existing.isFile()) return `${file} exists and is not a regular file: not written`;
    if (!force) return `${file} exists: not overwritten (--force overwrites it)`;
  }
  const flags = constants.O_WRONLY | constants.O_NOFOLLOW | (existing ? 0 : constants.O_CREAT | constants.O_EXCL);
  try {
    return { fd: openSync(file, flags, 0o600), created: !existing };
  } catch (e) {
    return `cannot write ${file}: ${(e as Error).message}`;
  }
}

function describeEnd(s: CaptureSummary | undefined): string {
  if (s === undefined) return "the server closed the capture without a summary";
  switch (s.reason) {
    case "count":
      return "stopped: --count reached";
    case "seconds":
      return "stopped: --seconds elapsed";
    case "max-bytes":
      return "stopped: --max-bytes reached";
    case "session-ended":
      return "stopped: the session ended";
    default:
      return "stopped";
  }
}

export async function runCapture(argv: string[]): Promise<number> {
  const p = parse(argv);
  if (p === "help") {
    process.stdout.write(CAPTURE_USAGE);
    return 0;
  }
  if (typeof p === "string") {
    process.stderr.write(`pptp-ts capture: ${p}\n${CAPTURE_USAGE}`);
    return 2;
  }
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    process.stderr.write("pptp-ts capture: only root may capture (the file holds a user's traffic in clear)\n");
    return 1;
  }
  const opened = openOutput(p.file, p.force);
  if (typeof opened === "string") {
    process.stderr.write(`pptp-ts capture: ${opened}\n`);
    return 1;
  }
  const fd = opened.fd;
  const toStdout = p.file === "-";
  const out = (b: Uint8Array): void => {
    if (toStdout) process.stdout.write(b);
    else for (let o = 0; o < b.length; ) o += writeSync(fd, b, o, b.length - o);
  };
  let packets = 0;
  let written = 0;
  let writeError: string | undefined;
  const stream = controlStream(p.socket, p.request, (rec) => {
    if (writeError !== undefined) return;
    // The server keeps to --max-bytes; this is only a guard against a server that does not.
    if (p.maxBytes !== undefined && written + rec.length > p.maxBytes) return stream.finish();
    try {
      out(rec);
    } catch (e) {
      writeError = `cannot write ${p.file}: ${(e as Error).message}`;
      stream.finish();
      return;
    }
    packets++;
    written += rec.length;
  });
  const cleanup = (): void => {
    if (!toStdout) closeSync(fd);
  };
  let started: CaptureStarted;
  try {
    const a = (await stream.answer) as CaptureStarted | { ok: false; error: string };
    if (!a.ok) throw new Error(a.error);
    started = a;
  } catch (e) {
    stream.destroy();
    cleanup();
    if (opened.created) unlinkSync(p.file); // created for a capture that never started
    process.stderr.write(`pptp-ts capture: ${(e as Error).message}\n`);
    return 1;
  }
  const c = started.capture;
  const header = pcapFileHeader(c.linkType, c.snaplen);
  try {
    if (!toStdout && !opened.created) ftruncateSync(fd, 0);
    out(header);
    written += header.length;
  } catch (e) {
    writeError = `cannot write ${p.file}: ${(e as Error).message}`;
    stream.destroy();
  }
  process.stderr.write(
    `capturing session ${c.sessionId}${c.user ? ` (user ${c.user}${c.framedAddress ? `, ${c.framedAddress}` : ""})` : ""} to ${toStdout ? "stdout" : p.file}; Ctrl-C stops\n`,
  );
  // Ctrl-C / SIGTERM: ask the server to end (its summary still comes); a second one gives up on it.
  let asked = false;
  const onSignal = (): void => {
    if (asked) return stream.destroy();
    asked = true;
    stream.finish();
    setTimeout(() => stream.destroy(), 3000).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const summary = (await stream.done) as CaptureSummary | undefined;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  cleanup();
  const dropped = summary !== undefined ? `${summary.dropped} dropped (this reader fell behind)` : "dropped: unknown";
  process.stderr.write(`${toStdout ? "stdout" : p.file}: ${packets} packet${packets === 1 ? "" : "s"}, ${written} bytes written; ${dropped}; ${describeEnd(summary)}\n`);
  if (writeError !== undefined) {
    process.stderr.write(`pptp-ts capture: ${writeError}\n`);
    return 1;
  }
  return summary === undefined && !asked ? 1 : 0;
}
