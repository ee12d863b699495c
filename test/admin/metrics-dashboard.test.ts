/**
 * examples/grafana/pptp-ts-dashboard.json: a Grafana dashboard whose every query names metrics a running server
 * exports. Each panel's PromQL `expr` (and the template variables' queries) is stripped of strings, label matchers,
 * grouping clauses and ranges; the pptp_… / process_… / nodejs_… identifiers left are looked up in a real scrape of
 * a server with a session (sample names, or the families it declares with HELP/TYPE — a peer metric has no sample
 * on a server without peers — with a histogram's _bucket/_sum/_count).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PptpMetrics } from "../../src/admin/metrics.js";
import { openMetricsHttp } from "../../src/io/metrics-http.js";
import { AddressPool } from "../../src/server/pool.js";
import { rig, dial, waitFor, settings } from "../runtime/server-rig.js";
import { parseExposition, promtoolMissing, sampleNames, type Exposition } from "./metrics-support.js";
import { requireOrSkip } from "../support/prerequisites.js";

const DASHBOARD = fileURLToPath(new URL("../../../examples/grafana/pptp-ts-dashboard.json", import.meta.url));

interface Panel {
  readonly type: string;
  readonly title?: string;
  readonly gridPos?: { h: number; w: number; x: number; y: number };
  readonly targets?: readonly { readonly expr?: string; readonly refId?: string }[];
  readonly panels?: readonly Panel[];
}

/** Every PromQL query of the dashboard with where it is: panel targets (rows' nested panels too) and variables. */
export function dashboardQueries(d: { panels?: readonly Panel[]; templating?: { list?: readonly { name: string; query?: unknown; definition?: string }[] } }): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: readonly Panel[] | undefined): void => {
    for (const p of ps ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === "string") out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (typeof q === "string" && v.definition !== undefined) out.push({ where: `variable $${v.name}`, expr: q });
  }
  return out;
}

/** The metric names a PromQL expression reads: strings, {matchers}, by/without/on/ignoring/group_x (labels), [ranges] removed first. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  return [...new Set([...bare.matchAll(/(?<![A-Za-z0-9_:$])(?:pptp|process|nodejs)_[A-Za-z0-9_:]*/g)].map((m) => m[0]))];
}

/** Names used by `queries` that the scrape does not have, as "name (where)". */
export function missingMetrics(queries: readonly { where: string; expr: string }[], e: Exposition): string[] {
  const samples = sampleNames(e);
  const has = (n: string): boolean => {
    if (samples.has(n) || e.types.has(n)) return true;
    const m = /^(.*)_(bucket|sum|count)$/.exec(n);
    const t = m === null ? undefined : e.types.get(m[1]);
    return t === "histogram" || (t === "summary" && m![2] !== "bucket");
  };
  const out: string[] = [];
  for (const q of queries) for (const n of metricNames(q.expr)) if (!has(n)) out.push(`${n} (${q.where})`);
  return out;
}

async function realScrape(): Promise<Exposition> {
  const r = await rig(settings, undefined, { pool: new AddressPool(settings.ppp.pool) });
  const metrics = new PptpMetrics(() => r.server);
  const http = await openMetricsHttp({ address: "127.0.0.1", port: 0, path: "/metrics", scrape: () => metrics.scrape() });
  try {
    const alice = dial(r, "127.0.0.2", "alice", "pw1");
    await waitFor(() => alice.up(), 8000);
    const text = await (await fetch(`http://127.0.0.1:${http.address.port}/metrics`)).text();
    alice.hangUp();
    return parseExposition(text);
  } finally {
    await http.close();
    await r.stop();
  }
}

describe("examples/grafana/pptp-ts-dashboard.json", () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, "utf8"));

  test("is a Grafana dashboard: uid, title, schema, a Prometheus data-source variable, panels with queries", () => {
    assert.equal(typeof dash.uid, "string");
    assert.equal(dash.title, "pptp-ts");
    assert.ok(dash.schemaVersion >= 36);
    assert.ok(dash.templating.list.some((v: { type: string; query: string }) => v.type === "datasource" && v.query === "prometheus"));
    const panels: Panel[] = dash.panels;
    const titles = panels.filter((p) => p.type !== "row").map((p) => p.title);
    for (const t of ["Sessions up", "Setup rate", "Session ends by cause", "Failures by client error", "Throughput", "GRE drops", "Pool usage", "Peers up"]) assert.ok(titles.includes(t), `a "${t}" panel`);
    for (const p of panels) {
      assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos within 24 columns`);
      if (p.type === "row") continue;
      assert.ok((p.targets ?? []).length > 0, `${p.title} has queries`);
      for (const t of p.targets ?? []) assert.ok(t.refId && t.expr && metricNames(t.expr).length > 0, `${p.title} ${t.refId}: a query naming a metric`);
    }
  });

  test("the name extraction strips functions, strings, label matchers and grouping; a made-up name is reported", () => {
    assert.deepEqual(metricNames('sum by (reason) (rate(pptp_gre_dropped_packets_total{instance=~"$instance", reason!="pptp_fake"}[$__rate_interval])) * 8'), ["pptp_gre_dropped_packets_total"]);
    assert.deepEqual(metricNames("sum by (pool) (pptp_pool_used_addresses) / on(pool) pptp_pool_size_addresses"), ["pptp_pool_used_addresses", "pptp_pool_size_addresses"]);
    assert.deepEqual(metricNames("histogram_quantile(0.9, sum by (le) (rate(nodejs_gc_duration_seconds_bucket[5m])))"), ["nodejs_gc_duration_seconds_bucket"]);
    const e = parseExposition(
      "# HELP pptp_x_total x\n# TYPE pptp_x_total counter\npptp_x_total 1\n# HELP nodejs_gc_duration_seconds g\n# TYPE nodejs_gc_duration_seconds histogram\n",
    );
    assert.deepEqual(missingMetrics([{ where: "a", expr: "rate(pptp_x_total[5m])" }, { where: "b", expr: "rate(nodejs_gc_duration_seconds_sum[5m])" }], e), []);
    assert.deepEqual(missingMetrics([{ where: "c", expr: 'sum(rate(pptp_y_total{a="pptp_x_total"}[5m]))' }], e), ["pptp_y_total (c)"]);
  });

  test("every query is valid PromQL (promtool check rules, Grafana's variables filled in)", { skip: requireOrSkip("promtool", promtoolMissing()) }, () => {
    const queries = dashboardQueries(dash).filter((q) => !q.expr.startsWith("label_values("));
    const exprs = queries.map((q) => q.expr.replaceAll("$__rate_interval", "1m").replaceAll("$instance", ".*"));
    const rules = `groups:\n  - name: dashboard\n    rules:\n${exprs.map((e, i) => `      - record: dashboard:query${i}\n        expr: ${JSON.stringify(e)}\n`).join("")}`;
    const file = join(mkdtempSync(join(tmpdir(), "pptpts-dash-")), "rules.yml");
    writeFileSync(file, rules);
    const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });

  test("every metric a query names exists in a real scrape of a running server", { timeout: 30_000 }, async () => {
    const queries = dashboardQueries(dash);
    assert.ok(queries.length >= 25, `${queries.length} queries`);
    const e = await realScrape();
    assert.deepEqual(missingMetrics(queries, e), []);
    // the other way round: the dashboard shows the metrics an operator needs
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const n of ["pptp_sessions", "pptp_sessions_established_total", "pptp_sessions_ended_total", "pptp_session_client_errors_total", "pptp_traffic_bytes_total", "pptp_gre_dropped_packets_total", "pptp_pool_used_addresses", "pptp_peer_up"]) {
      assert.ok(used.has(n), `the dashboard uses ${n}`);
    }
  });
});
