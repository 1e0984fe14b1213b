import { describe, expect, it } from 'vitest';
import { discoverPhpCgi, installHint, type PhpCgiSearch } from '../../src/platform/phpCgiDiscovery';
import { explainOptionError, OptionError } from '../../src/shared/options';
import { phpExecutablePaths } from '../../src/extension/settings';

/** A machine with exactly these executables and folders. */
function machine(files: string[], dirs: Record<string, string[]> = {}): Pick<PhpCgiSearch, 'isExecutable' | 'list'> {
  return { isExecutable: (path) => files.includes(path), list: (dir) => dirs[dir] ?? [] };
}

function failure(search: PhpCgiSearch): OptionError {
  try {
    discoverPhpCgi(search);
  } catch (error) {
    return error as OptionError;
  }
  throw new Error('php-cgi was found');
}

describe('finding php-cgi', () => {
  it('uses a configured path as it is, and only it: a wrong one is an error, never another PHP', () => {
    const m = machine(['/usr/bin/php-cgi', '/opt/php/bin/php-cgi']);
    expect(discoverPhpCgi({ configured: '/opt/php/bin/php-cgi', pathEnv: '/usr/bin', os: 'linux', ...m })).toEqual({
      path: '/opt/php/bin/php-cgi',
      source: 'configured',
    });
    expect(discoverPhpCgi({ configured: 'php-cgi8.2', pathEnv: '/usr/bin', os: 'linux', ...machine(['/usr/bin/php-cgi8.2']) })).toEqual({
      path: '/usr/bin/php-cgi8.2',
      source: 'configured',
    });
    const error = failure({ configured: '/nope/php-cgi', pathEnv: '/usr/bin', os: 'linux', ...m });
    expect(error).toBeInstanceOf(OptionError);
    expect(error.option).toBe('phpCgi');
    expect(explainOptionError(error, 'cli')).toBe(
      'php-cgi not found: "/nope/php-cgi". Install it (Debian/Ubuntu: sudo apt-get install php-cgi; Fedora: sudo dnf install php-cli; macOS: brew install php) or set the path to php-cgi (--php-cgi)',
    );
  });

  it('looks on PATH first, then beside the php of the editor’s PHP settings', () => {
    const m = machine(['/usr/bin/php-cgi', '/opt/homebrew/opt/php@8.2/bin/php', '/opt/homebrew/opt/php@8.2/bin/php-cgi']);
    expect(discoverPhpCgi({ configured: 'php-cgi', pathEnv: '/usr/local/bin:/usr/bin', os: 'darwin', ...m })).toEqual({
      path: '/usr/bin/php-cgi',
      source: 'path',
    });
    const notOnPath = machine(['/opt/homebrew/opt/php@8.2/bin/php', '/opt/homebrew/opt/php@8.2/bin/php-cgi']);
    expect(
      discoverPhpCgi({ configured: 'php-cgi', pathEnv: '/usr/bin', os: 'darwin', phpExecutables: ['', '/opt/homebrew/opt/php@8.2/bin/php'], ...notOnPath }),
    ).toEqual({ path: '/opt/homebrew/opt/php@8.2/bin/php-cgi', source: 'beside-php' });
    // A bare `php` in the settings is looked up on PATH first.
    const bare = machine(['/srv/php/bin/php', '/srv/php/bin/php-cgi']);
    expect(discoverPhpCgi({ configured: 'php-cgi', pathEnv: '/srv/no:/srv/php/bin', os: 'linux', phpExecutables: ['php'], ...bare }).source).toBe('path');
  });

  it('macOS: Homebrew’s folders, even when the editor’s PATH lacks them; else one message with brew install php', () => {
    expect(discoverPhpCgi({ configured: 'php-cgi', pathEnv: '/usr/bin:/bin', os: 'darwin', ...machine(['/usr/local/bin/php-cgi']) })).toEqual({
      path: '/usr/local/bin/php-cgi',
      source: 'well-known',
    });
    expect(
      discoverPhpCgi({ configured: 'php-cgi', pathEnv: '/usr/bin', os: 'darwin', ...machine(['/usr/local/bin/php-cgi', '/opt/homebrew/bin/php-cgi']) }).path,
    ).toBe('/opt/homebrew/bin/php-cgi');
    expect(failure({ configured: 'php-cgi', pathEnv: '/usr/bin', os: 'darwin', ...machine([]) }).message).toBe(
      'php-cgi not found on PATH, in /opt/homebrew/bin or /usr/local/bin. Install it with Homebrew: brew install php (php-cgi comes with it) or set the path to php-cgi',
    );
  });

  it('Windows: php-cgi.exe on Path, then C:\\php, Laragon (newest first), XAMPP, Scoop, winget, Chocolatey; else winget install PHP.PHP.8.3', () => {
    const base = { configured: 'php-cgi', os: 'win32', env: { USERPROFILE: 'C:\\Users\\dev', LOCALAPPDATA: 'C:\\Users\\dev\\AppData\\Local' } } as const;
    expect(discoverPhpCgi({ ...base, pathEnv: 'C:\\Windows;C:\\tools\\php83', ...machine(['C:\\tools\\php83\\php-cgi.exe']) })).toEqual({
      path: 'C:\\tools\\php83\\php-cgi.exe',
      source: 'path',
    });
    expect(discoverPhpCgi({ ...base, pathEnv: 'C:\\Windows', ...machine(['C:\\php\\php-cgi.exe', 'C:\\xampp\\php\\php-cgi.exe']) }).path).toBe(
      'C:\\php\\php-cgi.exe',
    );
    const laragon = machine(['C:\\laragon\\bin\\php\\php-8.1.10-Win32-vs16-x64\\php-cgi.exe', 'C:\\laragon\\bin\\php\\php-8.3.4-Win32-vs16-x64\\php-cgi.exe'], {
      'C:\\laragon\\bin\\php': ['php-8.1.10-Win32-vs16-x64', 'php-8.3.4-Win32-vs16-x64'],
    });
    expect(discoverPhpCgi({ ...base, pathEnv: '', ...laragon }).path).toBe('C:\\laragon\\bin\\php\\php-8.3.4-Win32-vs16-x64\\php-cgi.exe');
    expect(discoverPhpCgi({ ...base, pathEnv: '', ...machine(['C:\\xampp\\php\\php-cgi.exe']) }).path).toBe('C:\\xampp\\php\\php-cgi.exe');
    expect(discoverPhpCgi({ ...base, pathEnv: '', ...machine(['C:\\Users\\dev\\scoop\\apps\\php\\current\\php-cgi.exe']) }).path).toBe(
      'C:\\Users\\dev\\scoop\\apps\\php\\current\\php-cgi.exe',
    );
    const wingetDir = 'C:\\Users\\dev\\AppData\\Local\\Microsoft\\WinGet\\Packages';
    const winget = machine([`${wingetDir}\\PHP.PHP.8.3_Microsoft.Winget.Source_8wekyb3d8bbwe\\php-cgi.exe`], {
      [wingetDir]: ['Git.Git_x', 'PHP.PHP.8.3_Microsoft.Winget.Source_8wekyb3d8bbwe'],
    });
    expect(discoverPhpCgi({ ...base, pathEnv: '', ...winget }).source).toBe('well-known');
    // Beside the php.exe of php.validate.executablePath.
    expect(discoverPhpCgi({ ...base, pathEnv: '', phpExecutables: ['D:\\php8\\php.exe'], ...machine(['D:\\php8\\php.exe', 'D:\\php8\\php-cgi.exe']) })).toEqual(
      { path: 'D:\\php8\\php-cgi.exe', source: 'beside-php' },
    );
    const error = failure({ ...base, pathEnv: 'C:\\Windows', ...machine([]) });
    expect(explainOptionError(error, 'settings')).toBe(
      'php-cgi not found on PATH or in C:\\php, Laragon, XAMPP, Scoop or winget’s folders. Install it: winget install PHP.PHP.8.3 (php-cgi.exe comes with it), or unzip PHP from windows.php.net into C:\\php, or set the path to php-cgi (fastcgiPool.phpCgiPath)',
    );
  });

  it('names each OS’s install command', () => {
    expect(installHint('linux')).toContain('sudo apt-get install php-cgi');
    expect(installHint('darwin')).toContain('brew install php');
    expect(installHint('win32')).toContain('winget install PHP.PHP.8.3');
  });

  it('reads the php paths of the editor’s PHP settings', () => {
    const values: Record<string, unknown> = { 'validate.executablePath': ' /opt/php/bin/php ', executablePath: 42 };
    expect(phpExecutablePaths({ get: <T>(key: string) => values[key] as T })).toEqual(['/opt/php/bin/php']);
  });
});
