/**
 * Loader and typings for the native addon `pptp_io` (sources in native/, built by node-gyp from
 * the root binding.gyp: `npm install` / `npm rebuild` build it into build/Release/pptp_io.node).
 *
 * Node has neither raw IP sockets nor TUN devices, so this addon is the project's only platform
 * code; everything above it talks to the small interfaces in transport.ts.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { TransportStats } from "./transport.js";
import { installMppeNative, type MppeNativeBinding } from "../crypto/mppe-native.js";
import { fileURLToPath } from "node:url";

/**
 * Counters kept in C (so counting costs no JS work); a snapshot is built on each stats() call. Same fields and
 * meanings as the transports' TransportStats (rxDropped: truncated or not well-formed IPv4; txWouldBlock: queue
 * full, EAGAIN/ENOBUFS; txErrors: any other send failure; lastRx/TxError: errno name or "").
 */
export type NativeStats = TransportStats;

/** Receive callback: `count` packets are described in the meta array, or errno != 0 on a receive error. */
export type NativeBatchCallback = (count: number, errno: number) => void;

export interface NativeEndpoint {
  /**
   * Starts (or restarts with new buffers) reading. Slot i of `data` is [i*slotSize, (i+1)*slotSize);
   * `meta` holds batchMax-long regions: offsets, lengths (and for raw sockets sources, destinations).
   * Both arrays must not be reused elsewhere while started; the native side keeps them alive.
   */
  start(data: Uint8Array, meta: Uint32Array, slotSize: number, batchMax: number, cb: NativeBatchCallback): void;
  pause(): void;
  resume(): void;
  close(): void;
  stats(): NativeStats;
  ref(): void;
  unref(): void;
  readonly fd: number;
}

export interface NativeRawSocket extends NativeEndpoint {
  /**
   * Returns bytes sent, or -errno (also counted in stats). Throws only on bad arguments or a closed socket.
   * srcAddress (0 = the route's choice) is the IPv4 source, set per packet with IP_PKTINFO.
   */
  send(buf: Uint8Array, offset: number, length: number, dstAddress: number, srcAddress?: number): number;
  /** Returns how many packets were sent (sendmmsg in chunks of 64); srcAddresses as send's srcAddress, per packet. */
  sendBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, dstAddresses: Uint32Array, count: number, srcAddresses?: Uint32Array): number;
}

export interface NativeTun extends NativeEndpoint {
  readonly name: string;
  /** Zero means "leave alone" for every numeric argument. */
  configure(mtu: number, txQueueLen: number, address: number, peer: number, prefix: number, up: boolean): void;
  write(buf: Uint8Array, offset: number, length: number): number;
  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  /** What the offloads did (native/tun_offload.h); `mode` is the one the kernel accepted (TUN_OFFLOAD_*). */
  offloadStats(): TunOffloadStats;
}

/** 0: plain IFF_TUN; 1: IFF_VNET_HDR, writes coalesced per TCP flow; 2: and TSO reads cut in native code. */
export type TunOffloadMode = 0 | 1 | 2;

export interface TunOffloadStats {
  mode: TunOffloadMode;
  /** Super-packets written, and the packets they carried. */
  superWritten: number;
  segmentsCoalesced: number;
  /** Super-packets read, and the segments cut from them. */
  superRead: number;
  segmentsCut: number;
  /** Times the kernel refused a super-packet (coalescing then stops for this queue). */
  groFallbacks: number;
  /** Packets dropped for a malformed vnet header or super-packet. */
  vnetDropped: number;
}

/** Test hooks: the offload code on plain buffers (no device). */
export interface NativeTunOffloadTest {
  /** What writeBatch would write for these packets: each element a 10-byte vnet header and one packet. */
  coalesce(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): Uint8Array[];
  /** What a read of `bytes` (vnet header + packet) delivers, each packet at most `room` bytes; null: dropped. */
  receive(bytes: Uint8Array, room: number): Uint8Array[] | null;
}

export interface NativeAddon {
  RawSocket: new (
    protocol: number,
    bindAddress: number,
    recvBufferBytes: number,
    sendBufferBytes: number,
    pptpFilter: boolean,
    dontFragment: boolean,
  ) => NativeRawSocket;
  Tun: new (name: string, multiQueue: boolean, offload: TunOffloadMode) => NativeTun;
  tunOffloadTest: NativeTunOffloadTest;
  /** RLIMIT_NOFILE with the soft limit raised to the hard one where it was lower (native/rlimit.c); Infinity = unlimited. */
  raiseNofileLimit(): { readonly soft: number; readonly hard: number; readonly before: number };
  /** MPPE's RC4 and stateless key changes in C (native/mppe.c); absent in an addon built before it. */
  mppe?: MppeNativeBinding;
  /** native/source-stamp.cjs of the sources it was built from; absent in an addon built before the stamp. */
  readonly sourceStamp?: string;
}

/** Errors thrown by the addon for failed system calls carry the errno name, number and the call. */
export interface NativeIoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export const ADDON_FILE = "pptp_io.node";

/** The repo root is a few levels up from this file both in src/io and in dist/src/io. */
export function findAddonPath(startDir: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = startDir;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "build", "Release", ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** Loads the addon from an explicit path, turning "not there" into an actionable message. */
export function loadNativeFrom(path: string | undefined): NativeAddon {
  if (process.platform !== "linux") {
    throw new Error(`pptp_io native addon: raw GRE sockets and TUN devices are Linux-only (this is ${process.platform})`);
  }
  if (path === undefined || !existsSync(path)) {
    const where = path ?? `build/Release/${ADDON_FILE}`;
    throw loaderError(
      "ERR_PPTP_IO_NOT_BUILT",
      `pptp_io native addon is not built (${where} not found): run \`npm install\` or \`npm rebuild\` ` +
        `in the project root (needs python3, make and a C compiler)`,
    );
  }
  const require = createRequire(import.meta.url);
  const addon = require(path) as NativeAddon;
  checkSourceStamp(addon, path, nativeSourcesFor(path));
  return addon;
}

/** The native/ directory beside the build/ that holds `addonPath` (a checkout or an installed package), if there. */
export function nativeSourcesFor(addonPath: string): string | undefined {
  const dir = join(dirname(dirname(dirname(addonPath))), "native");
  return existsSync(join(dir, "source-stamp.cjs")) ? dir : undefined;
}

/**
 * Refuses an addon built from other C sources than the ones beside it: the JavaScript and the addon change
 * together (a state layout, an argument), and `npm run build` compiles only the TypeScript, so a checkout updated
 * without `npm rebuild` ran new JavaScript on an old addon and failed far from the cause ("offset is out of
 * bounds" at the first MPPE packet, once). Without the sources (a tree that ships only build/) there is nothing to
 * compare, and the addon is taken as it is.
 */
export function checkSourceStamp(addon: Pick<NativeAddon, "sourceStamp">, addonPath: string, nativeDir: string | undefined): void {
  if (nativeDir === undefined) return;
  const require = createRequire(import.meta.url);
  const expected = (require(join(nativeDir, "source-stamp.cjs")) as { sourceStamp(dir: string): string }).sourceStamp(nativeDir);
  if (addon.sourceStamp === expected) return;
  const built = addon.sourceStamp ? `sources stamped ${addon.sourceStamp}` : "sources from before the stamp";
  throw loaderError(
    "ERR_PPTP_IO_STALE",
    `pptp_io native addon ${addonPath} was built from ${built}, not from the ones in ${nativeDir} (${expected}): ` +
      `rebuild it with \`npm rebuild\` in the project root (\`npm run build\` compiles only the TypeScript)`,
  );
}

/** An error the loader throws, with a code a caller can test. */
function loaderError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

let cached: NativeAddon | undefined;

/** The addon, loaded once. PPTP_IO_ADDON overrides where it is looked for. */
export function loadNative(): NativeAddon {
  if (cached === undefined) {
    cached = loadNativeFrom(process.env.PPTP_IO_ADDON ?? findAddonPath());
    // Stateless MPPE runs in C from now on in this thread (src/crypto/mppe-native.ts); PPTP_MPPE_NATIVE=0 keeps
    // the TypeScript cipher (a before/after comparison, or a suspected difference).
    if (process.env.PPTP_MPPE_NATIVE !== "0") installMppeNative(cached.mppe);
  }
  return cached;
}
