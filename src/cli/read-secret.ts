/**
 * A secret typed at a prompt (no echo) or piped on stdin — never taken from argv, where `ps` and shell history
 * would keep it.
 */
import { createInterface } from "node:readline";

/** The first line of a piped stdin. */
async function firstLine(): Promise<string | undefined> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return undefined;
}

/** Reads one line from the terminal with echo off. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let text = "";
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (b: Buffer) => {
      for (const ch of b.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new Error("interrupted"));
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** The password: prompted twice on a terminal (they must match), else the first line of stdin. */
export async function readPassword(what: string): Promise<string | string[]> {
  if (process.stdin.isTTY) {
    const a = await promptHidden(`${what}: `);
    const b = await promptHidden(`${what} again: `);
    if (a !== b) return ["the two passwords differ"];
    return a;
  }
  const line = await firstLine();
  if (line === undefined) return ["no password on stdin (pipe it, e.g. printf '%s\\n' \"$PW\" | pptp-ts hash-password USER)"];
  return line.replace(/\r$/, "");
}
