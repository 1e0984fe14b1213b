// Bundles lib/internals.entry.mjs (which imports the TypeScript sources)
// into a temp CommonJS file with esbuild, the way scripts/build.mjs bundles
// dist/, and loads it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function loadInternals() {
  const { build } = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'fcgi-bench-internals-'));
  const outfile = join(dir, 'internals.cjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'internals.entry.mjs')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    logLevel: 'warning',
  });
  const mod = createRequire(import.meta.url)(outfile);
  rmSync(dir, { recursive: true, force: true });
  return mod;
}
