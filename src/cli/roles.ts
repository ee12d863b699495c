/**
 * Everything one pptp-ts process runs from one configuration: the server role ([server] enable) and every
 * dial-out peer ([peer NAME], role client), sharing one raw GRE socket (GreDemux: Call IDs unique across both
 * roles) and one TCP listener. An inbound control connection from the address of a client peer with
 * `answer = yes` goes to that peer (its server is calling it back); every other one to the server.
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import type { ServerConfig } from "../config/config.js";
import type { PeerConfig } from "../config/peer-types.js";
import type { Logger } from "../server/log.js";
import { AddressPool } from "../server/pool.js";
import { PptpServer } from "../server/server.js";
import { poolCidrs, forwardingWarning } from "../server/routes.js";
import { PptpClient, type ClientStatus } from "../client/client.js";
import type { AccountingSink, Authenticator } from "../aaa/types.js";
import { GreSocket } from "../io/gre-socket.js";
import { GreDemux } from "../io/gre-demux.js";
import { TunDevice, tunSlotSize } from "../io/tun.js";
import { LinuxNetwork } from "../io/system-net.js";
import { DataPlaneWorkers } from "../io/workers/pool.js";

export interface RoleOptions {
  readonly config: ServerConfig;
  /** The server's authenticator; required when [server] enable = yes. */
  readonly auth?: Authenticator;
  /** Static addresses of local users and named peers: the pool keeps them for their owners (AddressPool.reserve). */
  readonly reservedAddresses?: readonly string[];
  /** Where the server's session accounting goes (RADIUS, TACACS+), if anywhere. */
  readonly accounting?: AccountingSink;
  readonly logger: Logger;
  /** Only these client peers (by name); default all of them. */
  readonly peers?: readonly string[];
  /** Interactive `connect`: end a client at the first refusal retrying cannot fix. */
  readonly stopOnRefusal?: boolean;
  readonly onClientStatus?: (s: ClientStatus) => void;
}

export interface RunningRoles {
  readonly server: PptpServer | undefined;
  readonly clients: readonly PptpClient[];
  /** Resolves when every client has stopped or given up (never, while a server runs). */
  readonly clientsDone: Promise<ClientStatus[]>;
  reload(config: ServerConfig, auth: Authenticator | undefined, reservedAddresses?: readonly string[]): void;
  close(reason: string): Promise<void>;
}

export async function startRoles(o: RoleOptions): Promise<RunningRoles> {
  const { config, logger } = o;
  const now = () => performance.now();
  const clientPeers: PeerConfig[] = config.peers.filter((p) => p.role === "client" && (!o.peers || o.peers.includes(p.name)));
  const missing = (o.peers ?? []).filter((n) => !config.peers.some((p) => p.name === n && p.role === "client"));
  if (missing.length) throw new Error(`no [peer ${missing[0]}] with role = client in the configuration`);

  const bind = config.server.listen === "0.0.0.0" ? undefined : config.server.listen;
  const greSocket = GreSocket.open(bind ? { bindAddress: bind } : {});
  const gre = new GreDemux(greSocket, now);
  const clients = clientPeers.map(
    (peer) =>
      new PptpClient({
        peer,
        gre,
        openTun: (t) => TunDevice.open({ name: t.name, mtu: t.mtu, address: t.address, peer: t.peer, slotSize: tunSlotSize(t.maxMtu) }),
        log: logger,
        hostName: config.server.hostname,
        ...(bind ? { bindAddress: bind } : {}),
        ...(o.stopOnRefusal ? { stopOnRefusal: true } : {}),
        ...(o.onClientStatus ? { onStatus: o.onClientStatus } : {}),
      }),
  );
  const divert = (address: string, socket: net.Socket): boolean => {
    const c = clients.find((x) => x.matchesServer(address));
    if (!c) return false;
    if (!c.adopt(socket)) {
      logger.log("events", `peer ${c.name}: ${address} called while a session is already running; refused`);
      socket.destroy();
    }
    return true;
  };

  let server: PptpServer | undefined;
  let pool: AddressPool | undefined;
  // The pool keeps static users' addresses for them: a dynamic user must not hold the address a static one needs.
  const reserve = (addrs: readonly string[] | undefined): void => {
    if (!pool || addrs === undefined) return;
    const n = pool.reserve(addrs);
    if (n > 0) logger.log("events", `pool: ${n} address(es) kept for the users and peers they are assigned to`);
  };
  let listener: net.Server | undefined;
  if (config.server.enable) {
    if (!o.auth) throw new Error("the server role needs an authenticator");
    const workers = config.server.workers;
    // workers >= 2: the TUN is multi-queue (this is queue 0) and the workers are started before the server, each
    // opening the next queue (src/io/workers/README.md).
    const tun = TunDevice.open({ name: config.server.tunName, mtu: config.ppp.mtu, address: config.ppp.localAddress, ...(workers > 1 ? { multiQueue: true } : {}) });
    let dataPlane: DataPlaneWorkers | undefined;
    if (workers > 1) {
      dataPlane = await DataPlaneWorkers.start({
        workers,
        greSocketFd: greSocket.fd,
        tun: { fd: tun.fd, name: tun.name, mtu: config.ppp.mtu, address: tun.address },
        ...(bind ? { bindAddress: greSocket.bindAddress } : {}),
        onControl: (callId, frame) => server?.workerControl(callId, frame),
        onGre: (callId, packet) => server?.workerGre(callId, packet),
        onWorkerLost: (owner, callIds, reason) => server?.workerLost(owner, callIds, reason),
        onWorkerRestarted: (owner, error) => server?.workerRestarted(owner, error),
        onError: (owner, message) => logger.log("errors", `data-plane worker ${owner}: ${message}`),
        onSteering: (owner, message) => logger.log("events", `data-plane worker ${owner}: ${message}`),
      });
      logger.log("events", `data plane: ${workers} worker threads, each with its own GRE socket and queue of ${tun.name}`);
    }
    const system = new LinuxNetwork();
    pool = new AddressPool(config.ppp.pool);
    reserve(o.reservedAddresses);
    server = new PptpServer({
      settings: config,
      auth: o.auth,
      pool,
      gre,
      tun,
      log: logger,
      divert,
      hostRoutes: { net: system, dev: tun.name },
      ...(o.accounting ? { accounting: o.accounting } : {}),
      ...(dataPlane ? { dataPlane } : {}),
    });
    // The pool and the networks behind named peers lead into the server's TUN for as long as it runs; the
    // server sends each packet to its session, dials a peer on demand, or drops it — private LAN traffic never
    // leaks onto another route meanwhile.
    const routes = [...poolCidrs(config.ppp.pool), ...server.peerRoutes()];
    for (const cidr of routes) await system.addRoute(cidr, { dev: tun.name });
    logger.log("events", `TUN ${tun.name} up: ${config.ppp.localAddress}, MTU ${config.ppp.mtu}, routes ${routes.join(" ")}`);
    const fw = forwardingWarning();
    if (fw) logger.log("events", `warning: ${fw}`);
    await server.listen();
  } else if (clientPeers.some((p) => p.answer)) {
    // No server role, but a peer's server may call us: listen for exactly those callers.
    listener = net.createServer((s) => {
      const a = (s.remoteAddress ?? "").replace(/^::ffff:/, "");
      if (!divert(a, s)) {
        logger.log("events", `TCP connection from ${a} refused: no peer with answer = yes has that address, and the server role is off`);
        s.destroy();
      }
    });
    await new Promise<void>((resolve, reject) => {
      listener!.once("error", (e) => reject(new Error(`cannot listen on ${config.server.listen}:${config.server.port}: ${e.message}`)));
      listener!.listen(config.server.port, config.server.listen, () => resolve());
    });
    logger.log("events", `listening on ${config.server.listen}:${config.server.port} for calls from peers with answer = yes`);
  }

  for (const c of clients) await c.start();
  const clientsDone = Promise.all(clients.map((c) => c.done));

  return {
    server,
    clients,
    clientsDone,
    reload(next, auth, reserved) {
      if (server && auth) server.reload(next, auth);
      reserve(reserved);
      if (clients.length > 0) logger.log("events", `dial-out peers (${clients.map((c) => c.name).join(", ")}) keep the settings they started with; restart to change them`);
    },
    async close(reason) {
      await Promise.all([...clients.map((c) => c.stop(reason)), server?.close(reason)]);
      listener?.close();
      if (!server) gre.close();
    },
  };
}

/**
 * Runs until SIGTERM/SIGINT (then closes everything: every session hung up cleanly) or until `ended` settles
 * with an exit status. Resolves with the process's exit status: 0 after a signal, 1 if closing failed.
 */
export function runUntilSignal(roles: RunningRoles, ended?: Promise<number>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const finish = (reason: string, code: number): void => {
      if (stopping) return;
      stopping = true;
      roles.close(reason).then(() => resolve(code), () => resolve(1));
    };
    process.on("SIGTERM", () => finish("received SIGTERM", 0));
    process.on("SIGINT", () => finish("received SIGINT", 0));
    ended?.then((code) => finish("all peers ended", code));
  });
}
