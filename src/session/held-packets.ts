/**
 * A few packets kept while something they need is not there yet: traffic that triggered an on-demand dial,
 * data that overtook our own "network up", GRE that overtook its Outgoing-Call-Reply, a new call's first GRE
 * waiting for its reply to be handed to TCP. Copied (the receive or transmit buffer they came in is reused) and bounded, so a flood while waiting costs at most `limit` copies; this is
 * never the steady-state data path.
 */
export class HeldPackets {
  private packets: Uint8Array[] = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.packets.length;
  }

  /** Keeps a copy of buf[off, off+len); false (not kept) when full. */
  hold(buf: Uint8Array, off: number, len: number): boolean {
    if (this.packets.length >= this.limit) return false;
    this.packets.push(buf.slice(off, off + len));
    return true;
  }

  /** Everything held, oldest first; the holder is empty afterwards. */
  take(): Uint8Array[] {
    const p = this.packets;
    this.packets = [];
    return p;
  }

  clear(): void {
    this.packets.length = 0;
  }
}
