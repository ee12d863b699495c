/**
 * Wiring of RADIUS accounting: the file spool, its runner, and the RADIUS UDP client. `createRadiusAccounting`
 * returns the AccountingSink the server calls. Every record is sent as a new Accounting-Request per delivery round
 * (new Identifier, Acct-Delay-Time counted from the event); within a round the client retransmits the same datagram.
 */
import { RadiusUdpClient } from "./radius-udp.js";
import type { RadiusServer } from "../aaa/radius/client-engine.js";
import { RadiusCode } from "../aaa/radius/packet.js";
import { accountingAttributes, isDroppable, parseAcctRecord, radiusRecords, type AcctRecord, type NasIdentity } from "../aaa/accounting/records.js";
import type { SpoolStats } from "../aaa/accounting/spool.js";
import type { AccountingSink } from "../aaa/types.js";
import { startSpooledAccounting } from "./spool-accounting.js";

export interface RadiusAccountingOptions extends NasIdentity {
  readonly servers: readonly RadiusServer[];
  readonly spoolPath: string;
  readonly spoolMax: number;
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** Pause before a spooled record is tried again after no server answered (doubles up to 5 minutes). */
  readonly retryMs?: number;
  readonly log?: (line: string) => void;
  /** Wall clock (tests may shift it). */
  readonly now?: () => number;
}

export interface RadiusAccounting {
  readonly sink: AccountingSink;
  stats(): SpoolStats;
  /** Resolves true once nothing is left undelivered, false after `ms`. */
  drained(ms: number): Promise<boolean>;
  close(): void;
}

export async function createRadiusAccounting(o: RadiusAccountingOptions): Promise<RadiusAccounting> {
  const now = o.now ?? Date.now;
  const log = o.log ?? ((l: string) => console.error(l));
  const timeoutMs = o.timeoutMs ?? 3000;
  const retries = o.retries ?? 2;
  const client = await RadiusUdpClient.create({
    servers: o.servers,
    timeoutMs,
    retries,
    deadlineMs: (timeoutMs * (retries + 1) + 100) * Math.max(1, o.servers.length),
    log,
  });
  return startSpooledAccounting<AcctRecord>({
    name: "accounting",
    spoolPath: o.spoolPath,
    spoolMax: o.spoolMax,
    maxKey: "[accounting] spool-max",
    records: radiusRecords,
    droppable: isDroppable,
    droppableName: "interim update",
    parse: parseAcctRecord,
    ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
    log,
    now,
    client,
    send: async (e) => {
      const out = await client.request(RadiusCode.AccountingRequest, () => accountingAttributes(e.record, e.at, now(), o));
      return out.ok ? { ok: true, server: out.serverLabel } : out;
    },
  });
}
