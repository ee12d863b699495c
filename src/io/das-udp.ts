/**
 * The UDP edge of the Dynamic Authorization Server (RFC 5176, port 3799): one socket, each datagram handed to
 * DasEngine with the time, its answer (if any) sent back to the source address and port.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import { DasEngine, type DasCounters, type DasOptions } from "../aaa/das/engine.js";

export interface DasServerOptions extends DasOptions {
  /** Default 0.0.0.0. */
  readonly listen?: string;
  /** Default 3799 (RFC 5176 §3); 0 picks a free port (tests). */
  readonly port?: number;
}

export interface DasServer {
  readonly port: number;
  counters(): DasCounters;
  close(): Promise<void>;
}

export async function startDasServer(o: DasServerOptions): Promise<DasServer> {
  const engine = new DasEngine(o);
  const listen = o.listen ?? "0.0.0.0";
  const sock: Socket = createSocket({ type: isIP(listen) === 6 ? "udp6" : "udp4" });
  sock.on("message", (msg, rinfo) => {
    let reply: Uint8Array | undefined;
    try {
      reply = engine.receive(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), { address: rinfo.address, port: rinfo.port }, performance.now(), Date.now());
    } catch (e) {
      // The engine does not throw on input; if a directory callback does, one request fails, not the process.
      o.log?.(`DAS: request from ${rinfo.address} failed: ${(e as Error).message}`);
      return;
    }
    if (reply !== undefined) sock.send(reply, rinfo.port, rinfo.address);
  });
  sock.on("error", (e) => o.log?.(`DAS: socket error: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(o.port ?? 3799, listen, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  return {
    port: sock.address().port,
    counters: () => engine.counters(),
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
