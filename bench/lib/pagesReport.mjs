// Markdown for a page-load run (bench/pages.mjs): one table per app with the
// load event's median and p95 per page, mode and target, the ratios to
// nginx + php-fpm, what each load cost in requests, and issue 16's goals.
import { fmt } from './report.mjs';

/** Nearest-rank percentile of an unsorted array (p in 0…1). */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);

/** The figures reported for one cell (page × mode × target) from its loads. */
export function summariseLoads(loads) {
  const pick = (key) => loads.map((l) => l[key]);
  return {
    loads: loads.length,
    loadMedianMs: percentile(pick('loadMs'), 0.5),
    loadP95Ms: percentile(pick('loadMs'), 0.95),
    ttfbMedianMs: percentile(pick('ttfbMs'), 0.5),
    ttfbP95Ms: percentile(pick('ttfbMs'), 0.95),
    dclMedianMs: percentile(pick('dclMs'), 0.5),
    requests: mean(pick('requests')),
    notModified: mean(pick('notModified')),
    fromCache: mean(pick('fromCache')),
    subresources: mean(pick('subresources')),
    failed: pick('failed').reduce((a, b) => a + b, 0),
    kib: mean(pick('kib')),
  };
}

const x = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '–');
const count = (n) => (Number.isInteger(n) ? String(n) : fmt(n, 1));

/** Issue 16's page-load goals: ours against nginx + php-fpm and against php -S, medians. */
const GOALS = [
  { vs: 'nginx', max: 1.05 },
  { vs: 'phps', max: 0.9 },
];

export function renderPagesReport(results) {
  const { meta, targets, apps } = results;
  const ids = Object.keys(targets);
  const L = [];
  L.push(`### Page loads, run of ${meta.date} (${meta.mode}${meta.mode === 'quick' ? ', a smoke run, not for the record' : ''})`);
  L.push('');
  L.push(
    `${meta.cpu}; ${meta.workers} PHP workers per target${meta.phpsNote ? ` (php -S: ${meta.phpsNote})` : ''}; headless ${meta.browser} (playwright-core ${meta.playwright}); ` +
      `${meta.loads} loads per cell in batches of ${meta.batch}, the targets interleaved; the apps' files dated ${meta.assetAgeS} s before the run; ` +
      (meta.revalidateAll
        ? 'nginx and apache told to send static files with `Cache-Control: public, max-age=0` as ours does (--revalidate-all).'
        : "every server's own cache headers (nginx and apache: validators without Cache-Control, so Chrome reuses their static files without asking)."),
  );
  L.push(`Load average before ${meta.loadBefore}; during, the 1-minute figure ranged ${meta.loadDuring}; after ${meta.loadAfter ?? '?'}.`);
  L.push(
    `${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.`,
  );
  L.push('');
  for (const app of Object.values(apps)) {
    if (app.skipped) {
      L.push(`#### ${app.label}: skipped: ${app.skipped}`, '');
      continue;
    }
    L.push(
      `#### ${app.label}: ${app.files} files, ${fmt(app.bytes / 1024, 0)} KiB; subresources per page: ${Object.entries(app.subresources)
        .map(([path, n]) => `${path} ${n}`)
        .join(', ')}`,
    );
    L.push('');
    L.push('| page | load | target | `load` median ms | p95 | median × nginx | p95 × nginx | TTFB median | requests | 304 | from cache | KiB |');
    L.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [path, modes] of Object.entries(app.pages)) {
      for (const [mode, cells] of Object.entries(modes)) {
        const base = cells.nginx?.summary;
        for (const id of ids) {
          const s = cells[id]?.summary;
          if (!s) continue;
          const failed = s.failed ? ` (**${s.failed} failed**)` : '';
          L.push(
            `| ${path} | ${mode} | ${targets[id].label} | ${fmt(s.loadMedianMs, 1)}${failed} | ${fmt(s.loadP95Ms, 1)} | ${x(s.loadMedianMs / base?.loadMedianMs)} | ${x(s.loadP95Ms / base?.loadP95Ms)} | ${fmt(s.ttfbMedianMs, 1)} | ${count(s.requests)} | ${count(s.notModified)} | ${count(s.fromCache)} | ${fmt(s.kib, 0)} |`,
          );
        }
      }
    }
    L.push('');
  }
  L.push(
    "Per load: `load` = the load event's end (Navigation Timing, from navigation start); TTFB = the page's responseStart; " +
      'requests = the page plus its subresources that went to the server; 304 = those answered "not modified"; ' +
      "from cache = subresources Chrome took from its cache without asking; KiB = bytes transferred (Resource Timing's figure: bodies as sent, each response's headers counted as 300 B). Ratios: below 1 is faster than nginx + php-fpm.",
  );
  L.push('');
  if (targets.ours) {
    L.push('| goal (issue 16, medians) | page | load | required | measured | met |');
    L.push('| --- | --- | --- | --- | --- | --- |');
    for (const app of Object.values(apps)) {
      for (const [path, modes] of Object.entries(app.pages ?? {})) {
        for (const [mode, cells] of Object.entries(modes)) {
          for (const g of GOALS) {
            if (!cells[g.vs] || !cells.ours) continue;
            const r = cells.ours.summary.loadMedianMs / cells[g.vs].summary.loadMedianMs;
            L.push(`| ours / ${targets[g.vs].label} | ${app.label} ${path} | ${mode} | ≤ ${g.max}× | ${x(r)} | ${r <= g.max ? 'yes' : '**no**'} |`);
          }
        }
      }
    }
    L.push('');
  }
  L.push('| target | start-up, launch → first 200 of the first page (per app) | processes after warm-up (per app) |');
  L.push('| --- | --- | --- |');
  for (const id of ids) {
    const t = targets[id];
    L.push(
      `| ${t.label} | ${Object.entries(t.perApp)
        .map(([appId, a]) => `${appId} ${fmt(a.coldStartMs, 1)} ms`)
        .join(', ')} | ${Object.entries(t.perApp)
        .map(([appId, a]) => `${appId} ${a.processesAfterWarmup}`)
        .join(', ')} |`,
    );
  }
  L.push('');
  return L.join('\n');
}
