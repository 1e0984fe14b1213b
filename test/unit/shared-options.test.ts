import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseServeArgs, usage } from '../../src/cli/options';
import { ConfigurationError, startPoolServer } from '../../src/gateway/poolServer';
import { GatewayListenError } from '../../src/gateway/gateway';
import { PoolUnavailableError } from '../../src/pool/pool';
import { DEFAULTS } from '../../src/shared/defaults';
import { explainOptionError, OptionError, optionName, OPTIONS, settingDefault, type OptionId } from '../../src/shared/options';

const IDS = Object.keys(OPTIONS) as OptionId[];

describe('the option catalogue', () => {
  it('names each option by its CLI flag and its setting', () => {
    expect(optionName('phpCgi', 'cli')).toBe('--php-cgi');
    expect(optionName('phpCgi', 'settings')).toBe('fastcgiPool.phpCgiPath');
    expect(optionName('documentRoot', 'cli')).toBeNull(); // the CLI's argument, not a flag
    expect(optionName('queueTimeout', 'settings')).toBeNull();
  });

  it('gives settings their defaults in their own units', () => {
    expect(settingDefault('idleTimeout')).toBe(DEFAULTS.idleTimeoutMs / 1_000);
    expect(settingDefault('scanInterval')).toBe(DEFAULTS.scanIntervalMs);
    expect(settingDefault('frontController')).toBe('/index.php');
    expect(settingDefault('ini')).toEqual({});
    // Off on the command line, 5 s in the editor.
    expect(settingDefault('slowlogTimeout')).toBe(DEFAULTS.editorSlowlogTimeoutMs / 1_000);
    expect(OPTIONS.slowlogTimeout.default).toBe(0);
  });

  it('is what the CLI parses, falls back to, and lists in --help', () => {
    const defaults = parseServeArgs([], '/srv') as Exclude<ReturnType<typeof parseServeArgs>, 'help'>;
    expect(defaults).toMatchObject({
      host: OPTIONS.host.default,
      port: OPTIONS.port.default,
      phpCgi: OPTIONS.phpCgi.default,
      minWorkers: OPTIONS.minWorkers.default,
      maxWorkers: OPTIONS.maxWorkers.default,
      maxRequests: OPTIONS.maxRequests.default,
      idleTimeoutMs: OPTIONS.idleTimeout.default,
      busyTimeoutMs: OPTIONS.busyTimeout.default,
      queueTimeoutMs: OPTIONS.queueTimeout.default,
      maxQueue: OPTIONS.maxQueue.default,
      maxBodyBytes: OPTIONS.maxBody.default,
      frontController: OPTIONS.frontController.default,
      leakPolicy: OPTIONS.leakPolicy.default,
      scanIntervalMs: OPTIONS.scanInterval.default,
      slowlogTimeoutMs: OPTIONS.slowlogTimeout.default,
      ini: OPTIONS.ini.default,
      env: OPTIONS.env.default,
    });
    for (const id of IDS) {
      const flag = optionName(id, 'cli');
      if (flag) expect(usage, id).toMatch(new RegExp(`^ +(-[a-z], )?${flag} `, 'm'));
    }
    expect(usage).toContain(`(default ${DEFAULTS.busyTimeoutMs / 1_000}s)`);
    expect(usage).toContain('(default 64M)');
    expect(usage).toContain(`(default ${DEFAULTS.port})`);
  });
});

describe('engine errors name the option at fault by id, and each surface by its own name', () => {
  it('adds the flag on the command line and the setting in the editor', () => {
    const error = new ConfigurationError('php-cgi not found: "x". Install it or set the path to php-cgi', 'phpCgi');
    expect(error).toBeInstanceOf(OptionError);
    expect(explainOptionError(error, 'cli')).toBe('php-cgi not found: "x". Install it or set the path to php-cgi (--php-cgi)');
    expect(explainOptionError(error, 'settings')).toBe('php-cgi not found: "x". Install it or set the path to php-cgi (fastcgiPool.phpCgiPath)');
    // The document root is the CLI's argument: nothing to add there.
    expect(explainOptionError(new ConfigurationError('document root not found: /x', 'documentRoot'), 'cli')).toBe('document root not found: /x');
    expect(explainOptionError(new OptionError('something else', null), 'settings')).toBe('something else');
  });

  it('blames the port for a busy one and the host for an address this machine does not have', () => {
    expect(new GatewayListenError('in use', 'EADDRINUSE').option).toBe('port');
    expect(new GatewayListenError('no permission', 'EACCES').option).toBe('port');
    expect(new GatewayListenError('no such address', 'EADDRNOTAVAIL').option).toBe('host');
    expect(new GatewayListenError('no such name', 'ENOTFOUND').option).toBe('host');
    expect(new PoolUnavailableError('the pool is stopping').option).toBeNull();
  });

  it('rejects bad configuration before spawning anything, naming neither a flag nor a setting', async () => {
    const cases: Array<[Parameters<typeof startPoolServer>[0], OptionId]> = [
      [{ documentRoot: '/definitely/not/here', pool: {}, gateway: {} }, 'documentRoot'],
      [{ documentRoot: tmpdir(), pool: { phpCgi: '/nonexistent/php-cgi' }, gateway: {} }, 'phpCgi'],
      [{ documentRoot: tmpdir(), pool: { minWorkers: 5, maxWorkers: 2 }, gateway: {} }, 'minWorkers'],
      [{ documentRoot: tmpdir(), pool: { maxWorkers: 0 }, gateway: {} }, 'maxWorkers'],
    ];
    for (const [options, option] of cases) {
      const error = await startPoolServer(options).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, option).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).option).toBe(option);
      expect((error as Error).message).not.toMatch(/--[a-z]|fastcgiPool\./);
    }
  });
});
