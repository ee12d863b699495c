/** Every fuzz target, by name. */
import type { FuzzTarget } from "../target.js";
import { controlClient, controlFramer, controlServer } from "./control.js";
import { greChannel } from "./gre.js";
import { mppeDecrypt } from "./mppe.js";
import { pppLinkClient, pppLinkServer } from "./ppp-link.js";
import { configFile, usersFile } from "./config.js";
import { greHeader, msChapText, pppFrame, pptpControlParse } from "./wire.js";
import { radiusReply } from "./radius.js";

export const TARGETS: readonly FuzzTarget[] = [pptpControlParse, controlFramer, controlServer, controlClient, greHeader, greChannel, pppFrame, msChapText, pppLinkServer, pppLinkClient, mppeDecrypt, configFile, usersFile, radiusReply] as FuzzTarget[];

export function findTarget(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no fuzz target "${name}"; targets: ${TARGETS.map((x) => x.name).join(", ")}`);
  return t;
}
