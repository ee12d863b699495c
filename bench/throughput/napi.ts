/**
 * `--napi-threads`: move each veth end's receive out of the sending process's context.
 *
 * A veth transmit without NAPI hands the packet to the peer's receive through the per-CPU backlog and raises
 * NET_RX; the softirq usually runs at the sender's next local_bh_enable, in the sender's context. With tick-based
 * CPU accounting (no CONFIG_IRQ_TIME_ACCOUNTING, as on the bench host) that time lands in the sender's stime. So
 * by default the server's utime + stime holds the *client's* IP receive and raw-socket delivery of every GRE
 * packet the server sends, and the client's holds the server's receive of what the client sends. With GRO on,
 * veth receives through NAPI (veth_set_features), and threaded NAPI (/sys/class/net/DEV/threaded, see
 * Documentation/ABI/testing/sysfs-class-net) runs that poll in a kernel thread "napi/DEV-ID" per queue: each
 * end's receive is then charged to its own thread. The server's cost is its process plus the thread of its own
 * veth end (its receive of the client's packets); the client's thread is the remote client's receive, not ours.
 *
 * GRO itself changes nothing for this traffic: the kernel's GRE GRO handles version 0 only, PPTP's enhanced GRE
 * is version 1 (RFC 2637 §4.1), so every packet is received on its own as before.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * ETHTOOL_STSO off, then ETHTOOL_SGRO on, through SIOCETHTOOL (linux/ethtool.h, linux/sockios.h; ethtool(8) is not
 * installed everywhere). TSO off: veth_xmit hands a packet to the peer's NAPI only if the sending end has no TSO
 * (veth_skb_is_eligible_for_gro), else to the backlog as before. Our GRE and the tunnel's TCP cross the veth as
 * single packets either way (a raw socket builds no GSO packets; the TCP inside the tunnel is segmented at the TUN).
 */
const SET_GRO = `
import ctypes, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for cmd, on in ((0x1f, 0), (0x2c, 1)):
    val = ctypes.create_string_buffer(struct.pack("II", cmd, on))
    ifr = struct.pack("16sP", sys.argv[1].encode(), ctypes.addressof(val)).ljust(40, b"\\0")
    fcntl.ioctl(s, 0x8946, ifr)
`;

/** The veth device in namespace ns (the load network has one per namespace). */
export function vethIn(ns: string): string {
  const dev = firstLinkName(execFileSync("ip", ["-n", ns, "-o", "link", "show", "type", "veth"], { encoding: "utf8" }));
  if (dev === undefined) throw new Error(`no veth in ${ns}`);
  return dev;
}

/** The first device of `ip -o link show` output ("2: plv1s@if3: <...> ..." → "plv1s"). */
export function firstLinkName(ipOutput: string): string | undefined {
  return /^\d+:\s+([^@:\s]+)/m.exec(ipOutput)?.[1];
}

/** GRO on, then threaded NAPI, on dev inside ns (GRO first: it creates the NAPI instances the threads poll). */
export function threadVethReceive(ns: string, dev: string): void {
  try {
    execFileSync("ip", ["netns", "exec", ns, "python3", "-c", SET_GRO, dev], { stdio: ["ignore", "ignore", "pipe"] });
    execFileSync("ip", ["netns", "exec", ns, "sh", "-c", `echo 1 > /sys/class/net/${dev}/threaded`], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`--napi-threads: cannot thread ${dev}'s receive in ${ns}: ${err.stderr?.toString().trim() || err.message}`);
  }
}

/** The pids of dev's NAPI kernel threads ("napi/DEV-ID"; the comm may be cut at 15 characters). */
export function napiThreads(dev: string): number[] {
  const want = `napi/${dev}`.slice(0, 15);
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").startsWith(want)) pids.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
