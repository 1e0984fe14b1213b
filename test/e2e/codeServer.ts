import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isAlive, listRunProcesses, type RunProcess } from './processes';

/** Where the code-server of these tests comes from (see shared/tools/install-code-server.sh). */
export function findCodeServer(repoRoot: string): string {
  const fromEnv = process.env.CODE_SERVER_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CODE_SERVER_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  const cached = join(homedir(), '.cache/code-server-e2e/node_modules/.bin/code-server');
  if (existsSync(cached)) return cached;
  // Not installed yet: run the shared installer (idempotent; prints the binary on its last line).
  const installer = resolve(repoRoot, '../shared/tools/install-code-server.sh');
  if (!existsSync(installer)) {
    throw new Error(`code-server is not installed and ${installer} is missing: set CODE_SERVER_BIN`);
  }
  console.log(`installing code-server with ${installer} (a few minutes the first time)…`);
  const out = execFileSync('bash', [installer, join(homedir(), '.cache/code-server-e2e')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop()!.trim();
}

/** A port that was free a moment ago (the usual race is harmless on a test machine). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface CodeServerOptions {
  bin: string;
  /** Temp folder for the user data, extensions, config and log. */
  home: string;
  port: number;
  /** Written to the user settings.json. */
  userSettings: Record<string, unknown>;
  /** FASTCGI_POOL_E2E_RUN=<id>: every process of this run carries it. */
  marker: string;
  logFile: string;
}

export class CodeServer {
  readonly userDataDir: string;
  readonly extensionsDir: string;
  private readonly configFile: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly options: CodeServerOptions) {
    this.userDataDir = join(options.home, 'user-data');
    this.extensionsDir = join(options.home, 'extensions');
    this.configFile = join(options.home, 'config.yaml');
    mkdirSync(join(this.userDataDir, 'User'), { recursive: true });
    mkdirSync(this.extensionsDir, { recursive: true });
    // Our own config file, so ~/.config/code-server/config.yaml (password, cert…) never applies.
    writeFileSync(this.configFile, 'auth: none\ncert: false\n');
    writeFileSync(join(this.userDataDir, 'User', 'settings.json'), JSON.stringify(options.userSettings, null, 2));
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}/`;
  }

  private commonArgs(): string[] {
    return ['--config', this.configFile, '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
  }

  /** `code-server --install-extension X.vsix`; returns its output. */
  installExtension(vsix: string): string {
    return execFileSync(this.options.bin, [...this.commonArgs(), '--install-extension', vsix, '--force'], {
      encoding: 'utf8',
      env: this.env(),
      timeout: 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  private env(): NodeJS.ProcessEnv {
    const [name, value] = this.options.marker.split('=') as [string, string];
    return { ...process.env, [name]: value };
  }

  /** Starts code-server in its own process group and waits until it answers HTTP. */
  async start(): Promise<void> {
    const log = openSync(this.options.logFile, 'a');
    const args = [
      ...this.commonArgs(),
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${this.options.port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
    ];
    const child = spawn(this.options.bin, args, { detached: true, env: this.env(), stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((done) => child.once('exit', () => done()));
    let exitedEarly = false;
    child.once('exit', () => (exitedEarly = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exitedEarly) throw new Error(`code-server exited at start; see ${this.options.logFile}`);
      try {
        const response = await fetch(`${this.url}healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`code-server did not answer on ${this.url} within 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Stops code-server's process group (SIGTERM, SIGKILL after 10 s), then
   * SIGKILLs every process still carrying this run's marker (php-cgi workers
   * live in groups of their own). Returns what that sweep had to kill.
   */
  async stop(): Promise<RunProcess[]> {
    const child = this.child;
    const rootPid = child?.pid ?? null;
    if (child && rootPid && child.exitCode === null && child.signalCode === null) {
      signalGroup(rootPid, 'SIGTERM');
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(10_000).then(() => true)]);
      if (timedOut) signalGroup(rootPid, 'SIGKILL');
      await Promise.race([this.exited, sleep(5_000)]);
    }
    // Give workers that got a parent-death signal a moment to go.
    const deadline = Date.now() + 5_000;
    let left = listRunProcesses(this.options.marker, null);
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(100);
      left = listRunProcesses(this.options.marker, null);
    }
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const p of left) {
      const until = Date.now() + 2_000;
      while (isAlive(p.pid) && Date.now() < until) await sleep(50);
    }
    return left;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
