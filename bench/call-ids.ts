/**
 * Call ID allocation in the process-wide GRE demultiplexer (src/io/gre-demux.ts): the time to fill all 65535
 * IDs, and one allocation when only the ID just behind the cursor is free (a full turn of the search). The unit
 * test checks the cursor property that keeps the first linear; the figures here are for reading, not asserting.
 * `node dist/bench/call-ids.js`, and part of `npm run bench`.
 */
import { fileURLToPath } from "node:url";
import { GreDemux, MAX_CALL_ID } from "../src/io/gre-demux.js";
import { MemoryGreNetwork } from "../src/io/memory.js";
import { formatFigure, type Figure } from "./load/report.js";


function demux(): GreDemux {
  return new GreDemux(new MemoryGreNetwork().attach(0xc6336401), () => 0);
}

/** Milliseconds to allocate every Call ID, best of RUNS. */
function fillAll(RUNS: number): number {
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const d = demux();
    const t0 = process.hrtime.bigint();
    let n = 0;
    while (d.allocateCallId() !== undefined) n++;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (n !== MAX_CALL_ID) throw new Error(`allocated ${n} of ${MAX_CALL_ID}`);
    best = Math.min(best, ms);
  }
  return best;
}

/** Microseconds for one allocation that has to look at every other ID first, best of RUNS. */
function fullTurn(RUNS: number): number {
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const d = demux();
    while (d.allocateCallId() !== undefined);
    const last = MAX_CALL_ID; // the cursor is back at 1; free the ID a whole turn away
    d.release(last);
    const t0 = process.hrtime.bigint();
    const got = d.allocateCallId();
    const us = Number(process.hrtime.bigint() - t0) / 1e3;
    if (got !== last) throw new Error(`expected ${last}, got ${got}`);
    best = Math.min(best, us);
  }
  return best;
}

/**
 * The figures: filling the whole space, and one allocation after a full turn, the latter as a ratio to the mean
 * allocation of the fill measured in the same run (a full turn looks at every ID once: expect thousands).
 */
export function callIdFigures(runs = 5): Figure[] {
  const fill = fillAll(runs);
  const turn = fullTurn(runs);
  const meanUs = (fill * 1000) / MAX_CALL_ID;
  return [
    { name: "callids.fill_all", value: fill, unit: "ms", note: `${MAX_CALL_ID} IDs in GreDemux, best of ${runs}` },
    { name: "callids.full_turn", value: turn, unit: "µs", ratio: { value: turn / meanUs, to: `callids.fill_all's mean allocation ${meanUs.toFixed(3)} µs` }, note: `one allocation that looks at every other ID first, best of ${runs}` },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) for (const f of callIdFigures()) console.log(formatFigure(f));
