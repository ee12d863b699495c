/**
 * Log lines to a syslog daemon over UDP (RFC 5426), in the RFC 5424 format:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME pptp-ts PROCID - - MSG
 *
 * PRI = facility × 8 + severity (RFC 5424 §6.2.1): errors → err (3), events → info (6), packets and negotiation →
 * debug (7). MSG is the line as the format makes it (text or JSON). A datagram holds at most MAX_SYSLOG_OCTETS:
 * RFC 5426 §3.2 asks receivers for 2048 at least; a longer line is cut there with "..." (packet lines with hex dumps
 * can be long). Why UDP and not /dev/log: src/config/log-config.ts.
 *
 * Sending never blocks or throws: a daemon that is not listening costs an ICMP error the socket swallows; the
 * first send error is reported once on stderr.
 */
import * as dgram from "node:dgram";
import { hostname } from "node:os";
import type { LogCategory } from "../session/log-category.js";

export const MAX_SYSLOG_OCTETS = 2048;

export function syslogSeverity(category: LogCategory): number {
  return category === "errors" ? 3 : category === "events" ? 6 : 7;
}

/** RFC 5424 §6.2.4: HOSTNAME is printable US-ASCII without spaces, at most 255 octets; "-" when unknown. */
function headerWord(s: string, max: number): string {
  const w = s.replace(/[^\x21-\x7e]/g, "").slice(0, max);
  return w === "" ? "-" : w;
}

/** One RFC 5424 message, as bytes, cut to `max` octets. */
export function formatSyslog(facility: number, category: LogCategory, timeMs: number, host: string, procId: number, line: string, max = MAX_SYSLOG_OCTETS): Buffer {
  const head = `<${facility * 8 + syslogSeverity(category)}>1 ${new Date(timeMs).toISOString()} ${headerWord(host, 255)} pptp-ts ${procId} - - `;
  const b = Buffer.from(head + line, "utf8");
  if (b.length <= max) return b;
  // Cut on a character boundary: step back over UTF-8 continuation octets.
  let end = max - 3;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return Buffer.concat([b.subarray(0, end), Buffer.from("...")]);
}

export interface SyslogSink {
  /** A LogSink: (line, category). */
  readonly write: (line: string, category: LogCategory) => void;
  close(): void;
}

export function openSyslogSink(target: { readonly host: string; readonly port: number }, facility: number, clock: () => number = Date.now): SyslogSink {
  const socket = dgram.createSocket("udp4");
  socket.unref();
  let reported = false;
  const report = (e: Error) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`pptp-ts: syslog ${target.host}:${target.port}: ${e.message} (log lines may be lost)\n`);
  };
  socket.on("error", report);
  const host = hostname();
  let closed = false;
  return {
    write(line, category) {
      if (closed) return;
      socket.send(formatSyslog(facility, category, clock(), host, process.pid, line), target.port, target.host, (e) => {
        if (e) report(e);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}
