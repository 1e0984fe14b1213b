import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { curlCommand, poolSummary, shellQuote, workerDescription, workerLabel } from '../../src/extension/format';
import { findingLine, leaseAgeWhenItHappened } from '../../src/shared/findings';
import { formatDuration, formatWholeDuration } from '../../src/shared/text';
import { documentRootOf, readSettings, resolveDocumentRoot, SETTING_DEFAULTS, toServerOptions } from '../../src/extension/settings';
import { busyWorker, finding, lease, T0, worker } from './extension-fixtures';

describe('formatting for the tree and the status bar', () => {
  it('formats ages in ms below 1 s, with tenths below 10 s and whole units above', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(2_345)).toBe('2.3 s');
    expect(formatDuration(12_900)).toBe('12 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
    expect(formatDuration(-50)).toBe('0 ms');
    expect(formatWholeDuration(12_999)).toBe('12 s');
  });

  it('labels workers "worker w3 · pid 1234"', () => {
    expect(workerLabel({ id: 'w3', pid: 1234 })).toBe('worker w3 · pid 1234');
    expect(workerLabel({ id: 'w4', pid: null })).toBe('worker w4 · pid …');
  });

  it('describes a busy worker by request and lease age, an idle one by idle time and accesses', () => {
    expect(workerDescription(busyWorker('w2', 1234, { uri: '/slow?ms=3000' }, 2_300), T0)).toBe('GET /slow?ms=3000 · 2.3 s');
    expect(workerDescription(worker({ lastActiveAt: T0 - 12_000, accesses: 5 }), T0)).toBe('idle 12 s · 5 req');
    expect(workerDescription(worker({ state: 'starting', startedAt: T0 - 1_000 }), T0)).toBe('starting · 1 s');
    expect(workerDescription(worker({ state: 'error', exitReason: 'busy-timeout', exit: { code: null, signal: 'SIGKILL' } }), T0)).toBe(
      'busy-timeout · killed by SIGKILL',
    );
    expect(workerDescription(worker({ state: 'error', exitReason: 'idle-timeout' }), T0)).toBe('idle-timeout · stopping');
  });

  it('summarises a pool as ":8080 · 2/4 busy"', () => {
    expect(poolSummary(8080, 2, 4)).toBe(':8080 · 2/4 busy');
  });

  it('builds curl command lines that a POSIX shell reads back unchanged', () => {
    expect(curlCommand(lease({ method: 'GET', uri: '/api/users?id=1&x=2' }), 'http://127.0.0.1:8080/')).toBe(
      "curl -i 'http://127.0.0.1:8080/api/users?id=1&x=2'",
    );
    expect(curlCommand(lease({ method: 'POST', uri: '/form' }), 'http://127.0.0.1:8080/')).toBe('curl -i -X POST http://127.0.0.1:8080/form');
    expect(curlCommand(lease({ method: 'HEAD', uri: '/' }), 'http://127.0.0.1:8081/')).toBe('curl -i -I http://127.0.0.1:8081/');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe('finding messages', () => {
  it('starts with the kind and names worker, pid, signal, request, lease and its age', () => {
    expect(findingLine(finding())).toBe('defunct-busy: worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 400 ms)');
  });

  it('uses the lease age at the moment it happened, not at detection', () => {
    const late = finding({ detectedAt: T0 + 1_000, detectionLatencyMs: 1_000 });
    expect(leaseAgeWhenItHappened(late)).toBe(400);
    expect(findingLine(late)).toContain('(lease L7, 400 ms)');
  });

  it('words each kind', () => {
    expect(findingLine(finding({ exit: { code: 255, signal: null } }))).toContain('exited with code 255 while serving');
    expect(findingLine(finding({ exit: null, processState: 'Z' }))).toContain('became a zombie');
    expect(findingLine(finding({ kind: 'holder-gone', exit: null }))).toMatch(/^holder-gone: worker w2 \(pid 1234\) is still leased/);
    expect(findingLine(finding({ kind: 'busy-timeout', exit: null, detectionLatencyMs: null, detectedAt: T0 + 59_000 }))).toBe(
      'busy-timeout: worker w2 (pid 1234) exceeded the busy timeout while serving GET /die (lease L7, 59 s)',
    );
    expect(findingLine(finding({ kind: 'zombie-descendant', lease: null, descendant: { pid: 99, comm: 'sh', state: 'Z' } }))).toBe(
      'zombie-descendant: worker w2 (pid 1234) left a defunct child (pid 99, sh)',
    );
    expect(findingLine(finding({ kind: 'lease-protocol', message: 'lease L3 released twice' }))).toBe('lease-protocol: lease L3 released twice');
  });
});

describe('settings', () => {
  const reader = (values: Record<string, unknown>) => ({ get: <T>(key: string): T | undefined => values[key] as T | undefined });

  it('falls back to the documented defaults', () => {
    const { settings, problems } = readSettings(reader({}));
    expect(settings).toEqual(SETTING_DEFAULTS);
    expect(problems).toEqual([]);
  });

  it('rejects bad values with a line that names the setting, keeping the default', () => {
    const { settings, problems } = readSettings(
      reader({
        port: 70000,
        maxWorkers: 'many',
        leakPolicy: 'drop',
        symlinks: 'sometimes',
        frontController: 'index.php',
        ini: { memory_limit: '256M', display_errors: false, bad: { x: 1 } },
      }),
    );
    expect(settings.port).toBe(8080);
    expect(settings.maxWorkers).toBe(4);
    expect(settings.leakPolicy).toBe('reclaim');
    expect(settings.symlinks).toBe('follow');
    expect(settings.frontController).toBe('/index.php');
    expect(settings.ini).toEqual({ memory_limit: '256M', display_errors: '0' });
    expect(problems.join('\n')).toMatch(/fastcgiPool\.port.*0 to 65535/);
    expect(problems.join('\n')).toMatch(/fastcgiPool\.maxWorkers/);
    expect(problems.join('\n')).toMatch(/fastcgiPool\.leakPolicy/);
    expect(problems.join('\n')).toMatch(/fastcgiPool\.symlinks must be "follow" or "within-root"; using "follow"/);
    expect(problems.join('\n')).toMatch(/fastcgiPool\.ini\.bad/);
  });

  it('caps minWorkers at maxWorkers', () => {
    const { settings, problems } = readSettings(reader({ minWorkers: 6, maxWorkers: 2 }));
    expect(settings.minWorkers).toBe(2);
    expect(problems[0]).toMatch(/minWorkers \(6\) is above fastcgiPool.maxWorkers \(2\)/);
  });

  it('resolves the document root against the folder, and detects it when the setting is empty', () => {
    expect(resolveDocumentRoot('', '/ws/app')).toBe('/ws/app');
    expect(resolveDocumentRoot('public', '/ws/app')).toBe('/ws/app/public');
    expect(resolveDocumentRoot('${workspaceFolder}/web', '/ws/app')).toBe('/ws/app/web');
    expect(resolveDocumentRoot('/srv/www', '/ws/app')).toBe('/srv/www');
    // test/fixtures/layouts: detected when empty, shown relative to the folder, overridden by the setting.
    const laravel = resolve(__dirname, '../fixtures/layouts/laravel');
    expect(documentRootOf('', laravel)).toEqual({ path: join(laravel, 'public'), shown: 'public', detected: { indexFile: 'public/index.php' } });
    expect(documentRootOf('app', laravel)).toEqual({ path: join(laravel, 'app'), shown: 'app', detected: null });
    expect(documentRootOf('', resolve(__dirname, '../fixtures/layouts/plain'))).toMatchObject({ shown: '', detected: { indexFile: 'index.php' } });
    expect(documentRootOf('/srv/www', laravel)).toEqual({ path: '/srv/www', shown: '/srv/www', detected: null });
  });

  it('reads live reload as a boolean, on by default', () => {
    expect(readSettings(reader({})).settings.liveReload).toBe(true);
    expect(readSettings(reader({ liveReload: false })).settings.liveReload).toBe(false);
    const { settings, problems } = readSettings(reader({ liveReload: 'yes' }));
    expect([settings.liveReload, problems]).toEqual([true, ['fastcgiPool.liveReload must be true or false; using true']]);
  });

  it('maps settings to engine options: seconds to ms, empty front controller to none, env over the host env', () => {
    const { settings } = readSettings(
      reader({
        idleTimeout: 5,
        busyTimeout: 7,
        frontController: '',
        env: { APP_ENV: 'local', N: 3 },
        leakPolicy: 'keep',
        symlinks: 'within-root',
        scanInterval: 250,
      }),
    );
    const options = toServerOptions(settings, '/ws/app', 8081, '/state/pools/abc');
    expect(options.documentRoot).toBe('/ws/app');
    expect(options.gateway).toEqual({
      host: '127.0.0.1',
      port: 8081,
      frontController: null,
      symlinks: 'within-root',
      optionSurface: 'settings',
      liveReload: true,
    });
    expect(options.pool).toMatchObject({
      phpCgi: 'php-cgi',
      idleTimeoutMs: 5_000,
      busyTimeoutMs: 7_000,
      slowlogTimeoutMs: 5_000,
      leakPolicy: 'keep',
      scanIntervalMs: 250,
      stateDir: '/state/pools/abc',
    });
    expect(toServerOptions(readSettings(reader({ slowlogTimeout: 0 })).settings, '/ws/app', 8081, null).pool.slowlogTimeoutMs).toBe(0);
    expect(options.pool.env).toMatchObject({ APP_ENV: 'local', N: '3', PATH: process.env.PATH });
  });
});
