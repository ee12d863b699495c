/**
 * Test traffic: an IPv4/UDP datagram of `len` octets with a valid header checksum and a payload derived from `id`,
 * so a receiver can tell datagrams apart and check them byte for byte.
 */
import { parseIpv4 } from "../../src/wire/ipv4.js";
import { internetChecksum } from "../../src/wire/ipv4-fragment.js";
import { unwrap } from "../../src/wire/result.js";

export function udpDatagram(len: number, src: string, dst: string, id: number, df = true): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[4] = id >> 8;
  p[5] = id & 0xff;
  p[6] = df ? 0x40 : 0;
  p[8] = 64;
  p[9] = 17;
  const s = unwrap(parseIpv4(src));
  const d = unwrap(parseIpv4(dst));
  for (let i = 0; i < 4; i++) {
    p[12 + i] = (s >>> (24 - 8 * i)) & 0xff;
    p[16 + i] = (d >>> (24 - 8 * i)) & 0xff;
  }
  for (let i = 20; i < len; i++) p[i] = (i * 13 + id) & 0xff;
  const c = internetChecksum(p, 0, 20);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}
