/**
 * The accounting spool's file (see src/aaa/accounting/spool.ts for the format): appends are written and fsynced
 * before they return, so a record counts as accepted only once it would survive a power cut; compaction writes a
 * temporary file, fsyncs it, renames it over the old one and fsyncs the directory (the rename itself is durable).
 * Opening cuts a torn tail (bytes after the last newline, from a write a crash interrupted) so later appends start
 * on a line of their own.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, ftruncateSync, writeSync, fstatSync } from "node:fs";
import { dirname } from "node:path";
import { loadSpool, Spool, type LoadedSpool, type SpoolOptions, type SpoolStore } from "../aaa/accounting/spool.js";

export class SpoolFile implements SpoolStore {
  private fd: number;

  private constructor(private readonly path: string) {
    this.fd = openSync(path, "a+", 0o600);
  }

  /** Opens (creating it and its directory) and reads the file; a torn tail is cut off. */
  static open(path: string): { file: SpoolFile; text: string } {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const file = new SpoolFile(path);
    const buf = readFileSync(path);
    const end = buf.lastIndexOf(0x0a) + 1;
    if (end < buf.length) {
      ftruncateSync(file.fd, end);
      fsyncSync(file.fd);
    }
    // The torn tail is still in `text` so loadSpool counts it; it never reaches the file again.
    return { file, text: buf.toString("utf8") };
  }

  append(line: string): void {
    const b = Buffer.from(line + "\n", "utf8");
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    fsyncSync(this.fd);
  }

  replace(lines: readonly string[]): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      const b = Buffer.from(lines.map((l) => l + "\n").join(""), "utf8");
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, "a+", 0o600);
  }

  size(): number {
    return fstatSync(this.fd).size;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Opens the spool at `path` and loads what a previous run left undelivered; `parse` refuses stored values that are
 * not records (see loadSpool), and log lines about unreadable lines name `path` and the line.
 */
export function openSpool<T>(
  path: string,
  opts: SpoolOptions<T> & { readonly parse?: (value: unknown) => T | undefined },
): { spool: Spool<T>; file: SpoolFile; loaded: LoadedSpool<T> } {
  const { file, text } = SpoolFile.open(path);
  const loaded = loadSpool<T>(text, opts.parse);
  return { spool: new Spool<T>(file, loaded, { file: path, ...opts }), file, loaded };
}
