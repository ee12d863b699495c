/**
 * The control socket of a running pptp-ts process (`[server] control-socket`): one AdminTarget over whatever the
 * process runs — the server role, its dial-out peers, or both (src/admin/target.ts) — so `pptp-ts show …` and
 * `clear …` reach `server -c` and `connect -c FILE` alike. No socket is no reason not to run: the problem is logged.
 */
import { openControlSocket, type ControlSocket } from "../io/control-socket.js";
import { answerAdmin } from "../admin/commands.js";
import { processTarget, type TargetExtras } from "../admin/target.js";
import type { Logger } from "../server/log.js";
import type { RunningRoles } from "./roles.js";

export async function openAdminSocket(path: string, roles: Pick<RunningRoles, "server" | "clients">, logger: Logger, extras: TargetExtras = {}): Promise<ControlSocket | undefined> {
  if (path === "" || (roles.server === undefined && roles.clients.length === 0)) return undefined;
  const target = processTarget(roles, extras);
  try {
    const c = await openControlSocket(path, async (req) => answerAdmin(target, req));
    logger.log("events", `control socket ${path} (pptp-ts show sessions / clear)`);
    return c;
  } catch (e) {
    logger.log("errors", `control socket: ${(e as Error).message}; running without one`);
    return undefined;
  }
}
