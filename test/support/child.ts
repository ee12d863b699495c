/** A node child process for crash tests: its stdout collected, waited on for a line, killed with SIGKILL. */
import { spawn } from "node:child_process";

export interface Child {
  out(): string;
  readonly exited: Promise<number | null>;
  kill(): void;
  /** Resolves once `re` matches the stdout so far; rejects after `ms` with both outputs. */
  waitFor(re: RegExp, ms: number): Promise<void>;
}

export function runChild(script: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  return {
    out: () => out,
    exited,
    kill: () => child.kill("SIGKILL"),
    waitFor: async (re, ms) => {
      const until = Date.now() + ms;
      while (!re.test(out)) {
        if (Date.now() > until) throw new Error(`child did not print ${re} in ${ms} ms; stdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
