/**
 * The Prometheus endpoint's HTTP edge (node:http): GET on the one configured path answers the scrape;
 * every other path is 404 and every other method on the path 405, so the listener offers nothing else to whoever
 * can reach it. What is served is the caller's `scrape` (src/admin/metrics.ts): this file knows HTTP, not metrics.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface MetricsScrape {
  readonly contentType: string;
  readonly body: string;
}

export interface MetricsHttpOptions {
  readonly address: string;
  readonly port: number;
  /** e.g. "/metrics"; a query string after it is ignored (Prometheus sends none, curl users may). */
  readonly path: string;
  readonly scrape: () => Promise<MetricsScrape>;
  /** A scrape that failed (the server's answer is 500); never the request's own problems. */
  readonly onError?: (e: Error) => void;
}

export interface MetricsHttpServer {
  /** Where it listens (the port, when 0 was asked for). */
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** Listens, or rejects with a message that names the address (in use, not local, no permission). */
export function openMetricsHttp(o: MetricsHttpOptions): Promise<MetricsHttpServer> {
  const server = http.createServer((req, res) => void answer(o, req, res));
  // A scraper holds its connection open between scrapes; close() must not wait for it.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "the port is in use" : e.code === "EADDRNOTAVAIL" ? "no interface has that address" : e.code === "EACCES" ? "permission denied" : e.message;
      reject(new Error(`[metrics] listen: cannot listen on ${o.address}:${o.port}: ${why}`));
    });
    server.listen(o.port, o.address, () => {
      server.removeAllListeners("error");
      server.on("error", (e) => o.onError?.(e));
      resolve({
        address: server.address() as AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function answer(o: MetricsHttpOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = req.url ?? "";
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  if (path !== o.path) return plain(res, 404, "not found\n");
  if (req.method !== "GET") {
    res.setHeader("Allow", "GET");
    return plain(res, 405, "method not allowed\n");
  }
  let s: MetricsScrape;
  try {
    s = await o.scrape();
  } catch (e) {
    o.onError?.(e as Error);
    return plain(res, 500, "scrape failed\n");
  }
  res.writeHead(200, { "Content-Type": s.contentType, "Content-Length": Buffer.byteLength(s.body), "Cache-Control": "no-store" });
  res.end(s.body);
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
