/**
 * Named address pools (`[pools]` in the config: one key per pool, RADIUS Framed-Pool, RFC 2869 §5.18, names one).
 * Each is an AddressPool of its own. On reload a pool whose ranges did not change is kept as it is (its addresses
 * in use stay in use); a changed or new pool starts empty of sessions, and a removed one lives on, unnamed, in the
 * sessions that still hold its addresses (each session releases to the pool it got its address from).
 */
import { AddressPool } from "./pool.js";
import { formatAddressRange, type AddressRange } from "../config/address-range.js";

export class NamedPools {
  private pools = new Map<string, { readonly key: string; readonly pool: AddressPool }>();

  constructor(config: Readonly<Record<string, readonly AddressRange[]>> = {}) {
    this.configure(config);
  }

  configure(config: Readonly<Record<string, readonly AddressRange[]>>): void {
    const next = new Map<string, { readonly key: string; readonly pool: AddressPool }>();
    for (const [name, ranges] of Object.entries(config)) {
      const key = ranges.map(formatAddressRange).join(",");
      const old = this.pools.get(name);
      next.set(name, old && old.key === key ? old : { key, pool: new AddressPool(ranges) });
    }
    this.pools = next;
  }

  /** The pool of that name; names are case-insensitive (config keys are read in lower case). */
  get(name: string): AddressPool | undefined {
    return this.pools.get(name.toLowerCase())?.pool;
  }

  /** The named pool whose ranges hold `address` (a static address there must be taken from it). */
  holding(address: string): AddressPool | undefined {
    for (const { pool } of this.pools.values()) if (pool.contains(address)) return pool;
    return undefined;
  }

  /** Each pool with its name and ranges, for `show pool`. */
  entries(): { readonly name: string; readonly ranges: string; readonly pool: AddressPool }[] {
    return [...this.pools].map(([name, { key, pool }]) => ({ name, ranges: key.replace(/,/g, ", "), pool }));
  }

  get names(): string[] {
    return [...this.pools.keys()];
  }
}
