/** Reads FreeRADIUS detail files (radacct/<client>/detail-*): one record per blank-line-separated block. */
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

export type DetailRecord = Record<string, string>;

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

export function readDetail(radacctDir: string): DetailRecord[] {
  const out: DetailRecord[] = [];
  for (const f of files(radacctDir)) {
    for (const block of readFileSync(f, "utf8").split(/\n\s*\n/)) {
      const rec: DetailRecord = {};
      for (const m of block.matchAll(/^\t([A-Za-z0-9-]+)(?::\d+)? = (.*)$/gm)) rec[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
      if (Object.keys(rec).length > 0) out.push(rec);
    }
  }
  return out;
}
