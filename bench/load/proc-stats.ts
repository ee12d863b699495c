/**
 * What the kernel says about a process: CPU time (utime + stime from /proc/PID/stat, in clock ticks) and resident
 * memory (VmRSS from /proc/PID/status). Read from outside, so the measured process does nothing extra.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** sysconf(_SC_CLK_TCK): the unit of utime/stime (100 on every Linux this runs on, but asked, not assumed). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far; undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseStatCpuTicks(text) / clockTicksPerSecond();
}

/**
 * utime + stime (fields 14 and 15, proc(5)) of one /proc/PID/stat line. The command name (field 2) is in
 * parentheses and may hold spaces or parentheses itself, so fields are counted from the last ")".
 */
export function parseStatCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): field n is rest[n - 3].
  return Number(rest[14 - 3]) + Number(rest[15 - 3]);
}

/**
 * The hard limit on open files of this process (RLIMIT_NOFILE): children cannot be given more without
 * CAP_SYS_RESOURCE, which containers often withhold (seen here: root, hard limit 20,000).
 */
export function hardNoFileLimit(): number {
  try {
    return Number(execFileSync("prlimit", ["--pid", String(process.pid), "--nofile", "--raw", "--noheadings", "--output", "HARD"], { encoding: "utf8" }).trim()) || 1024;
  } catch {
    return 1024;
  }
}

/** Descriptors a load-run process needs: one TCP socket per session, plus room for the rest (log, TUN, sockets). */
export const NOFILE_SPARE = 512;

/** CAP_SYS_RESOURCE (capability 24) in this process's effective set: then a child may get a hard limit above ours. */
export function canRaiseHardLimit(status = readStatus()): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << 24n)) !== 0n;
}

function readStatus(): string {
  try {
    return readFileSync("/proc/self/status", "utf8");
  } catch {
    return "";
  }
}

/**
 * The open-file limit to give a child that needs `need` descriptors (prlimit --nofile=L:L, as root): `need` when
 * the hard limit allows it or this process may raise it (CAP_SYS_RESOURCE); else the hard limit, which is all
 * prlimit can set. `short` says the child gets less than it needs.
 */
export function noFileLimitFor(need: number, hard = hardNoFileLimit(), canRaise = canRaiseHardLimit()): { limit: number; short: boolean } {
  const want = Math.max(4096, need);
  if (want <= hard || canRaise) return { limit: want, short: false };
  return { limit: hard, short: need > hard };
}

/** Resident set size in bytes (VmRSS); undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  return parseStatusKb(text, "VmRSS");
}

/** A "Name:   1234 kB" line of /proc/PID/status, in bytes. */
export function parseStatusKb(status: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}
