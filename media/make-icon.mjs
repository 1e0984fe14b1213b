// Draws media/icon.png (128×128, the Marketplace icon) with no dependencies:
// signed-distance shapes, 4×4 supersampling, written as an RGBA PNG via zlib.
// The picture: a pool of four workers as server slots, two busy (amber),
// two idle (green). Run: node media/make-icon.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const SS = 4;

/** Signed distance to a rounded rectangle centred at (cx, cy). */
function roundRect(x, y, cx, cy, hw, hh, r) {
  const qx = Math.abs(x - cx) - hw + r;
  const qy = Math.abs(y - cy) - hh + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}
const circle = (x, y, cx, cy, r) => Math.hypot(x - cx, y - cy) - r;
const hex = (s) => [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16)];

const slots = [
  { y: 34, busy: true, fill: 0.78 },
  { y: 54, busy: true, fill: 0.46 },
  { y: 74, busy: false },
  { y: 94, busy: false },
];
const amber = hex('#f5a524');
const green = hex('#3fb950');
const slotBg = hex('#24384d');
const slotEdge = hex('#3a5673');

/** Colour (with alpha) of one sample, painted back to front. */
function sample(x, y) {
  let rgba = [0, 0, 0, 0];
  const over = (rgb, a) => {
    const outA = a + rgba[3] * (1 - a);
    if (outA === 0) return;
    rgba = [0, 1, 2].map((i) => (rgb[i] * a + rgba[i] * rgba[3] * (1 - a)) / outA).concat(outA);
  };
  // Background: a rounded square with a vertical gradient.
  if (roundRect(x, y, 64, 64, 62, 62, 22) <= 0) {
    const t = y / SIZE;
    over([0x1d + 8 * (1 - t), 0x2b + 10 * (1 - t), 0x3a + 14 * (1 - t)], 1);
  }
  for (const slot of slots) {
    if (roundRect(x, y, 64, slot.y, 44, 7.5, 5) <= 0) over(slotEdge, 1);
    if (roundRect(x, y, 64, slot.y, 42.5, 6, 4) <= 0) over(slotBg, 1);
    const colour = slot.busy ? amber : green;
    // Status light on the left.
    if (circle(x, y, 31, slot.y, 3.6) <= 0) over(colour, 1);
    if (slot.busy) {
      // Load bar: how far the busy worker's request has come.
      const left = 40;
      const width = 58 * slot.fill;
      if (roundRect(x, y, left + width / 2, slot.y, width / 2, 2.4, 2.4) <= 0) over(colour, 0.95);
    } else if (roundRect(x, y, 69, slot.y, 29, 1.2, 1.2) <= 0) {
      over(colour, 0.35);
    }
  }
  return rgba;
}

const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let py = 0; py < SIZE; py++) {
  raw[py * (SIZE * 4 + 1)] = 0; // filter: none
  for (let px = 0; px < SIZE; px++) {
    const acc = [0, 0, 0, 0];
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const [r, g, b, a] = sample(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS);
        acc[0] += r * a;
        acc[1] += g * a;
        acc[2] += b * a;
        acc[3] += a;
      }
    }
    const n = SS * SS;
    const alpha = acc[3] / n;
    const offset = py * (SIZE * 4 + 1) + 1 + px * 4;
    for (let i = 0; i < 3; i++) raw[offset + i] = alpha > 0 ? Math.round(acc[i] / acc[3]) : 0;
    raw[offset + 3] = Math.round(alpha * 255);
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header[8] = 8; // bit depth
header[9] = 6; // RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
writeFileSync(new URL('./icon.png', import.meta.url), png);
console.log(`media/icon.png: ${png.length} bytes`);
