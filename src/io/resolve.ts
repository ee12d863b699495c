/**
 * Name resolution for dial-out: the peer's name is looked up again at every attempt, because the seeds' branch
 * offices sit behind dynamic DNS names whose address changes while the process runs.
 */
import { lookup } from "node:dns/promises";
import { parseIpv4 } from "../wire/ipv4.js";

export type Resolver = (host: string) => Promise<string>;

/** An IPv4 literal as is; otherwise the first IPv4 address the system resolver gives (getaddrinfo, /etc/hosts). */
export const resolveIpv4: Resolver = async (host) => {
  if (parseIpv4(host).ok) return host;
  try {
    const r = await lookup(host, { family: 4 });
    return r.address;
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(`cannot resolve ${host}: ${code === "ENOTFOUND" ? "no such host name" : code ?? (e as Error).message}`);
  }
};
