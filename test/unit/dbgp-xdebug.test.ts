/** Xdebug detection (output classification), `--xdebug off|auto|on`, the workers' arguments, `--debug-client`. */
import { describe, expect, it } from 'vitest';
import { DebugClientSyntaxError, formatDebugClient, parseDebugClient } from '../../src/dbgp/debugClient';
import { XdebugUnavailableError, decideXdebug, parseXdebugSetting, resolveDebugClient, xdebugWorkerArgs, type XdebugDecision } from '../../src/dbgp/xdebugArgs';
import { classifyXdebugProbe, iniArguments, type XdebugAvailability } from '../../src/dbgp/xdebugDetect';

// `php-cgi -d zend_extension=xdebug -v` on Debian 12 (php8.2-cgi, php-xdebug 3.2.0), as captured.
const VERSION_LINES =
  'PHP 8.2.36 (cgi-fcgi) (built: Nov 18 2026 20:02:04)\nCopyright (c) The PHP Group\nZend Engine v4.2.36, Copyright (c) Zend Technologies\n    with Zend OPcache v8.2.36, Copyright (c), by Zend Technologies\n';
const WITH_XDEBUG = `${VERSION_LINES}    with Xdebug v3.2.0, Copyright (c) 2002-2022, by Derick Rethans\n`;
const FAILED =
  "PHP Warning:  Failed loading Zend extension 'xdebug' (tried: /usr/lib/php/20220829/xdebug (/usr/lib/php/20220829/xdebug: cannot open shared object file: No such file or directory), /usr/lib/php/20220829/xdebug.so (…)) in Unknown on line 0\n";

const loaded: XdebugAvailability = { kind: 'loaded', version: '3.2.0' };
const loadable: XdebugAvailability = { kind: 'loadable', version: '3.2.0' };
const missing: XdebugAvailability = { kind: 'missing', detail: "Failed loading Zend extension 'xdebug'" };
const enabled = (decision: XdebugDecision): Extract<XdebugDecision, { enabled: true }> => {
  if (!decision.enabled) throw new Error(decision.reason);
  return decision;
};

describe('classifyXdebugProbe', () => {
  it('tells loaded by default, loadable with -d, and missing apart from one run', () => {
    expect(classifyXdebugProbe(WITH_XDEBUG, 'Cannot load Xdebug - it was already loaded\n')).toEqual(loaded);
    expect(classifyXdebugProbe(WITH_XDEBUG, '')).toEqual(loadable);
    expect(classifyXdebugProbe(VERSION_LINES, FAILED)).toEqual({
      kind: 'missing',
      detail: expect.stringMatching(/^Failed loading Zend extension 'xdebug' \(tried: .* in Unknown on line 0$/),
    });
    expect(classifyXdebugProbe(VERSION_LINES, '')).toEqual({ kind: 'missing', detail: 'php-cgi -v does not list Xdebug' });
  });

  it('passes the user ini as -d arguments, booleans as 1/0', () => {
    expect(iniArguments({ memory_limit: '256M', display_errors: false, 'opcache.enable': true, precision: 14 })).toEqual([
      '-d',
      'memory_limit=256M',
      '-d',
      'display_errors=0',
      '-d',
      'opcache.enable=1',
      '-d',
      'precision=14',
    ]);
  });
});

describe('decideXdebug', () => {
  it('off never debugs; auto debugs only when php-cgi loads Xdebug itself; on loads it when installed', () => {
    expect(decideXdebug('off', loaded, 'php-cgi')).toMatchObject({ enabled: false });
    expect(decideXdebug('auto', loaded, 'php-cgi')).toEqual({ enabled: true, loadExtension: false, version: '3.2.0' });
    expect(decideXdebug('auto', loadable, 'php-cgi')).toEqual({ enabled: false, reason: expect.stringMatching(/installed but not enabled.*--xdebug on/) });
    expect(decideXdebug('auto', missing, 'php-cgi')).toEqual({ enabled: false, reason: expect.stringMatching(/php-xdebug.*pecl install xdebug/) });
    expect(decideXdebug('on', loaded, 'php-cgi')).toEqual({ enabled: true, loadExtension: false, version: '3.2.0' });
    expect(decideXdebug('on', loadable, 'php-cgi')).toEqual({ enabled: true, loadExtension: true, version: '3.2.0' });
  });

  it('on without Xdebug fails with a message naming the package, PECL and the way out', () => {
    expect(() => decideXdebug('on', missing, '/usr/bin/php-cgi')).toThrow(XdebugUnavailableError);
    expect(() => decideXdebug('on', missing, '/usr/bin/php-cgi')).toThrow(
      /--xdebug on: \/usr\/bin\/php-cgi has no Xdebug .*sudo apt-get install php-xdebug.*pecl install xdebug.*--xdebug auto/,
    );
  });

  it('Xdebug 2 is not spoken to: auto runs without it, on fails', () => {
    const old: XdebugAvailability = { kind: 'loaded', version: '2.9.8' };
    expect(decideXdebug('auto', old, 'php-cgi')).toMatchObject({ enabled: false, reason: expect.stringMatching(/Xdebug 2\.9\.8.*Xdebug 3/) });
    expect(() => decideXdebug('on', old, 'php-cgi')).toThrow(/Xdebug 3 or later/);
  });

  it('parses the setting', () => {
    expect(parseXdebugSetting(' ON ')).toBe('on');
    expect(() => parseXdebugSetting('yes')).toThrow('--xdebug must be one of off, auto, on (got "yes")');
  });
});

describe('xdebugWorkerArgs', () => {
  it('points the workers at the relay, debug mode on trigger; loads the extension when needed', () => {
    expect(xdebugWorkerArgs(enabled(decideXdebug('on', loadable, 'php-cgi')), 40123)).toEqual({
      args: [
        '-d',
        'zend_extension=xdebug',
        '-d',
        'xdebug.mode=debug',
        '-d',
        'xdebug.start_with_request=trigger',
        '-d',
        'xdebug.client_host=127.0.0.1',
        '-d',
        'xdebug.client_port=40123',
        '-d',
        'xdebug.discover_client_host=0',
      ],
      notes: [],
      triggerValue: '1',
    });
    expect(xdebugWorkerArgs(enabled(decideXdebug('auto', loaded, 'php-cgi')), 1).args).not.toContain('zend_extension=xdebug');
  });

  it("keeps the user's mode and start_with_request, says what they change, and takes the trigger value from the ini", () => {
    const result = xdebugWorkerArgs(enabled(decideXdebug('auto', loaded, 'php-cgi')), 5, {
      'xdebug.mode': 'develop,debug',
      'xdebug.start_with_request': 'yes',
      'xdebug.trigger_value': ' s3cret , other',
      'xdebug.client_port': 9000,
    });
    expect(result.args).toEqual(['-d', 'xdebug.client_host=127.0.0.1', '-d', 'xdebug.client_port=5', '-d', 'xdebug.discover_client_host=0']);
    expect(result.notes).toEqual(['xdebug.start_with_request=yes from your ini: every request opens a debug session']);
    expect(result.triggerValue).toBe('s3cret');
    expect(xdebugWorkerArgs(enabled(decideXdebug('auto', loaded, 'php-cgi')), 5, { 'xdebug.mode': 'profile' }).notes).toEqual([
      'xdebug.mode=profile from your ini has no "debug": requests will not be debugged',
    ]);
  });

  it("takes the IDE address from --debug-client, else from the user's xdebug.client_host/port, else 127.0.0.1:9003", () => {
    expect(resolveDebugClient({ host: '10.0.0.2', port: 9100 }, { 'xdebug.client_port': 9000 })).toEqual({ host: '10.0.0.2', port: 9100 });
    expect(resolveDebugClient(null, { 'xdebug.client_host': 'localhost', 'xdebug.client_port': 9000 })).toEqual({ host: 'localhost', port: 9000 });
    expect(resolveDebugClient(undefined, { 'xdebug.client_port': 'nine' })).toEqual({ host: '127.0.0.1', port: 9003 });
    expect(resolveDebugClient(null)).toEqual({ host: '127.0.0.1', port: 9003 });
  });
});

describe('--debug-client', () => {
  it('parses HOST:PORT, [IPv6]:PORT, a bare port, and empty for the default', () => {
    expect(parseDebugClient('127.0.0.1:9003')).toEqual({ host: '127.0.0.1', port: 9003 });
    expect(parseDebugClient('devbox.local:9000')).toEqual({ host: 'devbox.local', port: 9000 });
    expect(parseDebugClient('[::1]:9003')).toEqual({ host: '::1', port: 9003 });
    expect(parseDebugClient('9010')).toEqual({ host: '127.0.0.1', port: 9010 });
    expect(parseDebugClient('  ')).toEqual({ host: '127.0.0.1', port: 9003 });
    expect(formatDebugClient({ host: '::1', port: 9003 })).toBe('[::1]:9003');
    expect(formatDebugClient({ host: 'localhost', port: 1 })).toBe('localhost:1');
  });

  it('says what it expected for anything else', () => {
    for (const bad of ['localhost', ':9003', '::1:9003', 'host:0', 'host:70000', 'host:90a']) {
      expect(() => parseDebugClient(bad), bad).toThrow(DebugClientSyntaxError);
    }
    expect(() => parseDebugClient('::1:9003')).toThrow(
      'debug client "::1:9003" is not HOST:PORT (e.g. 127.0.0.1:9003; an IPv6 address goes in brackets: [::1]:9003)',
    );
  });
});
