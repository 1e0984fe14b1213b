/**
 * Xdebug detection against the real php-cgi, in all three cases, made
 * independent of this machine's conf.d: each case gets an ini scan folder of
 * its own (empty, or one file that loads Xdebug).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearXdebugDetectionCache, detectXdebug } from '../../src/dbgp/xdebugDetect';
import { phpCgi, xdebugAvailabilitySync } from '../support/helpers';

const root = mkdtempSync(join(tmpdir(), 'xdebug-detect-'));
const emptyScanDir = join(root, 'empty');
const loadingScanDir = join(root, 'loading');
const noExtensions = join(root, 'no-extensions');
for (const dir of [emptyScanDir, loadingScanDir, noExtensions]) mkdirSync(dir);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  clearXdebugDetectionCache();
});

/** The suite's environment (FASTCGI_POOL_TEST_RUN included) with its own ini scan folder. */
function envWith(scanDir: string): NodeJS.ProcessEnv {
  return { ...process.env, PHP_INI_SCAN_DIR: scanDir };
}

const installed = xdebugAvailabilitySync(envWith(emptyScanDir));
const skipReason = installed.kind === 'missing' ? `xdebug.so not found for ${phpCgi} (${installed.detail}); install php-xdebug` : null;
if (skipReason) console.warn(`xdebug-detect tests partly skipped: ${skipReason}`);

describe('detectXdebug with the real php-cgi', () => {
  it.skipIf(skipReason !== null)(`installed but not enabled → loadable, with its version${skipReason ? ` (skipped: ${skipReason})` : ''}`, async () => {
    expect(await detectXdebug(phpCgi, { env: envWith(emptyScanDir) })).toEqual({ kind: 'loadable', version: expect.stringMatching(/^3\.\d+\.\d+/) });
  });

  it.skipIf(skipReason !== null)(`enabled by an ini file php-cgi reads → loaded${skipReason ? ` (skipped: ${skipReason})` : ''}`, async () => {
    writeFileSync(join(loadingScanDir, '20-xdebug.ini'), 'zend_extension=xdebug.so\n');
    expect(await detectXdebug(phpCgi, { env: envWith(loadingScanDir) })).toEqual({ kind: 'loaded', version: expect.stringMatching(/^3\./) });
  });

  it("not where php-cgi looks for extensions → missing, with PHP's own message", async () => {
    const result = await detectXdebug(phpCgi, { env: envWith(emptyScanDir), ini: { extension_dir: noExtensions } });
    expect(result).toEqual({ kind: 'missing', detail: expect.stringContaining(`Failed loading Zend extension 'xdebug' (tried: ${noExtensions}/xdebug`) });
  });

  it('asks php-cgi once per executable, environment and ini; a php-cgi that cannot run rejects and is not cached', async () => {
    const first = detectXdebug(phpCgi, { env: envWith(emptyScanDir) });
    expect(detectXdebug(phpCgi, { env: envWith(emptyScanDir) })).toBe(first);
    expect(detectXdebug(phpCgi, { env: envWith(emptyScanDir), ini: { memory_limit: '64M' } })).not.toBe(first);
    const missingBinary = join(root, 'no-such-php-cgi');
    const failed = detectXdebug(missingBinary);
    await expect(failed).rejects.toThrow(`cannot run ${missingBinary} -v to look for Xdebug`);
    const again = detectXdebug(missingBinary);
    expect(again).not.toBe(failed);
    await expect(again).rejects.toThrow(/ENOENT/);
  });
});
