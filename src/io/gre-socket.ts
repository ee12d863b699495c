/**
 * The one raw GRE socket (IP protocol 47) a PPTP server or client shares between all its calls
 * (RFC 2637 §4: the data channel is enhanced GRE carried directly over IP). Demultiplexing to
 * calls is by the Call ID in each GRE header, which is the job of the layer above.
 */
import { RawIpSocket, type RawSocketOptions } from "./raw-socket.js";

export const IPPROTO_GRE = 47;

export interface GreSocketOptions extends RawSocketOptions {
  /**
   * Install a kernel socket filter that keeps only PPTP's enhanced GRE (protocol type 0x880B,
   * version 1; RFC 2637 §4.1), so other GRE tunnels on the host cost no wakeups. Default true.
   */
  pptpOnly?: boolean;
}

export class GreSocket extends RawIpSocket {
  /** Opens the socket (needs CAP_NET_RAW). Throws an Error with code = errno name on failure. */
  static open(options: GreSocketOptions = {}): GreSocket {
    return new GreSocket(options);
  }

  private constructor(options: GreSocketOptions) {
    super(IPPROTO_GRE, options, options.pptpOnly ?? true);
  }
}
