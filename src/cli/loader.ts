/**
 * The `fastcgi-pool` command's entry: loads the real bundle (cli-main.js)
 * with a V8 code cache. Compiling the ~200 KB bundle, and then the functions
 * start-up runs, is ~6–10 ms of a cold start whose target is 100 ms; with
 * the cache V8 skips most of it. The cache is written once, a second after
 * a start without one (or at its exit if sooner), to the user's temp folder, keyed by the bundle's
 * size and mtime and the Node version; V8 itself rejects a cache that does
 * not match the source (then a new one is written). Any failure here just
 * means no cache.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'cli-main.js');
const source = readFileSync(bundle, 'utf8');
let cachePath: string | null = null;
let cachedData: Buffer | undefined;
try {
  const stat = statSync(bundle);
  const dir = join(tmpdir(), `fastcgi-pool-code-cache-${userInfo().uid}`);
  // Per command: `serve` compiles far more than `--help` does.
  const command = process.argv[2] === 'serve' ? 'serve' : 'other';
  // V8 rejects a cache made under other flags; a key per set of flags avoids rewriting it in turn.
  const flags = process.execArgv
    .join(' ')
    .replace(/[^\w=.-]+/g, '_')
    .slice(0, 64);
  cachePath = join(dir, `cli-${command}-${process.version}-${process.arch}-${stat.size}-${Math.floor(stat.mtimeMs)}${flags ? `-${flags}` : ''}.bin`);
  cachedData = readFileSync(cachePath);
} catch {
  cachedData = undefined;
}
const script = new Script(Module.wrap(source), { filename: bundle, cachedData });
const moduleObject = { exports: {} as unknown, filename: bundle, id: bundle, loaded: false };
const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
run.call(moduleObject.exports, moduleObject.exports, createRequire(bundle), moduleObject, bundle, dirname(bundle));
if (cachePath !== null && (cachedData === undefined || script.cachedDataRejected === true)) {
  const target = cachePath;
  let written = false;
  const writeCache = (): void => {
    if (written) return;
    written = true;
    try {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      const temp = `${target}.${process.pid}.tmp`;
      writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
      renameSync(temp, target);
    } catch {
      // No cache this time.
    }
  };
  // After start-up, so that the functions it compiled are in the cache too;
  // or at exit, for a run shorter than that (--help, a failed start).
  setTimeout(writeCache, 1_000).unref();
  process.once('exit', writeCache);
}
