// A private MariaDB for the page-load benchmark's WordPress, started as
// test/support/mariadb.ts starts one for the integration test (plain Node
// cannot import that TypeScript file, so its few steps are repeated here):
// its own data folder and unix socket under `dir`, no TCP port, nothing of
// the system's configuration read (--no-defaults), our child, stopped by its
// pid. Debian's `mariadb-server` installs the binaries.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopTree } from './procs.mjs';

// The server and mariadb-install-db live in /usr/sbin, which a user's PATH may lack.
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;
const env = { ...process.env, PATH };

function onPath(tool) {
  return PATH.split(':').some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why a private MariaDB cannot run here, or null when it can. */
export function mariaDbMissing() {
  for (const tool of ['mariadb-install-db', 'mariadbd', 'mariadb']) {
    if (!onPath(tool)) return `${tool} is not installed (Debian: apt-get install mariadb-server)`;
  }
  return null;
}

/** The server's version line, for the report. */
export function mariaDbVersion() {
  const run = spawnSync('mariadbd', ['--version'], { env, encoding: 'utf8' });
  return /Ver (\S+)/.exec(run.stdout ?? '')?.[1] ?? '?';
}

/**
 * Creates a data folder in `dir` and starts mariadbd on it. Returns at once
 * (the caller can then stop it whatever happens next); `ready()` resolves
 * once it answers SQL. `sql()` runs statements as root, who needs no
 * password: the folder is made with --auth-root-authentication-method=normal.
 */
export function spawnMariaDb(dir) {
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const errorLog = join(dir, 'error.log');
  mkdirSync(dir, { recursive: true });
  // As root, the server must be told it may run as root; as anyone else, it runs as that user.
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const install = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...asRoot],
    { env, encoding: 'utf8', timeout: 60_000 },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db failed (${install.status}): ${install.stderr || install.stdout}`);
  const server = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${errorLog}`,
      '--skip-networking',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      '--skip-name-resolve',
      ...asRoot,
    ],
    { env, stdio: 'ignore' },
  );
  // A failed spawn emits 'error' and never 'exit'; unhandled, it would end the bench.
  let spawnError = null;
  server.once('error', (error) => (spawnError = error));
  const sql = (statements) => {
    const run = spawnSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch', '--skip-column-names', '-e', statements], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.status !== 0) throw new Error(`mariadb: ${run.stderr}`);
    return run.stdout;
  };
  const ready = async () => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      if (spawnError) throw new Error(`mariadbd did not start: ${spawnError.message}`);
      if (server.exitCode !== null || server.signalCode !== null) {
        const tail = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-1500) : '';
        throw new Error(`mariadbd exited (${server.exitCode ?? server.signalCode}); ${errorLog}:\n${tail}`);
      }
      if (!existsSync(socket)) continue;
      try {
        sql('SELECT 1');
        return;
      } catch {
        // Listening, not yet answering.
      }
    }
    throw new Error('mariadbd did not answer within 30 s');
  };
  // SIGTERM is mariadbd's clean shutdown; SIGKILL after 10 s.
  const stop = () => stopTree(server, 'SIGTERM', 10_000);
  return { socket, sql, ready, stop };
}
