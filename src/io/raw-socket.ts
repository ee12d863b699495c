/**
 * A raw IPv4 socket for one IP protocol, over the native addon. The kernel builds the IPv4 header
 * on send; on receive it is stripped (the batch's offsets point at the protocol header) and its
 * source/destination addresses are reported per packet. GreSocket is this with protocol 47.
 */
import { ipv4Option, type Ipv4Address } from "../wire/ipv4.js";
import { loadNative, type NativeRawSocket } from "./native.js";
import { checkBatchOptions, NativeEndpointBase } from "./native-endpoint.js";
import { ReceiveBatch, type DatagramBatch, type GreTransport } from "./transport.js";

export interface RawSocketOptions {
  /**
   * Local address to receive on and send from (default: any; each send may then name its source, else routing
   * picks it).
   */
  bindAddress?: string | number;
  /** Packets per receive batch (one recvmmsg, one JS callback). Default 64. */
  batchSize?: number;
  /** Bytes reserved per received packet, IPv4 header included; bigger datagrams are dropped and counted. Default 4096. */
  slotSize?: number;
  /** SO_RCVBUF (forced past net.core.rmem_max when root). Default 4 MiB: absorbs bursts between event-loop turns. */
  receiveBufferBytes?: number;
  sendBufferBytes?: number;
  /**
   * Set DF on sent packets (path MTU discovery). Default false: tunnelled packets are fragmented
   * by the kernel rather than lost behind routers that drop ICMP "fragmentation needed".
   */
  dontFragment?: boolean;
}

export const DEFAULT_BATCH = 64;
export const DEFAULT_RAW_SLOT = 4096;
export const DEFAULT_SOCKET_BUFFER = 4 << 20;

export class RawIpSocket extends NativeEndpointBase<DatagramBatch> implements GreTransport {
  /** Local address the socket is bound to (0 = any). */
  readonly bindAddress: Ipv4Address;
  private readonly sock: NativeRawSocket;

  /** A raw socket for any IP protocol number (e.g. 1 for ICMP in tests and tools). */
  static openProtocol(protocol: number, options: RawSocketOptions = {}): RawIpSocket {
    return new RawIpSocket(protocol, options, false);
  }

  protected constructor(
    readonly protocol: number,
    options: RawSocketOptions,
    pptpFilter: boolean,
  ) {
    const batchSize = options.batchSize ?? DEFAULT_BATCH;
    const slotSize = options.slotSize ?? DEFAULT_RAW_SLOT;
    checkBatchOptions(batchSize, slotSize);
    const bind = options.bindAddress === undefined ? 0 : ipv4Option("bindAddress", options.bindAddress);
    const addon = loadNative();
    const sock = new addon.RawSocket(
      protocol,
      bind,
      options.receiveBufferBytes ?? DEFAULT_SOCKET_BUFFER,
      options.sendBufferBytes ?? DEFAULT_SOCKET_BUFFER,
      pptpFilter,
      options.dontFragment ?? false,
    );
    const rx = new ReceiveBatch(slotSize, batchSize, true);
    super(sock, rx, rx, `raw socket (protocol ${protocol})`);
    this.sock = sock;
    this.bindAddress = bind;
  }

  /** `src` (0 = the route's choice) sets this packet's source address (IP_PKTINFO); see GreTransport.send. */
  send(buf: Uint8Array, offset: number, length: number, dst: Ipv4Address, src: Ipv4Address = 0): boolean {
    return this.sock.send(buf, offset, length, dst, src) >= 0;
  }

  sendBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, dsts: Uint32Array, count: number, srcs?: Uint32Array): number {
    return this.sock.sendBatch(buf, offsets, lengths, dsts, count, srcs);
  }
}
