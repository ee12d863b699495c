/**
 * The load generator's network: two namespaces (server and generator) joined by a veth pair, created for the run
 * and deleted after it. Nothing is addressed outside them. Names start with "pptpts-load-" so a run killed with
 * SIGKILL leaves something an operator can recognise (`ip netns list`, then `ip netns del NAME`).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface LoadNetwork {
  readonly serverNs: string;
  readonly generatorNs: string;
  /** The server's and the generator's addresses on the veth. */
  readonly serverAddress: string;
  readonly generatorAddress: string;
  destroy(): void;
}

const SERVER_ADDRESS = "10.231.0.1";
const GENERATOR_ADDRESS = "10.231.0.2";

function ip(ns: string, ...args: string[]): void {
  execFileSync("ip", ["-n", ns, ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

function sysctl(ns: string, setting: string): void {
  execFileSync("ip", ["netns", "exec", ns, "sysctl", "-qw", setting], { stdio: ["ignore", "ignore", "pipe"] });
}

export function createLoadNetwork(): LoadNetwork {
  const tag = randomBytes(3).toString("hex");
  const serverNs = `pptpts-load-${tag}-s`;
  const generatorNs = `pptpts-load-${tag}-g`;
  const created: string[] = [];
  const destroy = (): void => {
    for (const ns of created.splice(0)) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // Already gone.
      }
    }
  };
  try {
    for (const ns of [serverNs, generatorNs]) {
      execFileSync("ip", ["netns", "add", ns], { stdio: ["ignore", "ignore", "pipe"] });
      created.push(ns);
      ip(ns, "link", "set", "lo", "up");
      // IPCP carries IPv4 only; IPv6 on the server's TUN would only add router solicitations to the noise.
      sysctl(ns, "net.ipv6.conf.all.disable_ipv6=1");
      sysctl(ns, "net.ipv6.conf.default.disable_ipv6=1");
    }
    // Up to 30,000 TCP connections from one address to one port: more source ports than the default 28,232.
    sysctl(generatorNs, "net.ipv4.ip_local_port_range=1024 65535");
    // A ramp of thousands of connections per second must not overflow the SYN and accept queues.
    sysctl(serverNs, "net.ipv4.tcp_max_syn_backlog=65535");
    sysctl(serverNs, "net.core.somaxconn=65535");
    const vs = `plv${tag}s`;
    const vg = `plv${tag}g`;
    ip(serverNs, "link", "add", vs, "type", "veth", "peer", "name", vg, "netns", generatorNs);
    ip(serverNs, "addr", "add", `${SERVER_ADDRESS}/30`, "dev", vs);
    ip(generatorNs, "addr", "add", `${GENERATOR_ADDRESS}/30`, "dev", vg);
    ip(serverNs, "link", "set", vs, "up");
    ip(generatorNs, "link", "set", vg, "up");
  } catch (e) {
    destroy();
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`cannot create the load network: ${err.stderr?.toString().trim() || err.message}`);
  }
  return { serverNs, generatorNs, serverAddress: SERVER_ADDRESS, generatorAddress: GENERATOR_ADDRESS, destroy };
}
