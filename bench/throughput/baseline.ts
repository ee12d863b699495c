/**
 * The baseline of the throughput bench: OpenSSL's C RC4 on 1400-byte blocks, measured in the same run.
 * `openssl speed -evp rc4 -bytes 1400 -seconds S -provider legacy -provider default` (OpenSSL 3 keeps RC4 in the
 * legacy provider; `speed` times with user CPU time unless -elapsed is given, so its rate is per CPU-second, like
 * ours). Without the openssl binary (or its legacy provider) the fallback is the MPPE bench's child, Node's own
 * OpenSSL under --openssl-legacy-provider streaming RC4 over 1400-byte blocks (bench/mppe-openssl.ts).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { megabytesPerSecond, type Measurement } from "../mppe.js";

export interface Rc4Baseline {
  /** Bytes per CPU-second. */
  readonly bytesPerSecond: number;
  readonly source: string;
}

/** The `RC4  660460.96k` line of `openssl speed` (1000s of bytes per second). */
export function parseOpensslSpeed(out: string): number | undefined {
  const m = /^rc4\s+([\d.]+)k\s*$/im.exec(out);
  return m ? Number(m[1]) * 1000 : undefined;
}

export function measureRc4Baseline(seconds: number): Rc4Baseline | string {
  const args = ["speed", "-evp", "rc4", "-bytes", "1400", "-seconds", String(seconds), "-provider", "legacy", "-provider", "default"];
  const r = spawnSync("openssl", args, { encoding: "utf8", timeout: 60_000 + seconds * 4000 });
  const rate = r.status === 0 ? parseOpensslSpeed(r.stdout) : undefined;
  if (rate !== undefined) return { bytesPerSecond: rate, source: "openssl speed -evp rc4 -bytes 1400" };
  const child = fileURLToPath(new URL("../mppe-openssl.js", import.meta.url));
  const n = spawnSync(process.execPath, ["--openssl-legacy-provider", child, "100000", "1400", "3"], { encoding: "utf8", timeout: 120_000 });
  if (n.status !== 0) return `no RC4 baseline: openssl speed failed (${(r.error?.message ?? r.stderr ?? "").trim().split("\n")[0]}), and so did node --openssl-legacy-provider (${n.stderr.trim().split("\n")[0]})`;
  const [stream] = JSON.parse(n.stdout) as Measurement[];
  return { bytesPerSecond: megabytesPerSecond(stream) * 1e6, source: "node --openssl-legacy-provider RC4 stream, 1400-byte blocks" };
}
