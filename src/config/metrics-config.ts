/**
 * The [metrics] section (wired into config.ts as one block): the Prometheus endpoint, off unless configured.
 *
 *   [metrics]
 *   listen = 127.0.0.1:9723   ; ADDRESS[:PORT] (port 9723); absent or empty: no endpoint
 *   path = /metrics           ; the one path answered (GET only)
 *
 * The endpoint has no authentication (Prometheus' usual practice): bind it to loopback or a management address.
 */
import { formatIpv4, parseIpv4 } from "../wire/ipv4.js";
import type { Parsed, ValueParser } from "./config-values.js";

/** The port conventionally given to this exporter (unregistered in Prometheus' default port list). */
export const METRICS_PORT = 9723;

export interface MetricsListen {
  readonly address: string;
  readonly port: number;
}

export interface MetricsConfig {
  /** Where the HTTP endpoint listens; undefined: no endpoint. */
  readonly listen: MetricsListen | undefined;
  /** The only path served, e.g. "/metrics". */
  readonly path: string;
}

export function defaultMetricsConfig(): MetricsConfig {
  return { listen: undefined, path: "/metrics" };
}

const LISTEN_FIX = `write ADDRESS:PORT, e.g. "listen = 127.0.0.1:${METRICS_PORT}" (leave it empty for no metrics endpoint)`;

/** "127.0.0.1:9723", "0.0.0.0:9100", "10.0.0.1" (port 9723); "" = off. */
export const metricsListen: ValueParser<MetricsListen | undefined> = (raw): Parsed<MetricsListen | undefined> => {
  if (raw === "") return { ok: true, value: undefined };
  const m = /^([0-9.]+)(?::([0-9]+))?$/.exec(raw);
  if (m === null) return { ok: false, problems: [{ problem: `"${raw}" is not an IPv4 ADDRESS:PORT`, fix: LISTEN_FIX }] };
  const a = parseIpv4(m[1]);
  if (!a.ok) return { ok: false, problems: [{ problem: `"${m[1]}" is not an IPv4 address`, fix: LISTEN_FIX }] };
  const port = m[2] === undefined ? METRICS_PORT : Number(m[2]);
  if (port < 1 || port > 65535) return { ok: false, problems: [{ problem: `port ${m[2]} is outside 1..65535`, fix: LISTEN_FIX }] };
  return { ok: true, value: { address: formatIpv4(a.value), port } };
};

export function formatMetricsListen(l: MetricsListen | undefined): string | undefined {
  return l === undefined ? undefined : `${l.address}:${l.port}`;
}

/** An absolute URL path of plain characters: no query, no fragment, nothing that needs escaping. */
export const metricsPath: ValueParser<string> = (raw) => {
  if (!/^\/[A-Za-z0-9._~\/-]{0,127}$/.test(raw) || raw.includes("//")) {
    return { ok: false, problems: [{ problem: `"${raw}" is not a plain URL path`, fix: `start with "/" and use letters, digits, "-", "_", ".", "~" and "/", e.g. "path = /metrics"` }] };
  }
  return { ok: true, value: raw };
};
