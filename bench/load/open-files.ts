/**
 * Open files for a load run: every session is one TCP descriptor in the server and one in a generator. As root
 * the orchestrator gives each child what it needs (prlimit --nofile, server-proc.ts / generator-proc.ts); beyond
 * its own hard limit only with CAP_SYS_RESOURCE, which containers often withhold (this workplace: root, hard limit
 * 20,000, no CAP_SYS_RESOURCE). Then the sessions are spread over enough generator processes to fit, and the
 * server — one process by definition — runs at the hard limit: it logs how many sessions fit
 * (src/server/open-file-limit.ts), and the run shows the rest refused.
 */
import { MAX_GENERATORS } from "./options.js";
import { NOFILE_SPARE } from "./proc-stats.js";

export interface OpenFilePlan {
  readonly generators: number;
  /** The server gets fewer descriptors than sessions + NOFILE_SPARE. */
  readonly serverShort: boolean;
  /** Lines for the run's progress output. */
  readonly notes: string[];
}

export function planOpenFiles(sessions: number, generators: number, hard: number, canRaise: boolean): OpenFilePlan {
  const notes: string[] = [];
  if (canRaise) return { generators, serverShort: false, notes };
  let k = generators;
  const perGenerator = hard - NOFILE_SPARE;
  if (perGenerator > 0 && Math.ceil(sessions / k) > perGenerator) {
    k = Math.min(MAX_GENERATORS, Math.ceil(sessions / perGenerator));
    notes.push(`${k} generator processes instead of ${generators}: each holds one descriptor per session, and the hard open-file limit here is ${hard}`);
  }
  const serverShort = sessions + NOFILE_SPARE > hard;
  if (serverShort) {
    notes.push(
      `the server gets ${hard} open files, fewer than its ${sessions} sessions and its own descriptors need: ${hard} is this ` +
        `process's hard limit (ulimit -Hn), which only CAP_SYS_RESOURCE may raise and this root does not have it; the server ` +
        `logs how many sessions fit ("open files: ...") and refuses the rest`,
    );
  }
  return { generators: k, serverShort, notes };
}
