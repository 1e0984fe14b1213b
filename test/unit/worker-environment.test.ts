import { describe, expect, it } from 'vitest';
import { workerEnvironment } from '../../src/platform/workerEnvironment';

describe('workerEnvironment', () => {
  it('passes only the allow-list, like PHP-FPM clear_env, then the extra variables', () => {
    const env = workerEnvironment(
      {
        PATH: '/usr/bin',
        HOME: '/root',
        LC_ALL: 'C.UTF-8',
        PHPRC: '/etc/php',
        FASTCGI_POOL_MARK: '1',
        VSCODE_IPC_HOOK: 'secret',
        AWS_SECRET_ACCESS_KEY: 'x',
        NODE_OPTIONS: '--inspect',
      },
      { APP_ENV: 'dev', PATH: '/opt/bin' },
    );
    expect(env).toEqual({ PATH: '/opt/bin', HOME: '/root', LC_ALL: 'C.UTF-8', PHPRC: '/etc/php', FASTCGI_POOL_MARK: '1', APP_ENV: 'dev' });
  });

  it('lets an extra undefined remove an inherited variable', () => {
    expect(workerEnvironment({ PATH: '/bin', TZ: 'UTC' }, { TZ: undefined })).toEqual({ PATH: '/bin' });
  });

  it('on Windows, matches the names whatever their case (Path, SystemRoot), and only there', () => {
    const source = { Path: 'C:\\Windows', SystemRoot: 'C:\\Windows', ComSpec: 'cmd.exe', UserProfile: 'C:\\Users\\dev', VSCODE_PID: '1' };
    expect(workerEnvironment(source, {}, 'win32')).toEqual({ Path: 'C:\\Windows', SystemRoot: 'C:\\Windows', ComSpec: 'cmd.exe' });
    expect(workerEnvironment(source, {}, 'linux')).toEqual({});
  });
});
