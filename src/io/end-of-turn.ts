/**
 * One flush at the end of the event loop turn for every send queue that has something waiting (the GRE send
 * queue, the TUN write queue): what was queued during the turn goes out in one batch (sendmmsg, one TUN write
 * that the kernel can coalesce), and a queue asks again only after its flush.
 *
 * Why not `queueMicrotask` per queue, as before: Node's queueMicrotask makes an AsyncResource and a bound
 * function on every call. When a turn carries one packet — a slow peer, or our server inside the lab's emulated
 * guest, where the profile put it at about a tenth of the busy time (bench/README, "The anchor, session 9") — that
 * is paid per packet, twice (once per queue). Here one turn costs one `then` on a promise resolved once
 * (≈ 40 ns natively against ≈ 150), whatever the number of queues, and queueing itself allocates nothing.
 */

const waiting: (() => void)[] = [];
let scheduled = false;
const resolved = Promise.resolve();

function flushAll(): void {
  // A flush may queue more and ask again: it is appended here and flushed in this same pass.
  for (let i = 0; i < waiting.length; i++) waiting[i]();
  waiting.length = 0;
  scheduled = false;
}

/**
 * Calls `flush` once this turn's synchronous work and the microtasks queued before it are done. The caller asks
 * at most once until `flush` runs (its own flag, cleared in `flush`), so each queue is in the list once.
 */
export function flushAtEndOfTurn(flush: () => void): void {
  waiting.push(flush);
  if (!scheduled) {
    scheduled = true;
    void resolved.then(flushAll);
  }
}
