#!/usr/bin/env node
// npm run bench:replay [-- --cold] [--rounds 300] [--compare-cli PATH] [--no-install]
//
// The server's share of a page load, without a browser: a Node client replays
// what Chromium sends for the heavy app's page (bench/apps/heavy): the page,
// then its 22 subresources over 6 kept-alive connections, as a reload does
// (each with the validators its server gave it: If-None-Match and
// If-Modified-Since, answered 304) or, with --cold, as a first visit does
// (plain GETs over 6 new connections). Prints, per target, the median and
// p90 of the whole replay, and of each kind of answer. The targets take turns
// round by round. A browser's page load adds its own ~100 ms of work on top,
// which is why bench:pages cannot resolve a change of a millisecond here.
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { ensureInstalled } from './lib/install.mjs';
import { createPageApp } from './lib/pageApps.mjs';
import { percentile } from './lib/pagesReport.mjs';
import { TARGETS } from './lib/targets.mjs';

const { values: opt } = parseArgs({
  options: {
    cold: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '300' },
    'compare-cli': { type: 'string' },
    'no-install': { type: 'boolean', default: false },
  },
});
const rounds = Number(opt.rounds);
if (!(rounds > 0)) throw new Error(`--rounds: a positive number, not ${opt.rounds}`);
if (!opt['no-install']) ensureInstalled();

/** One GET on `agent`; resolves with its status, headers, body and time. */
function get(agent, url, headers = {}) {
  return new Promise((resolveGet, reject) => {
    const started = performance.now();
    const req = request(url, { agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () =>
        resolveGet({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - started }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The page's subresources as Chromium fetches them: images, scripts, stylesheets (same origin). */
function subresources(html) {
  const urls = [...html.matchAll(/<(?:img|script)[^>]*\ssrc="([^"#]+)"|<link[^>]*\shref="([^"#]+)"/g)].map((m) => (m[1] ?? m[2]).replaceAll('&amp;', '&'));
  return [...new Set(urls.filter((u) => u.startsWith('/') && !u.startsWith('//')))];
}

const app = createPageApp('heavy', { mtime: new Date(Date.now() - 86_400_000) });
const running = {};
const stopAll = async () => {
  for (const target of Object.values(running)) await target.stop().catch(() => undefined);
  await app.remove();
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
try {
  await app.start();
  // nginx sends Cache-Control max-age=0 as ours does, so both answer the same revalidations.
  running.nginx = await TARGETS.nginx.start({ app: app.docroot, workers: 4, probe: '/', staticMaxAge0: true });
  running.ours = await TARGETS.ours.start({ app: app.docroot, workers: 4, probe: '/' });
  if (opt['compare-cli']) running.compare = await TARGETS.ours.start({ app: app.docroot, workers: 4, probe: '/', cli: opt['compare-cli'] });

  const state = {};
  for (const [id, target] of Object.entries(running)) {
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    const page = await get(agent, `${target.url}/`);
    const urls = subresources(page.body);
    const validators = {};
    for (const url of urls) {
      const first = await get(agent, target.url + url);
      if (first.status !== 200) throw new Error(`${id}: GET ${url} answered ${first.status}`);
      validators[url] = { 'if-none-match': first.headers.etag, 'if-modified-since': first.headers['last-modified'] };
    }
    state[id] = { agent, urls, validators, replays: [], kinds: {} };
  }

  for (let round = 0; round < rounds; round++) {
    const ids = Object.keys(running);
    for (const id of [...ids.slice(round % ids.length), ...ids.slice(0, round % ids.length)]) {
      const s = state[id];
      if (opt.cold) {
        s.agent.destroy();
        s.agent = new Agent({ keepAlive: true, maxSockets: 6 });
      }
      const started = performance.now();
      await get(s.agent, `${running[id].url}/`);
      const answers = await Promise.all(
        s.urls.map((url) => {
          const headers = opt.cold ? {} : Object.fromEntries(Object.entries(s.validators[url]).filter(([, v]) => v !== undefined));
          return get(s.agent, running[id].url + url, headers).then((answer) => ({ url, ...answer }));
        }),
      );
      s.replays.push(performance.now() - started);
      for (const a of answers) (s.kinds[`${a.url.includes('.php') ? 'PHP' : 'static'} ${a.status}`] ??= []).push(a.ms);
    }
  }

  const label = { nginx: 'nginx + php-fpm', ours: 'fastcgi-pool', compare: `fastcgi-pool (${opt['compare-cli']})` };
  console.log(`heavy page, ${opt.cold ? 'cold (plain GETs, new connections)' : 'warm (revalidations, kept connections)'}, ${rounds} rounds`);
  for (const [id, s] of Object.entries(state)) {
    console.log(
      `${label[id]}: page + ${s.urls.length} subresources ${percentile(s.replays, 0.5).toFixed(2)} ms median, ${percentile(s.replays, 0.9).toFixed(2)} ms p90`,
    );
    for (const [kind, ms] of Object.entries(s.kinds))
      console.log(`  ${kind}: ${ms.length} answers, ${percentile(ms, 0.5).toFixed(3)} ms median, ${percentile(ms, 0.9).toFixed(3)} ms p90`);
    s.agent.destroy();
  }
} finally {
  await stopAll();
}
