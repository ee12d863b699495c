/**
 * A TACACS+ server (RFC 8907) for tests, written apart from src/aaa/tacacs on purpose: its own header and body
 * parsing with Buffer reads, its own pad computation, so a bug our codec makes symmetrically (encode and decode
 * wrong the same way) cannot hide. Only the password hashes come from src/crypto (MD4/DES for MS-CHAP).
 *
 * It verifies PAP, CHAP, MS-CHAPv1 and MS-CHAPv2 START packets against its users, answers authorization with
 * each user's AV pairs, records accounting, supports single-connection (§4.3) and can misbehave on purpose.
 */
import * as net from "node:net";
import { createHash } from "node:crypto";
import { mschap1NtResponse, mschap2AuthenticatorResponse, mschap2NtResponse, ntPasswordHash } from "../../src/crypto/mschap.js";

export interface PeerUser {
  readonly name: string;
  readonly password: string;
  /** AV pairs returned on authorization PASS_ADD; `undefined` with `authorFail` makes authorization FAIL. */
  readonly avPairs?: readonly string[];
  readonly authorFail?: boolean;
}

export type Fault = "none" | "wrong-key" | "silent" | "garbage" | "close" | "error";

export interface PeerOptions {
  readonly key: string;
  readonly users: readonly PeerUser[];
  /** Accept single-connection when the client asks (§4.3). */
  readonly singleConnect?: boolean;
  /** Return "S=..." in the MS-CHAPv2 PASS data (not in RFC 8907; some servers do it). */
  readonly mschapv2Success?: boolean;
  fault?: Fault;
  /** Accounting REQUESTs answered ERROR (not recorded) while this says so: one record the server will not store. */
  acctError?: (args: readonly string[], flags: number) => boolean;
}

/** One packet as the peer saw it: header fields, the clear body, and the raw bytes as received. */
export interface SeenPacket {
  readonly conn: number;
  readonly version: number;
  readonly type: number;
  readonly seq: number;
  readonly flags: number;
  readonly session: number;
  readonly body: Buffer;
  readonly raw: Buffer;
}

export interface AcctRecord {
  readonly flags: number;
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
  readonly args: string[];
}

function pad(session: number, key: Buffer, version: number, seq: number, len: number): Buffer {
  const chunks: Buffer[] = [];
  let last = Buffer.alloc(0);
  const sid = Buffer.alloc(4);
  sid.writeUInt32BE(session >>> 0);
  let have = 0;
  while (have < len) {
    last = createHash("md5").update(Buffer.concat([sid, key, Buffer.from([version, seq]), last])).digest();
    chunks.push(last);
    have += 16;
  }
  return Buffer.concat(chunks).subarray(0, len);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const o = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) o[i] = a[i] ^ b[i];
  return o;
}

/** Fields of a START / authorization / accounting request, parsed the simple way. */
function fields(body: Buffer, lead: number, withArgs: boolean): { user: string; port: string; rem: string; data: Buffer; args: string[] } {
  const ul = body[lead + 4], pl = body[lead + 5], rl = body[lead + 6], last = body[lead + 7];
  let o = lead + 8;
  const argLens: number[] = [];
  if (withArgs) for (let i = 0; i < last; i++) argLens.push(body[o++]);
  const take = (n: number) => {
    const v = body.subarray(o, o + n);
    o += n;
    return v;
  };
  const user = take(ul).toString();
  const port = take(pl).toString();
  const rem = take(rl).toString();
  const data = withArgs ? Buffer.alloc(0) : take(last);
  const args = argLens.map((n) => take(n).toString());
  if (o !== body.length) throw new Error(`peer: body length ${body.length}, fields end at ${o}`);
  return { user, port, rem, data, args };
}

export class TacacsPeer {
  readonly seen: SeenPacket[] = [];
  readonly accounting: AcctRecord[] = [];
  /** Packets from the client the peer could not parse (a test asserts none). */
  readonly errors: string[] = [];
  /** Client → server byte streams per connection (for the pcap). */
  readonly streams = new Map<number, { port: number; packets: Buffer[] }>();
  connections = 0;
  /** How many of the next replies to compute (recording accounting) but never send: an answer lost on the way back. */
  loseReplies = 0;
  /** Accounting REQUESTs answered ERROR by `acctError`. */
  acctErrors = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(readonly opts: PeerOptions) {
    this.server = net.createServer((s) => this.accept(s));
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((res) => this.server.listen(port, "127.0.0.1", res));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }

  private accept(s: net.Socket): void {
    const conn = ++this.connections;
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
    this.streams.set(conn, { port: s.remotePort ?? 0, packets: [] });
    let buf = Buffer.alloc(0);
    let single = false;
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 12) {
        const len = buf.readUInt32BE(8);
        if (buf.length < 12 + len) return;
        const raw = buf.subarray(0, 12 + len);
        buf = buf.subarray(12 + len);
        this.streams.get(conn)?.packets.push(Buffer.from(raw));
        const version = raw[0], type = raw[1], seq = raw[2], flags = raw[3], session = raw.readUInt32BE(4);
        const key = Buffer.from(this.opts.key);
        const body = flags & 1 ? Buffer.from(raw.subarray(12)) : xor(raw.subarray(12), pad(session, key, version, seq, len));
        this.seen.push({ conn, version, type, seq, flags, session, body, raw: Buffer.from(raw) });
        const fault = this.opts.fault ?? "none";
        if (fault === "silent") continue;
        if (fault === "close") {
          s.destroy();
          return;
        }
        if (fault === "garbage") {
          s.write(Buffer.from("HTTP/1.0 400 Bad Request\r\n\r\n"));
          continue;
        }
        if (seq === 1 && this.opts.singleConnect === true && (flags & 4) !== 0) single = true;
        const reply = this.answer(type, body, version);
        if (this.loseReplies > 0) {
          this.loseReplies--;
          continue;
        }
        const replyKey = fault === "wrong-key" ? Buffer.from(this.opts.key + "x") : key;
        const hdr = Buffer.alloc(12);
        hdr[0] = version;
        hdr[1] = type;
        hdr[2] = seq + 1;
        hdr[3] = single ? 4 : 0;
        hdr.writeUInt32BE(session, 4);
        hdr.writeUInt32BE(reply.length, 8);
        s.write(Buffer.concat([hdr, xor(reply, pad(session, replyKey, version, seq + 1, reply.length))]));
        if (!single) s.end();
      }
    });
  }

  private user(name: string): PeerUser | undefined {
    return this.opts.users.find((u) => u.name === name);
  }

  private answer(type: number, body: Buffer, version: number): Buffer {
    try {
      return this.answerOrThrow(type, body, version);
    } catch (e) {
      this.errors.push(String(e));
      return type === 1 ? authenReply(7, "malformed", Buffer.alloc(0)) : type === 2 ? authorReply(0x11, []) : acctReply(2);
    }
  }

  private answerOrThrow(type: number, body: Buffer, version: number): Buffer {
    if (this.opts.fault === "error") return type === 1 ? authenReply(7, "server error", Buffer.alloc(0)) : type === 2 ? authorReply(0x11, []) : acctReply(2);
    if (type === 1) return this.authen(body, version);
    if (type === 2) {
      const f = fields(body, 0, true);
      const u = this.user(f.user);
      if (u === undefined || u.authorFail === true) return authorReply(0x10, []);
      return authorReply(1, u.avPairs ?? []);
    }
    const f = fields(body, 1, true);
    if (this.opts.acctError?.(f.args, body[0]) === true) {
      this.acctErrors++;
      return acctReply(2);
    }
    this.accounting.push({ flags: body[0], user: f.user, port: f.port, remAddr: f.rem, args: f.args });
    return acctReply(1);
  }

  private authen(body: Buffer, version: number): Buffer {
    const authenType = body[2];
    const f = fields(body, 0, false);
    const u = this.user(f.user);
    const fail = authenReply(2, "denied", Buffer.alloc(0));
    // RFC 8907 §5.4.2: PAP, CHAP and MS-CHAP STARTs come with minor version 1.
    if ((version & 0x0f) !== 1 || body[0] !== 1 || body[3] !== 3) return authenReply(7, "bad START", Buffer.alloc(0));
    if (u === undefined) return fail;
    const d = f.data;
    const pass = authenReply(1, "", Buffer.alloc(0));
    switch (authenType) {
      case 2:
        return d.toString() === u.password ? pass : fail;
      case 3: {
        const want = createHash("md5").update(Buffer.concat([d.subarray(0, 1), Buffer.from(u.password), d.subarray(1, d.length - 16)])).digest();
        return want.equals(d.subarray(d.length - 16)) ? pass : fail;
      }
      case 5: {
        if (d.length !== 1 + 8 + 49) return fail;
        const nt = mschap1NtResponse(d.subarray(1, 9), ntPasswordHash(u.password));
        return Buffer.from(nt).equals(d.subarray(9 + 24, 9 + 48)) && d[57] === 1 ? pass : fail;
      }
      case 6: {
        if (d.length !== 1 + 16 + 49) return fail;
        const auth = d.subarray(1, 17), peer = d.subarray(17, 33), nt = d.subarray(41, 65);
        const hash = ntPasswordHash(u.password);
        if (!Buffer.from(mschap2NtResponse(auth, peer, f.user, hash)).equals(nt)) return fail;
        const s = this.opts.mschapv2Success === true ? Buffer.from(mschap2AuthenticatorResponse(hash, nt, peer, auth, f.user)) : Buffer.alloc(0);
        return authenReply(1, "", s);
      }
      default:
        return authenReply(6, "unsupported", Buffer.alloc(0));
    }
  }
}

function authenReply(status: number, msg: string, data: Buffer): Buffer {
  const m = Buffer.from(msg);
  const h = Buffer.alloc(6);
  h[0] = status;
  h.writeUInt16BE(m.length, 2);
  h.writeUInt16BE(data.length, 4);
  return Buffer.concat([h, m, data]);
}

function authorReply(status: number, args: readonly string[]): Buffer {
  const a = args.map((x) => Buffer.from(x));
  const h = Buffer.alloc(6);
  h[0] = status;
  h[1] = a.length;
  return Buffer.concat([h, Buffer.from(a.map((x) => x.length)), ...a]);
}

function acctReply(status: number): Buffer {
  const h = Buffer.alloc(5);
  h[4] = status;
  return h;
}

/**
 * A pcap (LINKTYPE_RAW, IPv4/TCP to port 49) holding every packet the client sent, one TCP segment each, so
 * tshark's TACACS+ dissector judges the bytes. Checksums are left 0 (tshark does not verify them by default).
 */
export function clientPcap(streams: ReadonlyMap<number, { port: number; packets: Buffer[] }>): Buffer {
  const out: Buffer[] = [];
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16);
  g.writeUInt32LE(101, 20);
  out.push(g);
  let t = 1;
  for (const [conn, { port, packets }] of streams) {
    let seq = 1000;
    for (const p of packets) {
      const tcp = Buffer.alloc(20);
      tcp.writeUInt16BE(port || 40000 + conn, 0);
      tcp.writeUInt16BE(49, 2);
      tcp.writeUInt32BE(seq, 4);
      tcp.writeUInt32BE(1, 8);
      tcp[12] = 5 << 4;
      tcp[13] = 0x18;
      tcp.writeUInt16BE(65535, 14);
      seq += p.length;
      const ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(20 + 20 + p.length, 2);
      ip[8] = 64;
      ip[9] = 6;
      ip.set([127, 0, 0, 1], 12);
      ip.set([127, 0, 0, 1], 16);
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      ip.writeUInt16BE(~sum & 0xffff, 10);
      const frame = Buffer.concat([ip, tcp, p]);
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(t++, 0);
      rec.writeUInt32LE(frame.length, 8);
      rec.writeUInt32LE(frame.length, 12);
      out.push(rec, frame);
    }
  }
  return Buffer.concat(out);
}

/** A loopback port nothing listens on (yet): a TACACS+ server that is down, until a peer listens there. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
