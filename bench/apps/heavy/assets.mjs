// The heavy app's static assets, generated into public/assets/ when the
// benchmark copies the app (rather than kept in git as ~500 KB of filler):
// 4 stylesheets, 6 scripts, an SVG logo and 4 PNGs, from a few KB to ~100 KB,
// valid and deterministic (the same bytes in every run), so the browser parses,
// runs and decodes them as it would real ones.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

/** Deterministic bytes: SHA-256 of seed + block counter (no Math.random, no PRNG copy). */
function byteStream(seed) {
  let block = Buffer.alloc(0);
  let at = 0;
  let counter = 0;
  return () => {
    if (at >= block.length) {
      block = createHash('sha256').update(`${seed}:${counter++}`).digest();
      at = 0;
    }
    return block[at++];
  };
}

/** Appends pieces from `make(i)` until the text reaches `bytes`. */
function fill(header, bytes, make) {
  const parts = [header];
  let size = header.length;
  for (let i = 0; size < bytes; i++) {
    const part = make(i);
    parts.push(part);
    size += part.length;
  }
  return parts.join('');
}

const hex = (next) => `#${[next(), next(), next()].map((b) => b.toString(16).padStart(2, '0')).join('')}`;

function css(name, bytes) {
  const next = byteStream(`css:${name}`);
  const props = [
    () => `margin: ${next() % 24}px ${next() % 16}px`,
    () => `padding: ${(next() % 20) / 4}rem`,
    () => `color: ${hex(next)}`,
    () => `background: linear-gradient(${next() % 360}deg, ${hex(next)}, ${hex(next)})`,
    () => `border: 1px solid ${hex(next)}`,
    () => `border-radius: ${next() % 12}px`,
    () => `font-size: ${(12 + (next() % 10)) / 16}rem`,
    () => `line-height: ${1 + (next() % 8) / 10}`,
    () => `box-shadow: 0 ${next() % 6}px ${next() % 20}px rgba(0, 0, 0, .${next() % 9})`,
    () => `transition: opacity ${next() % 400}ms ease-in-out`,
  ];
  const base = `/* ${name}: generated stylesheet of the page-load benchmark's heavy app */
:root { --fg: #1d2230; --muted: #667085; --accent: #3e63dd; --bg: #f6f7fb; --card: #fff; --line: #e3e6ef; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
.topbar { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
.topbar nav a { margin-right: .75rem; color: var(--muted); text-decoration: none; }
.topbar nav a.active { color: var(--accent); font-weight: 600; }
.shell { display: grid; grid-template-columns: 14rem 1fr; gap: 1rem; padding: 1rem; }
.sidebar ul { list-style: none; padding: 0; }
.hero { display: flex; gap: 1rem; align-items: center; }
.hero img { max-width: 100%; height: auto; border-radius: 8px; }
.featured ul { display: grid; grid-template-columns: repeat(6, 1fr); gap: .75rem; list-style: none; padding: 0; }
table.products { width: 100%; border-collapse: collapse; background: var(--card); }
table.products th, table.products td { padding: .35rem .5rem; border-bottom: 1px solid var(--line); text-align: left; }
table.products td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { padding: .1rem .4rem; border-radius: 999px; font-size: .75rem; }
.badge-in-stock { background: #e3f7e8; } .badge-low-stock { background: #fff4d6; } .badge-out-of-stock { background: #fde2e1; }
.footer { padding: 1rem; color: var(--muted); }
`;
  return fill(base, bytes, (i) => {
    const n = 2 + (next() % 4);
    const body = Array.from({ length: n }, () => props[next() % props.length]()).join('; ');
    const state = ['', ':hover', ':focus-visible', '::before', ' > a', ' .icon'][next() % 6];
    return `.${name.replace(/\W/g, '')}-c${i}${state} { ${body}; }\n${i % 40 === 39 ? `@media (max-width: ${600 + (next() % 600)}px) { .${name.replace(/\W/g, '')}-c${i - 1} { display: none; } }\n` : ''}`;
  });
}

function js(name, bytes, init) {
  const next = byteStream(`js:${name}`);
  const id = name.replace(/\W/g, '_');
  const words = ['row', 'cell', 'price', 'stock', 'filter', 'chart', 'axis', 'series', 'field', 'value', 'event', 'state', 'node', 'item'];
  const word = () => words[next() % words.length];
  const header = `/* ${name}: generated script of the page-load benchmark's heavy app */\n(function (global) {\n  'use strict';\n  var lib = (global.${id} = global.${id} || {});\n`;
  const body = fill(header, bytes - init.length - 40, (i) => {
    const a = word();
    const b = word();
    return `  lib.${a}${i} = function ${a}${b}${i}(${a}, ${b}Options) {
    var out = [], k, n = (${a} && ${a}.length) || ${next() % 50};
    for (k = 0; k < n; k += ${1 + (next() % 3)}) {
      out.push(String(${a} && ${a}[k] !== undefined ? ${a}[k] : k * ${next()}).slice(0, ${4 + (next() % 12)}));
    }
    if (${b}Options && ${b}Options.${word()}) return out.reverse().join('${String.fromCharCode(97 + (next() % 26))}');
    return out.length > ${next() % 32} ? out.slice(${next() % 8}) : out;
  };
`;
  });
  return `${body}${init}})(window);\n`;
}

/** Work each script does on load, so running it costs what it would. */
const INIT = {
  vendor: `  lib.ready = function (fn) { if (document.readyState !== 'loading') fn(); else document.addEventListener('DOMContentLoaded', fn); };\n`,
  charts: `  lib.ready = true; var canvas = document.createElement('canvas'); canvas.width = 320; canvas.height = 80; var ctx = canvas.getContext('2d');
  if (ctx) { for (var i = 0; i < 64; i++) { ctx.fillStyle = 'hsl(' + (i * 5) + ', 60%, 55%)'; ctx.fillRect(i * 5, 80 - (i * 37) % 80, 4, (i * 37) % 80); } }\n`,
  forms: `  document.querySelectorAll('form').forEach(function (form) { form.addEventListener('submit', function () { form.classList.add('busy'); }); });\n`,
  tableSort: `  document.querySelectorAll('table[data-sortable] th[data-key]').forEach(function (th, column) {
    th.addEventListener('click', function () {
      var tbody = th.closest('table').tBodies[0];
      var rows = Array.prototype.slice.call(tbody.rows);
      rows.sort(function (a, b) { return a.cells[column].textContent.localeCompare(b.cells[column].textContent, undefined, { numeric: true }); });
      rows.forEach(function (row) { tbody.appendChild(row); });
    });
  });\n`,
  analytics: `  global.dataLayer = global.dataLayer || []; global.dataLayer.push({ event: 'page_view', path: location.pathname, at: Date.now() });\n`,
  app: `  var app = global.HeavyApp || {}; var rows = app.products || []; var total = 0, low = 0;
  for (var i = 0; i < rows.length; i++) { total += rows[i][3] * rows[i][4]; if (rows[i][4] < 5) low++; }
  var footer = document.querySelector('.footer'); if (footer) footer.setAttribute('data-stock-value', String(total));
  document.querySelectorAll('table.products tbody tr').forEach(function (tr) { if (tr.querySelector('.badge-low-stock')) tr.classList.add('warn'); });
  lib.summary = { rows: rows.length, low: low, total: total };\n`,
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An RGB PNG: a diagonal gradient with `grain` of noise (more grain, bigger file). */
function png(name, width, height, grain) {
  const next = byteStream(`png:${name}`);
  const base = [next(), next(), next()].map((b) => 40 + (b % 176));
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let at = 0;
  for (let y = 0; y < height; y++) {
    raw[at++] = 0;
    for (let x = 0; x < width; x++) {
      const shade = Math.floor(((x / width + y / height) * 80) / 2) - 40;
      const noise = grain ? (next() % (2 * grain + 1)) - grain : 0;
      for (let ch = 0; ch < 3; ch++) raw[at++] = Math.max(0, Math.min(255, base[ch] + shade + (ch === 2 ? -noise : noise)));
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function logoSvg() {
  const next = byteStream('svg:logo');
  const shapes = Array.from(
    { length: 40 },
    (_, i) => `  <circle cx="${next() % 64}" cy="${next() % 64}" r="${2 + (next() % 10)}" fill="${hex(next)}" opacity="0.${5 + (i % 5)}"/>`,
  ).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">\n  <rect width="64" height="64" rx="12" fill="#3e63dd"/>\n${shapes}\n</svg>\n`;
}

/** Every asset: path under public/assets/ → its content. */
export function heavyAssets() {
  return {
    'css/reset.css': css('reset', 3 * 1024),
    'css/theme.css': css('theme', 15 * 1024),
    'css/app.css': css('app', 45 * 1024),
    'css/table.css': css('table', 10 * 1024),
    'js/vendor.js': js('vendor', 100 * 1024, INIT.vendor),
    'js/charts.js': js('charts', 30 * 1024, INIT.charts),
    'js/forms.js': js('forms', 12 * 1024, INIT.forms),
    'js/table-sort.js': js('table-sort', 8 * 1024, INIT.tableSort),
    'js/analytics.js': js('analytics', 4 * 1024, INIT.analytics),
    'js/app.js': js('app', 16 * 1024, INIT.app),
    'img/logo.svg': logoSvg(),
    'img/hero.png': png('hero', 480, 100, 12),
    'img/icon-cart.png': png('cart', 40, 40, 20),
    'img/icon-user.png': png('user', 40, 40, 20),
    'img/icon-search.png': png('search', 32, 32, 20),
  };
}

/** Writes the assets under `publicDir`/assets; returns the paths written. */
export function writeHeavyAssets(publicDir) {
  const written = [];
  for (const [path, content] of Object.entries(heavyAssets())) {
    const file = join(publicDir, 'assets', path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    written.push(file);
  }
  return written;
}
