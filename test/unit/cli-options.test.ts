import { describe, expect, it } from 'vitest';
import { duration, parseServeArgs, size, UsageError } from '../../src/cli/options';

describe('serve options', () => {
  it('has defaults that serve the current folder on 127.0.0.1:8080', () => {
    const options = parseServeArgs([], '/srv/app');
    expect(options).toMatchObject({
      documentRoot: '/srv/app',
      host: '127.0.0.1',
      port: 8080,
      phpCgi: 'php-cgi',
      minWorkers: 1,
      maxWorkers: 4,
      leakPolicy: 'reclaim',
      symlinks: 'follow',
      parentDeathSignal: true,
      frontController: '/index.php',
      stateDir: null,
      slowlogTimeoutMs: 0,
    });
  });

  it('parses every flag', () => {
    const options = parseServeArgs(
      [
        'docroot',
        '--host',
        '::1',
        '--port',
        '0',
        '--php-cgi',
        '/opt/php-cgi',
        '--min-workers',
        '2',
        '--max-workers',
        '8',
        '--max-requests',
        '500',
        '--idle-timeout',
        '2m',
        '--busy-timeout',
        '1500ms',
        '--queue-timeout',
        '3',
        '--max-queue',
        '10',
        '--max-body',
        '512K',
        '--front-controller',
        'none',
        '-d',
        'memory_limit=1G',
        '--ini',
        'a=b=c',
        '-e',
        'APP_ENV=dev',
        '--allow-host',
        'app.test',
        '--events',
        '-',
        '--state-dir',
        '/tmp/s',
        '--leak-policy',
        'keep',
        '--symlinks',
        'within-root',
        '--slowlog-timeout',
        '3s',
        '--scan-interval',
        '250ms',
        '--no-pdeathsig',
        '--node-http',
        '--live-reload',
        '-q',
        '--xdebug',
        'on',
        '--debug-client',
        '[::1]:9000',
      ],
      '/cwd',
    );
    expect(options).toEqual({
      documentRoot: 'docroot',
      host: '::1',
      port: 0,
      phpCgi: '/opt/php-cgi',
      minWorkers: 2,
      maxWorkers: 8,
      maxRequests: 500,
      idleTimeoutMs: 120_000,
      busyTimeoutMs: 1_500,
      queueTimeoutMs: 3_000,
      maxQueue: 10,
      maxBodyBytes: 512 * 1024,
      frontController: null,
      ini: { memory_limit: '1G', a: 'b=c' },
      env: { APP_ENV: 'dev' },
      allowedHosts: ['app.test'],
      events: '-',
      stateDir: '/tmp/s',
      leakPolicy: 'keep',
      symlinks: 'within-root',
      slowlogTimeoutMs: 3_000,
      scanIntervalMs: 250,
      parentDeathSignal: false,
      nodeHttp: true,
      liveReload: true,
      documentRootDetected: false,
      quiet: true,
      xdebug: 'on',
      debugClient: '[::1]:9000',
    });
    // Without --debug-client the workers' ini (xdebug.client_host/port) decides, else 127.0.0.1:9003.
    expect(parseServeArgs([], '/')).toMatchObject({ xdebug: 'auto', debugClient: null });
    expect(parseServeArgs(['--help'], '/')).toBe('help');
    // Without DOCROOT the current folder is searched (public/, web/, htdocs/); live reload is opt-in here.
    expect(parseServeArgs([], '/cwd')).toMatchObject({ documentRoot: '/cwd', documentRootDetected: true, liveReload: false });
  });

  it('says what is wrong with a bad value', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--port', '70000'], /--port must be between 0 and 65535/],
      [['--port', '-1'], /Option '--port' argument is ambiguous|--port takes a whole number/],
      [['--ini', 'novalue'], /--ini takes NAME=VALUE/],
      [['--leak-policy', 'ignore'], /--leak-policy is reclaim or keep/],
      [['--symlinks', 'never'], /--symlinks is follow or within-root, got "never"/],
      [['--front-controller', 'index.php'], /must be a path starting with \//],
      [['a', 'b'], /one document root/],
      [['--xdebug', 'yes'], /--xdebug is off, auto, on, got "yes"/],
      [['--debug-client', 'localhost'], /--debug-client: debug client "localhost" is not HOST:PORT/],
      [['--debug-client', '127.0.0.1:99999'], /the port must be a number from 1 to 65535/],
    ];
    for (const [args, message] of bad) {
      expect(() => parseServeArgs(args, '/'), args.join(' ')).toThrow(UsageError);
      expect(() => parseServeArgs(args, '/')).toThrow(message);
    }
  });

  it('reads durations and sizes', () => {
    expect(duration('250ms', 'x', 0)).toBe(250);
    expect(duration('1.5', 'x', 0)).toBe(1_500);
    expect(duration(undefined, 'x', 7)).toBe(7);
    expect(() => duration('1h', '--t', 0)).toThrow('--t takes a time like 500ms, 30s or 2m, got "1h"');
    expect(size('64M', 'x', 0)).toBe(64 * 1024 * 1024);
    expect(size('2g', 'x', 0)).toBe(2 * 1024 ** 3);
    expect(size('100', 'x', 0)).toBe(100);
    expect(() => size('lots', '--max-body', 0)).toThrow('--max-body takes a size');
  });
});
