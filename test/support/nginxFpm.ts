import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Real nginx + PHP-FPM, started from configs generated in a private temp dir,
 * as the reference our gateway is compared against (parity tests, benchmarks).
 *
 * Nothing outside the temp dir is written: pid files, logs and every
 * *_temp_path live there, nginx listens on a free 127.0.0.1 port, and FPM on a
 * unix socket next to them. System configs are only read (mime.types, FPM's
 * php.ini), never changed.
 */

/** Options for {@link startNginxFpm}. */
export interface NginxFpmOptions {
  /** Absolute document root (nginx `root`). */
  documentRoot: string;
  /** FPM `pm.max_children` with `pm = static`. */
  workers: number;
  /** nginx `worker_processes`; defaults to 1 (the gateway is one Node process too). */
  nginxWorkers?: number;
  /** Write an nginx access log into the temp dir (off by default: benchmarks). */
  accessLog?: boolean;
}

/** A running nginx + FPM pair. */
export interface NginxFpm {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  /** The temp dir holding configs, logs and the FPM socket. */
  dir: string;
  /** Stops both (graceful first, SIGKILL fallback) and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * The FastCGI params we pass. This is nginx's classic `conf/fastcgi_params`
 * (1.22). It is written out here instead of including /etc/nginx/fastcgi_params
 * because distributions patch that file (Debian adds `HTTP_HOST $host`, which
 * drops the port from HTTP_HOST, and REMOTE_USER), and the parity tests must
 * compare against one known set.
 */
const FASTCGI_PARAMS = `
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;

fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;

fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;

fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;

fastcgi_param  REDIRECT_STATUS    200;
`;

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** nginx: PATH first, then Debian's /usr/sbin (not on a non-root PATH). */
function findNginx(): string | null {
  return findOnPath('nginx') ?? (isExecutable('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);
}

/** php-fpm: `php-fpm` on PATH, else the newest versioned `php-fpmX.Y` in /usr/sbin. */
function findPhpFpm(): string | null {
  const plain = findOnPath('php-fpm');
  if (plain) return plain;
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin']) {
    if (!dir) continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const versioned = names.filter((n) => /^php-fpm\d+(\.\d+)?$/.test(n)).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
    for (const name of versioned) {
      if (isExecutable(join(dir, name))) return join(dir, name);
    }
  }
  return null;
}

/** Whether both nginx and php-fpm binaries exist here (tests skip otherwise). */
export function isNginxFpmAvailable(): boolean {
  return process.platform !== 'win32' && findNginx() !== null && findPhpFpm() !== null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function nginxConf(dir: string, port: number, options: NginxFpmOptions, asRoot: boolean): string {
  const mimeTypes = existsSync('/etc/nginx/mime.types') ? 'include /etc/nginx/mime.types;' : 'types { text/html html; }';
  return `
# generated by test/support/nginxFpm.ts
${asRoot ? 'user root;' : ''}
daemon off;
master_process on;
worker_processes ${options.nginxWorkers ?? 1};
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  ${mimeTypes}
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 65;
  access_log ${options.accessLog ? `${dir}/nginx-access.log` : 'off'};
  client_body_temp_path ${dir}/client_body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  scgi_temp_path ${dir}/scgi;
  uwsgi_temp_path ${dir}/uwsgi;

  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    root "${options.documentRoot}";
    index index.php index.html;

    location / {
      try_files $uri $uri/ /index.php?$query_string;
    }

    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      if (!-f $document_root$fastcgi_script_name) {
        return 404;
      }
      include ${dir}/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_pass unix:${dir}/php-fpm.sock;
    }
  }
}
`;
}

function fpmConf(dir: string, options: NginxFpmOptions, asRoot: boolean): string {
  // FPM defaults otherwise (clear_env = yes, limit_extensions = .php, ...):
  // parity means comparing against what people actually run.
  return `
; generated by test/support/nginxFpm.ts
[global]
pid = ${dir}/php-fpm.pid
error_log = ${dir}/php-fpm.log
daemonize = no

[www]
${asRoot ? 'user = root\ngroup = root' : ''}
listen = ${dir}/php-fpm.sock
listen.mode = 0600
pm = static
pm.max_children = ${options.workers}
`;
}

/** Direct children of a pid (Linux /proc), so stop() can verify they are gone too. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) found.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // not Linux, or the process is already gone
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0 but has finished: only its reaper is missing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Graceful signal, then SIGKILL; afterwards makes sure the children left too. */
async function stopProcess(child: ChildProcess, graceful: NodeJS.Signals): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const children = childrenOf(pid);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(graceful);
    if (!(await waitForExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
  }
  // Workers normally exit with their master; an orphan would outlive the test run.
  for (const c of children) {
    if (isAlive(c) && !(await waitUntil(() => !isAlive(c), 2000))) {
      try {
        process.kill(c, 'SIGKILL');
      } catch {
        // exited in between
      }
    }
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

/**
 * Starts php-fpm (`pm = static`, `workers` children, unix socket) and nginx
 * (the usual `try_files` + `fastcgi_split_path_info` server block) on a free
 * 127.0.0.1 port. Both run in the foreground as our children, so stop() can
 * signal them by pid. Retries with a new port if another process takes it
 * between our probe and nginx's bind.
 */
export async function startNginxFpm(options: NginxFpmOptions): Promise<NginxFpm> {
  const nginx = findNginx();
  const fpm = findPhpFpm();
  if (!nginx || !fpm) throw new Error('nginx or php-fpm not found (see isNginxFpmAvailable)');
  if (!Number.isInteger(options.workers) || options.workers < 1) throw new Error(`workers must be >= 1: ${options.workers}`);
  // nginx would expand `$` as a variable and has no escape for `"` in a
  // quoted string; such a root cannot be written into the config safely.
  if (!isAbsolute(options.documentRoot) || /["$\\\n\r;{}]/.test(options.documentRoot)) {
    throw new Error(`documentRoot must be absolute and free of " $ \\ ; { } and line breaks: ${options.documentRoot}`);
  }

  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'nginx-fpm-'));
  writeFileSync(join(dir, 'fastcgi_params'), FASTCGI_PARAMS);
  writeFileSync(join(dir, 'php-fpm.conf'), fpmConf(dir, options, asRoot));

  const fpmArgs = ['-F', '-y', join(dir, 'php-fpm.conf'), '-p', dir];
  if (asRoot) fpmArgs.push('--allow-to-run-as-root');
  const fpmChild = spawn(fpm, fpmArgs, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let fpmStderr = '';
  fpmChild.stderr?.on('data', (d: Buffer) => (fpmStderr += d.toString()));
  // Without a listener a failed spawn (EACCES, ENOENT) would crash the test process.
  fpmChild.on('error', (error) => (fpmStderr += `spawn failed: ${error.message}\n`));
  const started: ChildProcess[] = [fpmChild];

  const cleanup = async (): Promise<void> => {
    // nginx first (SIGTERM = fast shutdown), so nothing new reaches FPM;
    // then FPM with SIGQUIT (graceful: workers finish the current request).
    for (const c of [...started].reverse()) await stopProcess(c, c === fpmChild ? 'SIGQUIT' : 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const fpmGone = (): boolean => fpmChild.exitCode !== null || fpmChild.signalCode !== null || fpmChild.pid === undefined;
    const fpmReady = await waitUntil(() => existsSync(join(dir, 'php-fpm.sock')) || fpmGone(), 10_000);
    if (!fpmReady || fpmGone()) {
      throw new Error(`php-fpm did not start: ${fpmStderr}${readLog(join(dir, 'php-fpm.log'))}`);
    }

    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, options, asRoot));
      // -e: the startup error log too, so nginx never opens its compiled-in path.
      const nginxChild = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let nginxStderr = '';
      nginxChild.stderr?.on('data', (d: Buffer) => (nginxStderr += d.toString()));
      nginxChild.on('error', (error) => (nginxStderr += `spawn failed: ${error.message}\n`));
      started.push(nginxChild);
      const deadline = Date.now() + 10_000;
      let up = false;
      while (Date.now() < deadline && nginxChild.pid !== undefined && nginxChild.exitCode === null && nginxChild.signalCode === null) {
        if (await canConnect(port)) {
          up = true;
          break;
        }
        await sleep(20);
      }
      if (up && nginxChild.exitCode === null) {
        return {
          url: `http://127.0.0.1:${port}`,
          port,
          dir,
          stop: cleanup,
        };
      }
      await stopProcess(nginxChild, 'SIGQUIT');
      started.pop();
      const log = nginxStderr + readLog(join(dir, 'nginx-error.log'));
      if (attempt < 3 && /Address already in use/.test(log)) continue;
      throw new Error(`nginx did not start: ${log}`);
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
}
