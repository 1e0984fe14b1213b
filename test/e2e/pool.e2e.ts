/**
 * End-to-end test of the extension in a real VS Code (code-server 4.100.3,
 * VS Code 1.100.3) driven through headless Chromium, as a person would use it:
 *
 *   open the example workspace → "FastCGI: Start Pool" from the command palette
 *   → the Idle group fills in the sidebar → a slow request shows a worker under
 *   Busy with its request → "Kill Worker" from that row's context menu, and a
 *   replacement appears → /die makes its worker SIGKILL itself mid-request and
 *   the Problems panel shows the defunct-busy diagnostic on index.php → under
 *   load from the test, "FastCGI: Show Dashboard" opens the lease dashboard
 *   (headline figures, worker rows, the lease timeline, the /die finding) →
 *   "FastCGI: Stop Pool" leaves no php-cgi behind.
 *
 * Run with `npm run test:e2e` (packages the .vsix first) or, with a .vsix at
 * hand, `node test/e2e/run.mjs`. Screenshots: test-output/e2e/NN-name.png.
 * Environment: E2E_VSIX (default: the newest *.vsix in the repository root),
 * CODE_SERVER_BIN (default: ~/.cache/code-server-e2e, installed on demand),
 * CHROMIUM (default /usr/bin/chromium), E2E_KEEP=1 keeps the temp folder.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { chromium, type Browser, type Frame } from 'playwright-core';
import { activationToPoolReady } from './activationTiming';
import { CodeServer, findCodeServer, freePort } from './codeServer';
import { describe, isAlive, listRunPhpProcesses } from './processes';
import { StepRunner } from './steps';
import { Workbench, formatDashboard, formatRows, poll, type DashboardView, type Row } from './workbench';

const repoRoot = process.cwd();
const outputDir = resolve(repoRoot, 'test-output/e2e');
const SLOW_MS = 30_000;

/** `worker w3 · pid 1234` */
const WORKER_LABEL = /^worker (w\d+) · pid (\d+)$/;
const GROUPS = ['Busy', 'Idle', 'Error', 'Starting'];

interface Worker {
  row: Row;
  id: string;
  pid: number;
  /** The group row it sits under ("Busy", "Idle", …), by the tree's levels. */
  group: string;
}

/** The worker rows of the sidebar tree, each with the group it is under. */
function workersOf(rows: Row[]): Worker[] {
  const workers: Worker[] = [];
  for (const [i, row] of rows.entries()) {
    const m = WORKER_LABEL.exec(row.label);
    if (!m) continue;
    let group = '?';
    for (let j = i - 1; j >= 0; j--) {
      if (rows[j]!.level === row.level - 1) {
        group = groupName(rows[j]!);
        break;
      }
    }
    workers.push({ row, id: m[1]!, pid: Number(m[2]), group });
  }
  return workers;
}

/** "Idle" for a group row labelled "Idle" (with its count as description) or "Idle (2)". */
function groupName(row: Row): string {
  return GROUPS.find((g) => row.label === g || row.label.startsWith(`${g} `) || row.label.startsWith(`${g}(`)) ?? row.label;
}

/**
 * Polls the Workers tree until `pick` finds what it wants among the worker
 * rows, expanding the groups named in `expand` whenever they are collapsed
 * (a group that gains its first worker appears collapsed, as a person sees it).
 */
async function waitForWorkers<T>(
  wb: Workbench,
  what: string,
  expand: string[],
  pick: (workers: Worker[]) => T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  return poll(
    what,
    async () => {
      for (const group of expand) await wb.expandIfCollapsed((r) => r.level > 1 && groupName(r) === group);
      return pick(workersOf(await wb.readSidebar()));
    },
    timeoutMs,
    () => wb.describeSidebar(),
  );
}

/** "HTTP 502: Bad Gateway worker w2 (pid 123) …" — the status and the start of the page's text. */
function answerOf(request: Promise<Response>): Promise<string> {
  return request.then(
    async (r) => {
      const body = await r.text().then(
        (html) => html.replace(/<head>[\s\S]*?<\/head>|<style>[\s\S]*?<\/style>/g, ' ').replace(/<[^>]+>/g, ' '),
        (e) => `(body cut short: ${String(e)})`,
      );
      return `HTTP ${r.status}: ${body.replace(/\s+/g, ' ').trim().slice(0, 240)}`;
    },
    (e) => `no response: ${String(e.cause ?? e)}`,
  );
}

/**
 * Keeps the pool busy from the test process: three loops of slow pages
 * (1.2–2.5 s, so the timeline gets long bars and workers stay busy) and one
 * of quick pages. `stop()` lets each loop finish its request (an aborted
 * request would recycle its worker) and says how the requests went.
 */
function startLoad(poolUrl: string): { stop(): Promise<string> } {
  let running = true;
  const statuses = new Map<string, number>();
  const count = (status: string) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const get = (path: string) =>
    fetch(`${poolUrl}${path}`).then(
      async (r) => {
        await r.arrayBuffer();
        count(String(r.status));
      },
      (e) => count(`error ${String(e.cause?.code ?? e)}`),
    );
  const loop = async (paths: string[], pauseMs: number) => {
    for (let i = 0; running; i++) {
      await get(paths[i % paths.length]!);
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const loops = [
    loop(['/slow?ms=2500'], 0),
    loop(['/slow?ms=1800'], 0),
    loop(['/slow?ms=1200', '/hello/dashboard'], 0),
    loop(['/', '/api/users', '/hello/dashboard', '/api/users/1'], 150),
  ];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      return `${total} requests (${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')})`;
    },
  };
}

function findVsix(): string {
  const fromEnv = process.env.E2E_VSIX;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`E2E_VSIX=${fromEnv} does not exist`);
    return resolve(fromEnv);
  }
  const candidates = readdirSync(repoRoot)
    .filter((f) => f.endsWith('.vsix'))
    .map((f) => join(repoRoot, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (candidates.length === 0) throw new Error('no .vsix in the repository root: run `npm run package` (or set E2E_VSIX)');
  return candidates[0]!;
}

async function main(): Promise<number> {
  const started = Date.now();
  rmSync(outputDir, { recursive: true, force: true });
  mkdirSync(outputDir, { recursive: true });

  const vsix = findVsix();
  const bin = findCodeServer(repoRoot);
  const runId = `${process.pid}-${Date.now()}`;
  const marker = `FASTCGI_POOL_E2E_RUN=${runId}`;
  const temp = mkdtempSync(join(tmpdir(), 'fastcgi-pool-e2e-'));
  const workspace = join(temp, 'hello-php');
  const runner = new StepRunner(outputDir);
  let codeServer: CodeServer | null = null;
  let browser: Browser | null = null;
  const slowRequest = new AbortController();
  let slowResult: Promise<string> | null = null;

  const csPort = await freePort();
  const poolPort = await freePort();
  const poolUrl = `http://127.0.0.1:${poolPort}`;
  console.log(`FastCGI Pool e2e: ${basename(vsix)} in code-server ${bin}`);
  console.log(`  run ${runId}, workspace ${workspace}, code-server :${csPort}, pool :${poolPort}, output ${outputDir}`);

  // A copy of the example app, so the test never changes the repository.
  cpSync(resolve(repoRoot, 'examples/hello-php'), workspace, { recursive: true });

  const seenPids = new Set<number>();
  let slowWorker: Worker | null = null;
  let wb!: Workbench;

  const phpLeft = () => listRunPhpProcesses(marker, codeServer?.pid ?? null);

  // Ctrl+C or a CI timeout: still stop code-server and every process of this run.
  const onSignal = (signal: NodeJS.Signals) => {
    console.log(`\n${signal}: stopping code-server and the processes of run ${runId}`);
    void Promise.resolve((codeServer as CodeServer | null)?.stop()).finally(() => {
      if (!process.env.E2E_KEEP) rmSync(temp, { recursive: true, force: true });
      console.log('e2e interrupted');
      console.log('e2e: 0 passed, 1 failed');
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await runner.runAll([
      {
        title: '01 code-server starts with the extension installed and opens the example workspace',
        run: async () => {
          codeServer = new CodeServer({
            bin,
            home: join(temp, 'code-server'),
            port: csPort,
            marker,
            logFile: join(outputDir, 'code-server.log'),
            userSettings: {
              // Trust is off in the user settings (as a person may set it), not by a server flag.
              'security.workspace.trust.enabled': false,
              'workbench.startupEditor': 'none',
              'workbench.tips.enabled': false,
              'workbench.enableExperiments': false,
              'telemetry.telemetryLevel': 'off',
              'update.mode': 'none',
              'extensions.autoCheckUpdates': false,
              'extensions.autoUpdate': false,
              'extensions.ignoreRecommendations': true,
              'chat.commandCenter.enabled': false,
              'window.commandCenter': false,
              'fastcgiPool.port': poolPort,
              'fastcgiPool.minWorkers': 2,
            },
          });
          const installed = codeServer.installExtension(vsix);
          if (!/successfully installed|was successfully/i.test(installed)) {
            throw new Error(`code-server --install-extension ${vsix} said:\n${installed}`);
          }
          await codeServer.start();
          browser = await chromium.launch({
            executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
            headless: true,
            args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
          });
          const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
          page.setDefaultTimeout(15_000);
          const browserLog = (line: string) => writeFileSync(join(outputDir, 'browser-console.log'), `${line}\n`, { flag: 'a' });
          page.on('console', (m) => {
            // Errors, and everything a webview frame says (how its service worker came up).
            if (m.type() === 'error' || /\/webview\//.test(m.location().url)) browserLog(`${m.type()}: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
          });
          // Which resource a "Failed to load resource" was (webview frames included).
          page.on('response', (r) => {
            if (r.status() >= 400) browserLog(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
          });
          page.on('requestfailed', (r) => browserLog(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText ?? '?'}`));
          runner.page = page;
          wb = new Workbench(page);
          runner.describePage = () => wb.describe();
          await page.goto(`${codeServer.url}?folder=${encodeURIComponent(workspace)}`);
          await wb.waitForReady('hello-php');
          await runner.screenshot('workspace');
        },
      },
      {
        title: '02 "FastCGI: Start Pool" from the command palette starts the pool',
        run: async () => {
          await wb.runCommand('FastCGI: Start Pool', async () => {
            await runner.screenshot('command-palette');
          });
          const home = await poll(
            `the pool to answer GET ${poolUrl}/`,
            async () => await fetch(`${poolUrl}/`),
            30_000,
            () => wb.describe(),
          );
          const body = await home.text();
          if (home.status !== 200 || !body.includes('hello-php')) {
            throw new Error(`GET / through the pool answered ${home.status}: ${body.slice(0, 300)}`);
          }
        },
      },
      {
        title: '03 the sidebar shows the pool and its Idle group fills with the 2 minimum workers',
        run: async () => {
          await wb.openViewContainer('FastCGI Pool');
          await wb.widenSidebar(560);
          const poolRow = await poll(
            `the pool node "hello-php" with description ":${poolPort} · N/N busy"`,
            async () => (await wb.readSidebar()).find((r) => r.label === 'hello-php' && r.description.startsWith(`:${poolPort} · `)),
            20_000,
            () => wb.describeSidebar(),
          );
          if (!/^:\d+ · \d+\/\d+ busy/.test(poolRow.description)) {
            throw new Error(`the pool node's description is "${poolRow.description}", expected ":${poolPort} · N/N busy"`);
          }
          const idle = await waitForWorkers(wb, 'two worker rows ("worker wN · pid N") under Idle', ['Idle'], (workers) => {
            const found = workers.filter((w) => w.group === 'Idle');
            return found.length >= 2 ? found : undefined;
          });
          for (const w of idle) {
            seenPids.add(w.pid);
            if (!isAlive(w.pid)) throw new Error(`the tree shows ${w.row.label}, but pid ${w.pid} is not running`);
          }
          const php = phpLeft().map((p) => p.pid);
          for (const w of idle) {
            if (!php.includes(w.pid)) throw new Error(`pid ${w.pid} of ${w.row.label} is not a php-cgi of this run (those are ${php.join(', ')})`);
          }
          await poll(
            `the status bar item "FastCGI 0/N busy · :${poolPort}"`,
            async () => (await wb.statusBarTexts()).some((t) => new RegExp(`FastCGI 0/\\d+ busy · :${poolPort}`).test(t)),
            10_000,
            async () => `status bar: ${(await wb.statusBarTexts()).join(' | ')}`,
          );
          await runner.screenshot('idle-workers');
        },
      },
      {
        title: `04 a slow request (GET /slow?ms=${SLOW_MS}) shows its worker under Busy with the request`,
        run: async () => {
          slowResult = answerOf(fetch(`${poolUrl}/slow?ms=${SLOW_MS}`, { signal: slowRequest.signal }));
          const busy = await waitForWorkers(
            wb,
            `a worker under Busy whose description starts with "GET /slow?ms=${SLOW_MS}"`,
            ['Busy'],
            (workers) => workers.find((w) => w.group === 'Busy' && w.row.description.startsWith(`GET /slow?ms=${SLOW_MS}`)),
            15_000,
          );
          if (!/ · \d+(\.\d+)? m?s$/.test(busy.row.description)) {
            throw new Error(`the busy worker's description "${busy.row.description}" does not end with its elapsed time ("· 2.3 s")`);
          }
          seenPids.add(busy.pid);
          slowWorker = busy;
          await poll(
            `the status bar item "FastCGI 1/N busy · :${poolPort}"`,
            async () => (await wb.statusBarTexts()).some((t) => new RegExp(`FastCGI 1/\\d+ busy · :${poolPort}`).test(t)),
            10_000,
            async () => `status bar: ${(await wb.statusBarTexts()).join(' | ')}`,
          );
          await runner.screenshot('busy-worker');
        },
      },
      {
        title: '05 "Kill Worker" from the busy worker\'s context menu kills it and a replacement appears',
        run: async () => {
          const victim = slowWorker!;
          await wb.contextMenu(victim.row, 'Kill Worker', async () => {
            await runner.screenshot('context-menu');
          });
          // A confirmation dialog is allowed; accept it like a person would.
          await poll(
            `pid ${victim.pid} (${victim.row.label}) to exit`,
            async () => {
              if (!isAlive(victim.pid)) return true;
              const dialog = wb.page.locator('.monaco-dialog-box');
              if (await dialog.isVisible().catch(() => false)) {
                await runner.screenshot('kill-confirmation');
                await dialog.getByRole('button', { name: /^Kill/ }).first().click();
              }
              return false;
            },
            15_000,
            () => wb.describe(),
          );
          const outcome = await Promise.race([slowResult!, new Promise<string>((r) => setTimeout(() => r('still pending'), 10_000))]);
          if (outcome === 'still pending') throw new Error(`the slow request was still pending 10 s after its worker ${victim.pid} was killed`);
          console.log(`      the slow request ended: ${outcome}`);
          const replacement = await waitForWorkers(
            wb,
            `pid ${victim.pid} to leave Busy (an Error row for it may stay) and a replacement worker (a new pid) to appear under Idle`,
            ['Idle'],
            (workers) =>
              workers.some((w) => w.pid === victim.pid && w.group !== 'Error')
                ? undefined
                : workers.find((w) => !seenPids.has(w.pid) && w.group === 'Idle'),
          );
          console.log(`      replacement: ${replacement.row.label}`);
          if (!isAlive(replacement.pid)) throw new Error(`the replacement ${replacement.row.label} is not running`);
          for (const w of workersOf(await wb.readSidebar())) seenPids.add(w.pid);
          // Show what the Error group holds (the killed worker while it is reaped, if anything).
          await wb.expandIfCollapsed((r) => r.level > 1 && groupName(r) === 'Error');
          console.log(`      tree: ${formatRows(await wb.readSidebar()).replace(/\n\s*/g, ' | ')}`);
          await runner.screenshot('replacement-worker');
        },
      },
      {
        title: '06 GET /die kills its own worker mid-request and the Problems panel shows defunct-busy on index.php',
        run: async () => {
          const answer = await answerOf(fetch(`${poolUrl}/die`));
          console.log(`      GET /die: ${answer}`);
          await wb.openProblems();
          const pattern = /defunct-busy: worker (w\d+) \(pid (\d+)\) was killed by SIGKILL while serving GET \/die/;
          const found = await poll(
            'a "defunct-busy: worker wN (pid N) was killed by SIGKILL while serving GET /die" problem under index.php',
            async () => {
              const rows = await wb.readProblems();
              for (const [i, row] of rows.entries()) {
                const m = pattern.exec(row.text) ?? pattern.exec(row.ariaLabel);
                if (!m) continue;
                const file = rows.slice(0, i).reverse().find((r) => r.level === row.level - 1);
                if (file?.label === 'index.php') return { row, file, pid: Number(m[2]) };
              }
              return undefined;
            },
            20_000,
            async () => `problems: ${formatRows(await wb.readProblems())}`,
          );
          if (!/fastcgi-pool/.test(`${found.row.text} ${found.row.ariaLabel}`)) {
            throw new Error(`the problem does not name its source fastcgi-pool: ${found.row.text}`);
          }
          if (isAlive(found.pid)) throw new Error(`the problem says pid ${found.pid} was killed, but it is running`);
          console.log(`      problem: ${found.row.text}`);
          await runner.screenshot('problems-defunct-busy');
        },
      },
      {
        title: '07 under load, "FastCGI: Show Dashboard" opens the lease dashboard with its figures, workers and timeline',
        run: async () => {
          // Room for the dashboard: the Problems panel and the sidebar step aside (step 08 opens the sidebar again).
          await wb.runCommand('View: Hide Panel');
          await wb.runCommand('View: Close Primary Side Bar');
          const load = startLoad(poolUrl);
          try {
            await wb.runCommand('FastCGI: Show Dashboard');
            let frame: Frame | undefined;
            let seen: DashboardView | null = null;
            const describeDashboard = async () =>
              (seen ? `dashboard:\n    ${formatDashboard(seen)}` : `no dashboard webview found; frames: ${wb.page.frames().map((f) => f.url().slice(0, 160)).join(' | ')}`) +
              `\n  ${await wb.describe()}`;
            const shown = await poll(
              'the dashboard webview to show the running pool: headline figures, a worker row with a request, a timeline with leases, the /die finding',
              async () => {
                frame ??= await wb.webviewFrame('[data-figure="busy"]');
                if (!frame) return undefined;
                const d = (seen = await wb.readDashboard(frame));
                const figure = (key: string) => d.figures.find((f) => f.key === key)?.value ?? '';
                const lanes = Number(/, (\d+) workers?:/.exec(d.timeline)?.[1] ?? 0);
                const ready =
                  d.subtitle.startsWith('Pool running') &&
                  /^\d+$/.test(figure('idle')) &&
                  Number(figure('busy')) >= 1 &&
                  d.rows.some((r) => /^w\d+$/.test(r.key) && /^\d+/.test(r.pid)) &&
                  d.rows.some((r) => r.request.startsWith('GET /')) &&
                  lanes >= 1 &&
                  !/no leases/.test(d.timeline) &&
                  /defunct-busy/.test(d.findings);
                return ready ? d : undefined;
              },
              30_000,
              describeDashboard,
            );
            // The rows are the pool's own workers: each pid a php-cgi of this run.
            const php = phpLeft().map((p) => p.pid);
            const pids = shown.rows.filter((r) => /^\d+$/.test(r.pid)).map((r) => Number(r.pid));
            for (const pid of pids) if (!php.includes(pid) && isAlive(pid)) throw new Error(`the dashboard shows pid ${pid}, which is not a php-cgi of this run (${php.join(', ')})`);
            for (const pid of pids) seenPids.add(pid);
            console.log(`      ${formatDashboard(shown).replace(/\n\s*/g, '\n      ')}`);
            // The run is a minute old: the last minute shows its leases at a readable scale.
            await frame!.locator('vscode-dropdown').click();
            await frame!.locator('vscode-option', { hasText: 'Last minute' }).click();
            // …and a few seconds more of load put a row of short leases next to the slow ones.
            await poll(
              'the timeline to span the last minute and show at least 15 finished (ok) leases',
              async () => {
                const d = (seen = await wb.readDashboard(frame!));
                return /^Lease timeline, last 1 min\b/.test(d.timeline) && Number(/(\d+) ok\b/.exec(d.timeline)?.[1] ?? 0) >= 15;
              },
              20_000,
              describeDashboard,
            );
            console.log(`      timeline: ${seen!.timeline}`);
            await runner.screenshot('dashboard');
          } finally {
            console.log(`      load: ${await load.stop()}`);
          }
        },
      },
      {
        title: '08 "FastCGI: Stop Pool" stops every worker: no php-cgi of this run is left',
        always: true,
        run: async () => {
          if (!runner.page) throw new Error('no workbench to stop the pool from (an earlier step failed)');
          await wb.pressEscape();
          await wb.runCommand('FastCGI: Stop Pool');
          await poll(
            'every php-cgi process of this run to exit',
            async () => phpLeft().length === 0,
            20_000,
            async () => `still running: ${describe(phpLeft())}\n  ${await wb.describe()}`,
          );
          for (const pid of seenPids) if (isAlive(pid)) throw new Error(`worker pid ${pid} seen in the tree is still running`);
          await poll(`the pool's port ${poolPort} to close`, async () => {
            try {
              await fetch(`${poolUrl}/`);
              return false;
            } catch {
              return true;
            }
          });
          await wb.openViewContainer('FastCGI Pool');
          // Stopped: either an empty tree (its welcome view offers "Start Pool") or the pool node described "stopped".
          await poll(
            'the Workers view to show the pool stopped (no rows, or the pool node "hello-php  stopped") and no worker rows',
            async () => {
              const rows = await wb.readSidebar();
              return rows.length === 0 || (rows.some((r) => r.label === 'hello-php' && r.description === 'stopped') && workersOf(rows).length === 0);
            },
            10_000,
            () => wb.describeSidebar(),
          );
          console.log(`      ${(await wb.describeSidebar()).replace(/\n\s*/g, ' | ')}`);
          await poll(
            'the status bar item "FastCGI stopped"',
            async () => (await wb.statusBarTexts()).includes('FastCGI stopped'),
            10_000,
            async () => `status bar: ${(await wb.statusBarTexts()).join(' | ')}`,
          );
          await runner.screenshot('pool-stopped');
        },
      },
    ]);
  } finally {
    slowRequest.abort();
    await (browser as Browser | null)?.close().catch(() => undefined);
    const swept = codeServer ? await (codeServer as CodeServer).stop() : [];
    const others = swept.filter((p) => !p.comm.startsWith('php'));
    if (others.length > 0) console.log(`  (swept other processes of the run after code-server exited: ${describe(others)})`);
    await runner.runOne({
      title: '09 after code-server exits, no php-cgi of this run is left behind',
      run: async () => {
        const php = swept.filter((p) => p.comm.startsWith('php'));
        if (php.length > 0) throw new Error(`these php processes outlived code-server and were killed: ${describe(php)}`);
      },
    });
    // The logs of code-server, the extension host and the extension's output channel.
    const logs = join(temp, 'code-server/user-data/logs');
    if (existsSync(logs)) {
      cpSync(logs, join(outputDir, 'logs'), { recursive: true });
      const timing = activationToPoolReady(join(outputDir, 'logs'));
      console.log(`  activation → pool ready (from the logs): ${timing ?? 'not found in the logs'}`);
    }
    if (process.env.E2E_KEEP) console.log(`  kept ${temp}`);
    else rmSync(temp, { recursive: true, force: true });
  }
  const { failed } = runner.summary(Date.now() - started);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`e2e could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(1);
  },
);
