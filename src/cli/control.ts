/**
 * The control socket of a running pptp-ts process (`[server] control-socket`): one AdminTarget over whatever the
 * process runs — the server role, its dial-out peers, or both (src/admin/target.ts) — so `pptp-ts show …` and
 * `clear …` reach `server -c` and `connect -c FILE` alike. No socket is no reason not to run: the problem is logged.
 */
import { openControlSocket, type ControlSocket } from "../io/control-socket.js";
import { answerControl, type CaptureTarget } from "../admin/commands.js";
import type { Logger } from "../server/log.js";

/** `target` undefined: the process runs neither a server role nor dial-out peers, so there is nothing to answer for. */
export async function openAdminSocket(path: string, target: CaptureTarget | undefined, logger: Logger): Promise<ControlSocket | undefined> {
  if (path === "" || target === undefined) return undefined;
  try {
    const c = await openControlSocket(path, async (req) => answerControl(target, req));
    logger.log("events", `control socket ${path} (pptp-ts show sessions / clear)`);
    return c;
  } catch (e) {
    logger.log("errors", `control socket: ${(e as Error).message}; running without one`);
    return undefined;
  }
}
