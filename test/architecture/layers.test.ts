/**
 * The folders promise layers: core → wire → crypto → aaa → ppp/pptp → session → config → io → server/client →
 * admin → cli. A module may import from its own folder and from folders below it, never from one above it or
 * beside it (the two roles import neither each other). This test reads every source file's relative imports.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const RANK: Record<string, number> = {
  core: 0, wire: 1, crypto: 2, aaa: 3, ppp: 4, pptp: 4, session: 5, config: 6, io: 7,
  server: 8, client: 8, admin: 9, cli: 10,
};

const srcRoot = resolve(fileURLToPath(new URL("../../../src", import.meta.url)));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Each import from a folder that is not below the importing file's folder, as "file imports spec (layer)". */
export function layeringViolations(root: string): string[] {
  const out: string[] = [];
  for (const file of sources(root)) {
    const layer = relative(root, file).split("/")[0];
    if (!(layer in RANK)) continue;
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const target = relative(root, resolve(dirname(file), m[1])).split("/")[0];
      if (!(target in RANK) || target === layer) continue;
      if (RANK[target] >= RANK[layer]) out.push(`${relative(root, file)} (${layer}) imports ${m[1]} (${target})`);
    }
  }
  return out;
}

test("every folder under src/ has a place in the layer order", () => {
  const folders = readdirSync(srcRoot).filter((n) => statSync(join(srcRoot, n)).isDirectory());
  assert.ok(folders.length >= 8, `expected the layer folders under ${srcRoot}, found ${folders.join(", ")}`);
  for (const f of folders) assert.ok(f in RANK, `src/${f} is not in the layer order of test/architecture/layers.test.ts`);
});

test("no module imports from a layer above its own or from a sibling role", () => {
  assert.deepEqual(layeringViolations(srcRoot), []);
});
