import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from '../../src/platform/spawnWorker';
import { sleep } from './helpers';

/**
 * A private MariaDB for a test: its own data folder and unix socket under
 * `dir`, no TCP port, nothing of the system's configuration read
 * (`--no-defaults`), stopped (SIGTERM, then SIGKILL) by the test that
 * started it. Debian's `mariadb-server` installs the binaries; CI installs
 * it (.ci/run) with service start-ups forbidden, so no system server runs.
 */
export interface PrivateMariaDb {
  /** The unix socket clients connect to. */
  readonly socket: string;
  /** Runs SQL as root (no password: the data folder was made with `--auth-root-authentication-method=normal`). */
  sql(statements: string): string;
  stop(): Promise<void>;
}

const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;

/** Why a private MariaDB cannot run here, or null when it can. */
export function mariaDbMissing(): string | null {
  for (const tool of ['mariadb-install-db', 'mariadbd', 'mariadb']) {
    if (!findExecutable(tool, PATH)) return `${tool} is not installed (Debian: apt-get install mariadb-server)`;
  }
  return null;
}

/** Creates a data folder in `dir` and starts a server on it; resolves once it answers. */
export async function startMariaDb(dir: string): Promise<PrivateMariaDb> {
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  mkdirSync(dir, { recursive: true });
  // As root, the server must be told it may run as root; as anyone else, it runs as that user.
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const env = { ...process.env, PATH };
  const install = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...asRoot],
    { env, encoding: 'utf8', timeout: 60_000 },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db failed (${install.status}): ${install.stderr || install.stdout}`);
  const server: ChildProcess = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      '--skip-networking',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      '--skip-name-resolve',
      ...asRoot,
    ],
    { env, stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const sql = (statements: string): string => {
    const run = spawnSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch', '--skip-column-names', '-e', statements], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.status !== 0) throw new Error(`mariadb: ${run.stderr}`);
    return run.stdout;
  };
  const stop = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  for (let waited = 0; ; waited += 100) {
    if (server.exitCode !== null) throw new Error(`mariadbd exited with code ${server.exitCode}; see ${join(dir, 'error.log')}`);
    if (existsSync(socket)) {
      try {
        sql('SELECT 1');
        break;
      } catch {
        // Listening, not yet answering.
      }
    }
    if (waited > 30_000) {
      await stop();
      throw new Error('mariadbd did not answer within 30 s');
    }
    await sleep(100);
  }
  return { socket, sql, stop };
}
