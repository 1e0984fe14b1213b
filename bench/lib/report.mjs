// Markdown for a bench run: the issue's headline table with every ratio,
// the targets, the full matrix, resources and the micro-benchmarks.

export function fmt(n, digits = 1) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  if (digits === 0) return Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
  return n.toFixed(digits);
}

const ratio = (a, b) => (a && b ? a / b : NaN);
const x = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '–');

/** The issue's targets on the headline cells. */
const GOALS = [
  { key: 'hello@8', vs: 'apache', min: 1.0 },
  { key: 'hello@8', vs: 'nginx', min: 0.8 },
  { key: 'json@8', vs: 'apache', min: 1.0 },
  { key: 'json@8', vs: 'nginx', min: 0.8 },
  { key: 'sleep@64', vs: 'nginx', min: 0.95 },
  { key: 'post@8', vs: 'nginx', min: 0.8 },
  { key: 'static@64', vs: 'nginx', min: 0.5 },
  { key: 'hello@64', vs: 'nginx', max: 2.0, metric: 'p99ms' },
];

export function renderReport(results, headline, scenarios) {
  const { meta, targets, runs, micro } = results;
  const ids = Object.keys(targets);
  const L = [];
  L.push(`### Run of ${meta.date} (${meta.mode}${meta.mode === 'quick' ? ', not for the record' : ''})`);
  L.push('');
  L.push(
    `${meta.cpu}; ${meta.workers} PHP workers per target; wrk ${meta.wrkThreads} thread(s), ${meta.seconds} s per cell; load average before ${meta.loadBefore}, after ${meta.loadAfter ?? '?'}.`,
  );
  L.push(
    `${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.`,
  );
  L.push(`${meta.phpIni}.`);
  L.push('');
  // Headline.
  L.push(`| target | ${headline.map((h) => h.label).join(' | ')} |`);
  L.push(`| --- | ${headline.map(() => '---:').join(' | ')} |`);
  for (const id of ids) {
    L.push(`| ${targets[id].label} | ${headline.map((h) => cell(runs[h.key]?.[id], h.metric)).join(' | ')} |`);
  }
  for (const mine of ['ours', 'proposed']) {
    if (!targets[mine]) continue;
    for (const other of ['nginx', 'apache']) {
      if (!targets[other]) continue;
      L.push(
        `| **${mine === 'ours' ? 'ours' : targets[mine].label} / ${targets[other].label}** | ${headline
          .map((h) => x(ratio(runs[h.key]?.[mine]?.[h.metric], runs[h.key]?.[other]?.[h.metric])))
          .join(' | ')} |`,
      );
    }
  }
  L.push('');
  L.push('Ratios are ours divided by theirs: above 1 is better for req/s, below 1 is better for p99.');
  L.push('');
  // Targets.
  if (targets.ours) {
    L.push('| target (issue 6) | required | measured | met |');
    L.push('| --- | --- | --- | --- |');
    for (const g of GOALS) {
      if (!targets[g.vs] || !runs[g.key]) continue;
      const metric = g.metric ?? 'rps';
      const r = ratio(runs[g.key].ours?.[metric], runs[g.key][g.vs]?.[metric]);
      const ok = g.min !== undefined ? r >= g.min : r <= g.max;
      L.push(
        `| ${g.key.replace('@', ' c=')} ${metric === 'p99ms' ? 'p99' : 'req/s'} vs ${targets[g.vs].label} | ${g.min !== undefined ? `≥ ${g.min}×` : `≤ ${g.max}×`} | ${x(r)} | ${ok ? 'yes' : `**no** (${g.min !== undefined ? `${((1 - r / g.min) * 100).toFixed(0)}% short` : `${((r / g.max - 1) * 100).toFixed(0)}% over`})`} |`,
      );
    }
    const cs = targets.ours.coldStartMs;
    L.push(`| cold start (launch → first 200) | ≤ 100 ms | ${fmt(cs, 1)} ms | ${cs <= 100 ? 'yes' : '**no**'} |`);
    if (micro) {
      const l10 = micro.lease?.['10']?.nsPerOp;
      const l1k = micro.lease?.['1000']?.nsPerOp;
      if (l10 !== undefined) {
        const ok = l10 <= 1000 && l1k <= 1000 && Math.abs(l1k - l10) / l10 < 0.25;
        L.push(
          `| lease acquire + release, 10 / 1 000 workers | ≤ 1 µs, the same | ${fmt(l10 / 1000, 3)} / ${fmt(l1k / 1000, 3)} µs | ${ok ? 'yes' : '**no**'} |`,
        );
      }
      if (micro.eventLoopLag) {
        const p99 = micro.eventLoopLag.p99ms;
        L.push(`| event-loop lag p99 at saturation (hello c=64, same process) | ≤ 10 ms | ${fmt(p99, 2)} ms | ${p99 <= 10 ? 'yes' : '**no**'} |`);
      }
    }
    L.push('');
  }
  // Full matrix.
  L.push('<details><summary>Every cell: req/s, p50 and p99 latency (ms)</summary>');
  L.push('');
  L.push(
    `| page | c | ${ids.map((id) => `${targets[id].label} req/s | p50 | p99`).join(' | ')}${targets.ours && targets.nginx ? ' | ours/nginx' : ''}${targets.ours && targets.apache ? ' | ours/apache' : ''} |`,
  );
  L.push(
    `| --- | ---: | ${ids.map(() => '---: | ---: | ---:').join(' | ')}${targets.ours && targets.nginx ? ' | ---:' : ''}${targets.ours && targets.apache ? ' | ---:' : ''} |`,
  );
  for (const s of scenarios) {
    const row = runs[s.key];
    if (!row) continue;
    const cells = ids.map((id) => {
      const r = row[id];
      return r ? `${cell(r, 'rps')} | ${fmt(r.p50ms, 2)} | ${fmt(r.p99ms, 2)}` : '– | – | –';
    });
    L.push(
      `| ${s.page} | ${s.c} | ${cells.join(' | ')}${targets.ours && targets.nginx ? ` | ${x(ratio(row.ours?.rps, row.nginx?.rps))}` : ''}${targets.ours && targets.apache ? ` | ${x(ratio(row.ours?.rps, row.apache?.rps))}` : ''} |`,
    );
  }
  L.push('');
  L.push('</details>');
  L.push('');
  // Resources.
  L.push('| target | cold start, launch → first 200 (median; trials) | RSS after warm-up | RSS peak under load | processes |');
  L.push('| --- | ---: | ---: | ---: | ---: |');
  for (const id of ids) {
    const t = targets[id];
    L.push(
      `| ${t.label} | ${fmt(t.coldStartMs, 1)} ms (${t.coldStartTrialsMs.map((c) => fmt(c, 1)).join(', ')}) | ${fmt(t.rssAfterWarmupMiB, 1)} MiB | ${fmt(t.rssPeakMiB, 1)} MiB (${t.processesAtPeak} processes, during ${(t.peakDuring ?? '?').replace('@', ' c=')}) | ${t.processesAfterWarmup ?? '–'} |`,
    );
  }
  L.push('');
  if (micro) L.push(renderMicro(micro));
  if (results.microCompare) {
    L.push(`The same micro-benchmarks against ${results.microCompare.label} (bench/proposals/):`);
    L.push('');
    L.push(renderMicro(results.microCompare).split('\n').slice(2).join('\n'));
  }
  return L.join('\n');
}

function cell(r, metric) {
  if (!r) return '–';
  const v = metric === 'p99ms' ? fmt(r.p99ms, 2) : fmt(r.rps, 0);
  return r.errors ? `${v} (${r.errors} errors)` : v;
}

export function renderMicro(m) {
  const L = [];
  L.push('Micro-benchmarks (`node bench/micro.mjs`, one process, median of runs):');
  L.push('');
  L.push('| micro-benchmark | result |');
  L.push('| --- | ---: |');
  for (const [n, r] of Object.entries(m.lease ?? {})) {
    L.push(`| lease acquire + release (sync tryAcquire), ${n} workers | ${fmt(r.nsPerOp / 1000, 3)} µs |`);
    if (r.asyncNsPerOp !== undefined) L.push(`| lease acquire (awaited promise) + release, ${n} workers | ${fmt(r.asyncNsPerOp / 1000, 3)} µs |`);
    if (r.withListenerNs !== undefined)
      L.push(
        `| lease acquire + release with an event listener subscribed (as the CLI and the extension are), ${n} workers | ${fmt(r.withListenerNs / 1000, 3)} µs |`,
      );
  }
  if (m.encode) {
    L.push(`| FastCGI encode: ${m.encode.params} params (${m.encode.bytes} B), encodeParams | ${fmt(m.encode.encodeParamsNs / 1000, 2)} µs |`);
    if (m.encode.encodeRequestNs !== undefined)
      L.push(`| FastCGI encode: BEGIN_REQUEST + PARAMS + empty STDIN in one buffer (encodeRequest) | ${fmt(m.encode.encodeRequestNs / 1000, 2)} µs |`);
    if (m.encode.buildCgiParamsNs !== undefined)
      L.push(`| CGI params from the HTTP request (buildCgiParams) | ${fmt(m.encode.buildCgiParamsNs / 1000, 2)} µs |`);
  }
  if (m.decode) {
    L.push(
      `| decode a 100 KB response (${m.decode.records} records in ${m.decode.chunks} socket-sized chunks) | ${fmt(m.decode.usPerResponse, 2)} µs (${fmt(m.decode.gbps, 1)} GB/s) |`,
    );
  }
  for (const [name, ns] of Object.entries(m.extra ?? {})) L.push(`| ${name} | ${fmt(ns / 1000, 2)} µs |`);
  if (m.eventLoopLag) {
    const e = m.eventLoopLag;
    L.push(
      `| event-loop lag of a 1 ms timer while serving hello.php at c=64 (${e.rps ? fmt(e.rps, 0) + ' req/s, ' : ''}${e.samples} samples): p50 / p99 / max | ${fmt(e.p50ms, 2)} / ${fmt(e.p99ms, 2)} / ${fmt(e.maxms, 2)} ms |`,
    );
  }
  L.push('');
  return L.join('\n');
}
