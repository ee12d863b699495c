/**
 * AAA counters that survive a reload. SIGHUP builds new RADIUS/TACACS+ clients whose counters start at zero;
 * Prometheus counters must never go down between scrapes (a drop reads as a process restart and `rate()` jumps),
 * and `show stats` should count since the server started. So a reload folds the old clients' totals into a base
 * that every later reading adds, topic by topic ("radius 10.0.0.5:1812") and field by field.
 */
export type CounterTopics = Record<string, Record<string, number>>;

export class CarriedCounters {
  private readonly base: CounterTopics = {};

  /** The clients being replaced: their totals so far join the base. */
  retire(last: CounterTopics): void {
    for (const [topic, fields] of Object.entries(last)) {
      const into = (this.base[topic] ??= {});
      for (const [k, v] of Object.entries(fields)) into[k] = (into[k] ?? 0) + v;
    }
  }

  /** The running clients' counters plus everything retired; a topic no longer configured keeps its last totals. */
  view(current: CounterTopics): CounterTopics {
    const out: CounterTopics = {};
    for (const [topic, fields] of Object.entries(this.base)) out[topic] = { ...fields };
    for (const [topic, fields] of Object.entries(current)) {
      const into = (out[topic] ??= {});
      for (const [k, v] of Object.entries(fields)) into[k] = (into[k] ?? 0) + v;
    }
    return out;
  }
}
