// The servers under test, each started from configs generated in its own
// temp dir (php -S needs none), on a free 127.0.0.1 port, as our child
// process(es), and stopped by pid. Nothing outside the temp dir is written;
// ports 80/443 are never used; system configs are only read (mime.types,
// php.ini). Every start takes { app, workers, probe }: the document root, the
// PHP workers, and the path whose first 200 ends the cold start; nginx and
// apache also take `staticMaxAge0` (bench/pages.mjs --revalidate-all): send
// `Cache-Control: public, max-age=0` with static files, as ours always does,
// instead of no Cache-Control at all (their default).
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findPhpFpm } from './install.mjs';
import { stopTree } from './procs.mjs';

const REPO = resolve(import.meta.dirname, '../..');

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** One GET; resolves with the status code, or null on a connection error. */
export function getStatus(url, timeoutMs = 2000) {
  return new Promise((resolveStatus) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode));
      res.on('error', () => resolveStatus(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus(null));
    req.end();
  });
}

/** Polls `url` every 2 ms until a 200; returns ms since `t0` (performance.now()), or throws. */
async function firstOk(url, t0, timeoutMs, isDead) {
  const deadline = t0 + timeoutMs;
  while (performance.now() < deadline) {
    if (isDead()) throw new Error('server exited during start-up');
    if ((await getStatus(url, 1000)) === 200) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`no 200 from ${url} within ${timeoutMs} ms`);
}

/**
 * A server's cold start: ms from `t0` to its first 200 on `probe`. One that
 * does not answer is stopped, and the error carries what it said (`detail`,
 * read before the stop removes its folder).
 */
async function coldStart(name, { url, probe, t0, isDead, stop, detail }) {
  try {
    return await firstOk(url + probe, t0, 15_000, isDead);
  } catch (error) {
    const text = detail();
    await stop();
    throw new Error(`${name} did not start: ${error.message}\n${text}`, { cause: error });
  }
}

function collect(child, label) {
  const out = { text: '' };
  const add = (d) => {
    out.text += d.toString();
    if (out.text.length > 20000) out.text = out.text.slice(-10000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  child.on('error', (e) => add(`${label}: spawn failed: ${e.message}\n`));
  return out;
}

const gone = (child) => child.exitCode !== null || child.signalCode !== null;

/** With BENCH_KEEP_LOGS=DIR, a target's logs are copied there before its temp dir goes. */
function keepLogs(dir, name) {
  const dest = process.env.BENCH_KEEP_LOGS;
  if (!dest) return;
  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.log')) copyFileSync(join(dir, f), join(dest, `${name}-${f}`));
}

function readTail(path) {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- nginx + FPM

/** nginx's classic fastcgi_params (as test/support/nginxFpm.ts; Debian's copy adds HTTP_HOST $host). */
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

async function startNginxFpm({ app, workers, probe = '/hello.php', staticMaxAge0 = false }) {
  const fpm = findPhpFpm();
  if (!fpm) throw new Error('php-fpm not installed');
  const dir = mkdtempSync(join(tmpdir(), 'fcgi-bench-nginx-'));
  const asRoot = process.getuid?.() === 0;
  const port = await freePort();
  writeFileSync(join(dir, 'fastcgi_params'), FASTCGI_PARAMS);
  writeFileSync(
    join(dir, 'php-fpm.conf'),
    `[global]
pid = ${dir}/php-fpm.pid
error_log = ${dir}/php-fpm.log
daemonize = no
[www]
${asRoot ? 'user = root\ngroup = root' : ''}
listen = ${dir}/php-fpm.sock
listen.mode = 0600
listen.backlog = 511
pm = static
pm.max_children = ${workers}
pm.max_requests = 0
`,
  );
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${asRoot ? 'user root;' : ''}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  access_log off;
  client_body_temp_path ${dir}/client_body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  scgi_temp_path ${dir}/scgi;
  uwsgi_temp_path ${dir}/uwsgi;
  server {
    listen 127.0.0.1:${port} backlog=511;
    server_name localhost;
    root "${app}";
    index index.php index.html;
    location / {
      try_files $uri $uri/ /index.php?$query_string;${staticMaxAge0 ? '\n      add_header Cache-Control "public, max-age=0";' : ''}
    }
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      if (!-f $document_root$fastcgi_script_name) { return 404; }
      include ${dir}/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_pass unix:${dir}/php-fpm.sock;
    }
  }
}
`,
  );
  const t0 = performance.now();
  const fpmArgs = ['-F', '-y', join(dir, 'php-fpm.conf'), '-p', dir];
  if (asRoot) fpmArgs.push('--allow-to-run-as-root');
  const fpmChild = spawn(fpm, fpmArgs, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const nginxChild = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs = [collect(fpmChild, 'php-fpm'), collect(nginxChild, 'nginx')];
  const stop = async () => {
    await stopTree(nginxChild, 'SIGTERM');
    await stopTree(fpmChild, 'SIGQUIT');
    keepLogs(dir, 'nginx-fpm');
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const coldStartMs = await coldStart('nginx + php-fpm', {
    url,
    probe,
    t0,
    isDead: () => gone(fpmChild) || gone(nginxChild),
    stop,
    detail: () => logs.map((l) => l.text).join('') + readTail(join(dir, 'nginx-error.log')) + readTail(join(dir, 'php-fpm.log')),
  });
  return { url, coldStartMs, rootPids: () => [fpmChild.pid, nginxChild.pid], stop, dir };
}

// ------------------------------------------------------------ apache + fcgid

const MODULES = '/usr/lib/apache2/modules';

async function startApacheFcgid({ app, workers, probe = '/hello.php', staticMaxAge0 = false }) {
  const dir = mkdtempSync(join(tmpdir(), 'fcgi-bench-apache-'));
  const port = await freePort();
  // www-data must reach dir/fcgid (mkdtemp makes dir 0700).
  chmodSync(dir, 0o711);
  for (const sub of ['run', 'lock', 'fcgid']) mkdirSync(join(dir, sub), { mode: 0o755 });
  // Apache refuses to serve as root; its children (and mod_fcgid's process
  // manager, which must create sockets in FcgidIPCDir) run as www-data.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(join(dir, 'fcgid'), 33, 33);
  // Debian's apache2 binary needs none of the APACHE_* variables as long as
  // the config does not reference them (only apache2ctl and
  // /etc/apache2/apache2.conf do), so this config defines everything itself.
  writeFileSync(
    join(dir, 'httpd.conf'),
    `ServerRoot "${dir}"
DefaultRuntimeDir "${dir}/run"
PidFile "${dir}/run/apache.pid"
# Process-shared pthread mutexes: with a threaded MPM, file (fcntl) locks give
# mod_fcgid "Resource deadlock avoided: can't lock process table" and dropped requests.
Mutex pthread default
ErrorLog "${dir}/apache-error.log"
LogLevel warn
ServerName localhost
Listen 127.0.0.1:${port}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule dir_module ${MODULES}/mod_dir.so
LoadModule alias_module ${MODULES}/mod_alias.so
LoadModule fcgid_module ${MODULES}/mod_fcgid.so
${asRoot ? 'User www-data\nGroup www-data' : ''}
TypesConfig /etc/mime.types
EnableSendfile On
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 65
# mpm_event: enough threads for c=64 without queueing in apache itself.
StartServers 2
ServerLimit 4
ThreadsPerChild 64
MaxRequestWorkers 256
# mod_fcgid: at most N php-cgi, kept alive, never recycled (PHP_FCGI_MAX_REQUESTS=0
# like the other two targets; mod_fcgid's docs pair it with MaxRequestsPerProcess).
FcgidIPCDir "${dir}/fcgid"
FcgidProcessTableFile "${dir}/fcgid/shm"
FcgidMaxProcesses ${workers}
FcgidMaxProcessesPerClass ${workers}
FcgidMinProcessesPerClass ${workers}
FcgidMaxRequestsPerProcess 0
FcgidInitialEnv PHP_FCGI_MAX_REQUESTS 0
FcgidIdleTimeout 0
FcgidProcessLifeTime 0
DocumentRoot "${app}"
# The front controller, as nginx's try_files … /index.php and our default:
# paths that are no file (and the directory index) go to /index.php.
DirectoryIndex index.php index.html
FallbackResource /index.php
<Directory />
  Require all denied
</Directory>
<Directory "${app}">
  Options +ExecCGI
  AddHandler fcgid-script .php
  FcgidWrapper /usr/bin/php-cgi .php
  Require all granted
</Directory>
${
  staticMaxAge0
    ? `LoadModule headers_module ${MODULES}/mod_headers.so
<FilesMatch "\\.(?!php$)[^.]+$">
  Header set Cache-Control "public, max-age=0"
</FilesMatch>
`
    : ''
}`,
  );
  const t0 = performance.now();
  const child = spawn('/usr/sbin/apache2', ['-f', join(dir, 'httpd.conf'), '-D', 'FOREGROUND'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = collect(child, 'apache2');
  const stop = async () => {
    // SIGTERM: apache stops its children; mod_fcgid's manager kills its php-cgi.
    await stopTree(child, 'SIGTERM');
    keepLogs(dir, 'apache');
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const coldStartMs = await coldStart('apache + mod_fcgid', {
    url,
    probe,
    t0,
    isDead: () => gone(child),
    stop,
    detail: () => log.text + readTail(join(dir, 'apache-error.log')),
  });
  return { url, coldStartMs, rootPids: () => [child.pid], stop, dir };
}

// ------------------------------------------------------------------- ours

/**
 * The Node flags in a CLI file's shebang (`#!/usr/bin/env -S node --flag`):
 * the bench runs `node FLAGS cli.js`, as the installed command runs.
 */
export function shebangNodeArgs(cli) {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0] ?? '';
  if (!first.startsWith('#!')) return [];
  const words = first.slice(2).trim().split(/\s+/);
  const at = words.findIndex((word) => word === 'node' || word.endsWith('/node'));
  return at < 0 ? [] : words.slice(at + 1);
}

async function startOurs({ app, workers, probe = '/hello.php', nodeArgs = [], env = {}, cli = join(REPO, 'dist/cli.js'), extraArgs = [] }) {
  if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run npm run build');
  nodeArgs = [...shebangNodeArgs(cli), ...nodeArgs];
  const port = await freePort();
  // NODE_EXTRA_CA_CERTS (set in some sandboxes and CI images) makes every
  // Node process read and parse a CA bundle at start-up, ~90 ms on a 2-core
  // VM; a local PHP server makes no TLS connections, so the bench leaves it
  // out (set BENCH_KEEP_NODE_ENV=1 to keep it).
  const childEnv = { ...process.env, ...env };
  if (!process.env.BENCH_KEEP_NODE_ENV) delete childEnv.NODE_EXTRA_CA_CERTS;
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, cli, 'serve', app, '--port', String(port), '--min-workers', String(workers), '--max-workers', String(workers), '--quiet', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv },
  );
  const log = collect(child, 'fastcgi-pool');
  const stop = async () => {
    // SIGTERM: the CLI drains, stops every worker and exits.
    await stopTree(child, 'SIGTERM', 10_000);
  };
  const url = `http://127.0.0.1:${port}`;
  const coldStartMs = await coldStart('fastcgi-pool serve', { url, probe, t0, isDead: () => gone(child), stop, detail: () => log.text });
  return { url, coldStartMs, rootPids: () => [child.pid], stop, log };
}

// ---------------------------------------------------------------- php -S

/**
 * PHP's built-in server as VS Code's popular "PHP Server" extension starts it:
 * `php -S HOST:PORT -t DOCROOT`, the CLI's php.ini, the parent's environment.
 * It runs one request at a time (and closes every connection) unless
 * PHP_CLI_SERVER_WORKERS is set, which that extension does not do; so
 * `workers` is ignored unless `builtinWorkers` is given (the phpsWorkers
 * target). Paths that are no file fall back to index.php by itself.
 */
async function startPhpBuiltin({ app, probe = '/hello.php', builtinWorkers = 0 }) {
  const port = await freePort();
  const env = { ...process.env };
  if (builtinWorkers > 1) env.PHP_CLI_SERVER_WORKERS = String(builtinWorkers);
  else delete env.PHP_CLI_SERVER_WORKERS;
  const t0 = performance.now();
  // stderr carries its access log; collect() keeps reading it, as an
  // extension's output channel does, so the pipe never fills.
  const child = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', app], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], env });
  const log = collect(child, 'php -S');
  const stop = async () => {
    // SIGTERM: php -S exits (with PHP_CLI_SERVER_WORKERS, its forked workers too).
    await stopTree(child, 'SIGTERM');
  };
  const url = `http://127.0.0.1:${port}`;
  const coldStartMs = await coldStart('php -S', { url, probe, t0, isDead: () => gone(child), stop, detail: () => log.text });
  return { url, coldStartMs, rootPids: () => [child.pid], stop, log };
}

export const TARGETS = {
  nginx: { label: 'nginx + php-fpm', start: startNginxFpm },
  apache: { label: 'apache + mod_fcgid', start: startApacheFcgid },
  ours: { label: 'fastcgi-pool', start: startOurs },
  // Not in bench/run.mjs's default list (one PHP worker; see startPhpBuiltin).
  phps: { label: 'php -S', start: startPhpBuiltin },
  // php -S with PHP_CLI_SERVER_WORKERS = workers: what it can do, not what users get.
  phpsWorkers: { label: 'php -S + PHP_CLI_SERVER_WORKERS', start: (o) => startPhpBuiltin({ ...o, builtinWorkers: o.workers }) },
};
