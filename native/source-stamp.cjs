// A stamp of the addon's C sources: the first 16 hex digits of SHA-256 over every native/*.c and *.h, name and
// contents, in name order. binding.gyp compiles it into the addon (PPTP_IO_SOURCE_STAMP); src/io/native.ts computes
// it again from the sources beside the JavaScript and refuses an addon built from other sources (a checkout updated
// and rebuilt with `npm run build`, which compiles only the TypeScript). CommonJS so gyp can run it with plain node.
"use strict";
const { createHash } = require("node:crypto");
const { readdirSync, readFileSync } = require("node:fs");
const { join } = require("node:path");

function sourceStamp(dir = __dirname) {
  const h = createHash("sha256");
  for (const name of readdirSync(dir).filter((n) => /\.[ch]$/.test(n)).sort()) {
    h.update(name + "\0");
    h.update(readFileSync(join(dir, name)));
    h.update("\0");
  }
  return h.digest("hex").slice(0, 16);
}

module.exports = { sourceStamp };
if (require.main === module) process.stdout.write(sourceStamp());
