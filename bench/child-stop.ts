/**
 * Stopping a bench's child process (the load bench's server, the throughput bench's namespace processes): SIGTERM
 * so it can hang its sessions up, SIGKILL if it has not gone after a grace time, and a synchronous SIGKILL for the
 * way out (a process "exit" handler cannot wait).
 */
import type { ChildProcess } from "node:child_process";

export function childRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, SIGKILL after `graceMs`; resolves with `exited` (how it ended). */
export async function stopChild(child: ChildProcess, exited: Promise<string>, graceMs: number): Promise<string> {
  if (!childRunning(child)) return exited;
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const how = await exited;
  clearTimeout(t);
  return how;
}

/** Last resort on the way out: synchronous. */
export function killChildNow(child: ChildProcess): void {
  if (childRunning(child)) child.kill("SIGKILL");
}
