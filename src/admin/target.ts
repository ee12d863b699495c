/**
 * The one AdminTarget a pptp-ts process answers its control socket with: the server role's sessions, pools,
 * counters and control connections, and the dial-out peers' status and control connections — whichever of the two
 * the process runs (`server -c` with peers, `server -c` with the server role off, `connect -c FILE`).
 */
import type { SessionDirectory } from "../aaa/types.js";
import type { PptpServer } from "../server/server.js";
import type { PptpClient, ClientStatus } from "../client/client.js";
import { countTunnelStates, type AdminTarget, type CaptureTarget, type PeerLine, type TunnelLine } from "./commands.js";
import { LoopLag } from "./loop-lag.js";

/** One event-loop monitor per process, started with its first server target (`show stats`: "event-loop"). */
let loopLag: LoopLag | undefined;

/** What the target needs of the server role (PptpServer). */
export type ServerSide = SessionDirectory &
  Pick<PptpServer, "poolStatus" | "stats" | "tunnels" | "clearTunnel" | "startCapture"> &
  Partial<Pick<PptpServer, "restartWorker" | "eachSession" | "eachTunnel" | "clearEach" | "tunnelStates" | "clearTunnelEach">>;
/** What it needs of a dial-out peer (PptpClient). */
export type ClientSide = Pick<PptpClient, "name" | "snapshot" | "tunnel" | "clearTunnel">;

export interface ProcessRoles {
  readonly server: ServerSide | undefined;
  readonly clients: readonly ClientSide[];
}

export interface TargetExtras {
  /** Counters kept outside the server (AAA backends), merged into `show stats`. */
  readonly aaaCounters?: () => Record<string, Record<string, number>>;
  readonly reloadConfig?: AdminTarget["reloadConfig"];
  /** `pptp-ts debug`: the process's Logger switches (src/admin/debug.ts applyDebug). */
  readonly debug?: AdminTarget["debug"];
}

/** A dial-out peer's status as `show peers` reports it. */
export function peerLine(s: ClientStatus): PeerLine {
  return {
    name: s.peer,
    state: s.state,
    ...(s.server !== undefined ? { server: s.server } : {}),
    ...(s.localAddress !== undefined ? { localAddress: s.localAddress } : {}),
    ...(s.remoteAddress !== undefined ? { remoteAddress: s.remoteAddress } : {}),
    ...(s.upSinceMs !== undefined ? { upForMs: Math.round(s.upSinceMs) } : {}),
    failures: s.failures,
    ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
    ...(s.lastErrorCode !== undefined ? { lastErrorCode: s.lastErrorCode } : {}),
    ...(s.nextRedialInMs !== undefined ? { nextRedialInMs: s.nextRedialInMs } : {}),
  };
}

/** The address part of "a.b.c.d:port". */
function host(remote: string): string {
  const i = remote.lastIndexOf(":");
  return i < 0 ? remote : remote.slice(0, i);
}

export function processTarget(roles: ProcessRoles, extras: TargetExtras = {}): CaptureTarget {
  const { server, clients } = roles;
  const clientTunnels = (): TunnelLine[] => clients.flatMap((c) => c.tunnel() ?? []);
  if (server) loopLag ??= new LoopLag();
  return {
    // Sessions are the server's (dial-in calls); a dial-out peer's session shows in `show peers` and `show tunnels`.
    find: (sel) => server?.find(sel) ?? [],
    // The listings that grow with the sessions, one entry as it is pulled (the control socket writes them in pieces).
    eachSession: (sel) => server?.eachSession?.(sel) ?? server?.find(sel) ?? [],
    eachTunnel: function* () {
      if (server?.eachTunnel) yield* server.eachTunnel();
      else yield* server?.tunnels() ?? [];
      yield* clientTunnels();
    },
    ...(server?.clearEach ? { clearEach: (sel, cause, reason) => server.clearEach!(sel, cause, reason) } : {}),
    disconnect: (id, cause, reason) => server?.disconnect(id, cause, reason) ?? false,
    changeTimeouts: (id, change) => server?.changeTimeouts(id, change) ?? false,
    ...(server
      ? {
          poolStatus: () => server.poolStatus(),
          stats: () => ({ ...server.stats(), ...(extras.aaaCounters?.() ?? {}), "event-loop": (loopLag ??= new LoopLag()).stats() }),
          startCapture: (id: string, limits, sink, onEnd) => server.startCapture(id, limits, sink, onEnd),
          ...(server.restartWorker ? { restartWorker: (n: number) => server.restartWorker!(n) } : {}),
        }
      : {}),
    ...(extras.reloadConfig ? { reloadConfig: extras.reloadConfig } : {}),
    ...(extras.debug ? { debug: extras.debug } : {}),
    tunnels: () => [...(server?.tunnels() ?? []), ...clientTunnels()],
    tunnelStates: () => countTunnelStates(clientTunnels(), server?.tunnelStates ? [...server.tunnelStates()] : countTunnelStates(server?.tunnels() ?? [])),
    peerStatus: () => clients.map((c) => peerLine(c.snapshot())),
    // The server's calls ended as pulled; a dial-out peer's tunnel (one call) at once, as clearTunnel does.
    clearTunnelEach: (peer, reason) => {
      const s = server?.clearTunnelEach?.(peer, reason) ?? { tunnels: [...(server?.clearTunnel(peer, reason) ?? [])], calls: [] };
      const tunnels: TunnelLine[] = [...s.tunnels];
      for (const c of clients) {
        const t = c.tunnel();
        if (t === undefined || (c.name !== peer && host(t.remote) !== peer)) continue;
        if (c.clearTunnel(reason)) tunnels.push(t);
      }
      return { tunnels, calls: s.calls };
    },
    clearTunnel: (peer, reason) => {
      const out: TunnelLine[] = [...(server?.clearTunnel(peer, reason) ?? [])];
      for (const c of clients) {
        const t = c.tunnel();
        if (t === undefined || (c.name !== peer && host(t.remote) !== peer)) continue;
        if (c.clearTunnel(reason)) out.push(t);
      }
      return out;
    },
  };
}
