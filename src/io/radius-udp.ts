/**
 * The UDP edge of the RADIUS client: one dgram socket per address family, sendto() each server, replies matched
 * to a server by source address and port and handed to the sans-I/O engine (src/aaa/radius/client-engine.ts),
 * whose timers run on one setTimeout. Host names are resolved once, when the client is created.
 */
import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { performance } from "node:perf_hooks";
import {
  RadiusClientEngine,
  type RadiusClientOptions,
  type RadiusOutcome,
  type AttributeBuilder,
  type ServerCounters,
} from "../aaa/radius/client-engine.js";

export type RadiusUdpClientOptions = Omit<RadiusClientOptions, "transmit" | "random"> & {
  /** Local address to send from (e.g. the NAS-IP-Address); default: the system's choice. */
  readonly bindAddress?: string;
};

async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(`RADIUS server ${host}: cannot resolve: ${code === "ENOTFOUND" ? "no such host name" : code ?? (e as Error).message}`);
  }
}

export class RadiusUdpClient {
  private readonly engine: RadiusClientEngine;
  private readonly sockets = new Map<4 | 6, Socket>();
  private readonly addresses: { readonly family: 4 | 6; readonly address: string; readonly port: number }[];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(o: RadiusUdpClientOptions, addresses: { family: 4 | 6; address: string; port: number }[]) {
    this.addresses = addresses;
    this.engine = new RadiusClientEngine({
      ...o,
      random: (n) => new Uint8Array(randomBytes(n)),
      transmit: (i, data) => this.transmit(i, data),
    });
    for (const fam of new Set(addresses.map((a) => a.family))) {
      const s = createSocket(fam === 4 ? "udp4" : "udp6");
      s.on("message", (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
      // ICMP errors surface on the socket as errors; the engine's timers still decide the outcome.
      s.on("error", (e) => this.onSocketError(fam, e));
      if (o.bindAddress !== undefined && isIP(o.bindAddress) === fam) s.bind({ address: o.bindAddress, port: 0 });
      this.sockets.set(fam, s);
    }
  }

  static async create(o: RadiusUdpClientOptions): Promise<RadiusUdpClient> {
    const addresses: { family: 4 | 6; address: string; port: number }[] = [];
    for (const s of o.servers) {
      const address = await resolveHost(s.host);
      addresses.push({ family: isIP(address) === 6 ? 6 : 4, address, port: s.port });
    }
    return new RadiusUdpClient(o, addresses);
  }

  private now(): number {
    return performance.now();
  }

  request(code: number, build: AttributeBuilder): Promise<RadiusOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, message: "RADIUS client closed", tried: [] });
    const p = this.engine.request(code, build, this.now());
    this.schedule();
    return p.finally(() => this.schedule());
  }

  counters(): readonly ServerCounters[] {
    return this.engine.counters();
  }

  labels(): string[] {
    return this.engine.labels();
  }

  private transmit(i: number, data: Uint8Array): void {
    const a = this.addresses[i];
    const s = this.sockets.get(a.family);
    s?.send(data, a.port, a.address, (e) => {
      if (e) this.engine.transportError(i, `send failed: ${e.message}`, this.now());
    });
  }

  private onMessage(msg: Buffer, address: string, port: number): void {
    const i = this.addresses.findIndex((a) => a.port === port && a.address === address);
    if (i < 0) return; // not from a configured server: not ours to count
    this.engine.receive(i, new Uint8Array(msg.buffer, msg.byteOffset, msg.length), this.now());
    this.schedule();
  }

  private onSocketError(_fam: 4 | 6, e: Error): void {
    // dgram reports ICMP errors only on connected sockets; anything else here is a local failure.
    for (let i = 0; i < this.addresses.length; i++) this.engine.transportError(i, `socket error: ${e.message}`, this.now());
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    const t = this.engine.pollTimeout();
    if (t === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.engine.handleTimeout(this.now());
      this.schedule();
    }, Math.max(0, Math.ceil(t - this.now())));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.engine.close();
    for (const s of this.sockets.values()) s.close();
  }
}
