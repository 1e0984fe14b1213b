/**
 * End-to-end test of the extension in a real VS Code (code-server 4.100.3,
 * VS Code 1.100.3) driven through headless Chromium, as a person would use it:
 *
 *   open the example workspace in Restricted Mode → the Workers view offers
 *   Manage Workspace Trust and no Start → trust it → the welcome offers Start
 *   and names the php-cgi found → "FastCGI: Start Pool" from the command palette
 *   → the Idle group fills in the sidebar → a slow request shows a worker under
 *   Busy with its request → "Kill Worker" from that row's context menu, and a
 *   replacement appears → /die makes its worker SIGKILL itself mid-request and
 *   the Problems panel shows the defunct-busy diagnostic on index.php → under
 *   load from the test, "FastCGI: Show Dashboard" opens the lease dashboard
 *   (headline figures, worker rows, the lease timeline, the /die finding) →
 *   "FastCGI: Stop Pool" leaves no php-cgi behind. On the way: busy and idle
 *   workers beside the code (the README's screenshot), a save in the editor
 *   reloading a browser tab (live reload), Open in Simple Browser and the
 *   status bar opening the app.
 *   "FastCGI: Debug Next Request" with a path glob: the matching request's
 *   Xdebug (loaded by `fastcgiPool.xdebug: on`) reaches a fake IDE through the
 *   pool's relay and stops at a breakpoint; the worker shows under Paused,
 *   `paused at handlers.php:22`, in the tree, the status bar and the
 *   dashboard, and a click opens that line; Continue → 200, the worker idle →
 *   with a 12 s busy timeout and the pool restarted, a hanging request's worker
 *   expands into its wait reason and PHP stack, "Show Stack" opens a frame →
 *   the busy-timeout diagnostic sits on the line where it was stuck →
 *   "FastCGI: Stop Pool" leaves no php-cgi behind.
 *
 * Run with `npm run test:e2e` (packages the .vsix first) or, with a .vsix at
 * hand, `node test/e2e/run.mjs`. Screenshots: test-output/e2e/NN-name.png.
 * Environment: E2E_VSIX (default: the newest *.vsix in the repository root),
 * CODE_SERVER_BIN (default: ~/.cache/code-server-e2e, installed on demand),
 * CHROMIUM (default /usr/bin/chromium), E2E_KEEP=1 keeps the temp folder,
 * E2E_WRITE_DOCS=1 also writes the README's screenshots to docs/images/.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { activationToPoolReady } from './activationTiming';
import { CodeServer, findCodeServer, freePort } from './codeServer';
import { describe, isAlive, listRunPhpProcesses } from './processes';
import { StepRunner } from './steps';
import { FakeIde } from '../support/fakeIde';
import { LIVE_RELOAD_INSTRUMENT } from '../support/liveInstrument';
import { Workbench, formatDashboard, formatRows, poll, readWelcome, sidebarTitleActions, type DashboardView, type Row } from './workbench';

const repoRoot = process.cwd();

/** Steps 08–09: a request that waits for a lock nobody releases, ended by a short busy timeout. */
const HANG_TIMEOUT_S = 12;
const HANG_PHP = `<?php
// A report that waits for a lock nobody releases: the busy timeout ends it.
require __DIR__ . '/src/report.php';

echo build_report();
`;
const REPORT_PHP = `<?php
function wait_for_lock(string $name): void
{
    while (!file_exists(sys_get_temp_dir() . "/$name.released")) {
        usleep(30000000);
    }
}

function build_report(): string
{
    wait_for_lock('fastcgi-pool-e2e-report');
    return 'done';
}
`;

/** The pool's status JSON (limits and whether live stacks are read). */
async function poolStatus(poolUrl: string): Promise<{ limits: { busyTimeoutMs: number }; stacks: { state: string; reason: string | null } }> {
  const response = await fetch(`${poolUrl}/.fastcgi-pool/status`);
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return (await response.json()) as { limits: { busyTimeoutMs: number }; stacks: { state: string; reason: string | null } };
}
const outputDir = resolve(repoRoot, 'test-output/e2e');
/** Where the README's screenshots go when E2E_WRITE_DOCS=1. */
const docsImages = resolve(repoRoot, 'docs/images');

/** Copies a screenshot of this run to docs/images/NAME.png (the README's), when E2E_WRITE_DOCS=1. */
function toDocs(shot: string | null, name: string): void {
  if (!shot || !process.env.E2E_WRITE_DOCS) return;
  mkdirSync(docsImages, { recursive: true });
  copyFileSync(shot, join(docsImages, `${name}.png`));
  console.log(`      README image docs/images/${name}.png`);
}
const SLOW_MS = 30_000;

/** `worker w3 · pid 1234` */
const WORKER_LABEL = /^worker (w\d+) · pid (\d+)$/;
const GROUPS = ['Busy', 'Paused', 'Idle', 'Error', 'Starting'];

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
async function waitForWorkers<T>(wb: Workbench, what: string, expand: string[], pick: (workers: Worker[]) => T | undefined, timeoutMs = 20_000): Promise<T> {
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
  let hangResult: Promise<string> | null = null;

  const csPort = await freePort();
  const poolPort = await freePort();
  // The debugger the workers' Xdebug reaches through the pool's relay (PHP Debug is not in code-server).
  const ide = await FakeIde.listen();
  const poolUrl = `http://127.0.0.1:${poolPort}`;
  console.log(`FastCGI Pool e2e: ${basename(vsix)} in code-server ${bin}`);
  console.log(`  run ${runId}, workspace ${workspace}, code-server :${csPort}, pool :${poolPort}, output ${outputDir}`);

  // A copy of the example app, so the test never changes the repository.
  cpSync(resolve(repoRoot, 'examples/hello-php'), workspace, { recursive: true });

  const seenPids = new Set<number>();
  let slowWorker: Worker | null = null;
  const readmeAbort = new AbortController();
  const readmeRequests: Promise<string>[] = [];
  let liveTab: Page | null = null;
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
              // Workspace Trust on, and the folder opens untrusted (Restricted Mode) without a prompt:
              // step 02 checks what the view offers then, and trusts it the way a person does.
              'security.workspace.trust.enabled': true,
              'security.workspace.trust.startupPrompt': 'never',
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
              // Step 08 debugs a request: Xdebug loaded for the workers, its sessions to the fake IDE.
              'fastcgiPool.xdebug': 'on',
              'fastcgiPool.debugClient': `127.0.0.1:${ide.port}`,
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
            if (m.type() === 'error' || /\/webview\//.test(m.location().url))
              browserLog(`${m.type()}: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
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
        title: '02 in Restricted Mode the Workers view offers Manage Workspace Trust and no Start, and the title bar no ▶; then the workspace is trusted',
        run: async () => {
          await wb.openViewContainer('FastCGI Pool');
          const welcome = await poll(
            "the Workers view's welcome to say the workspace is in Restricted Mode",
            async () => {
              const w = await readWelcome(wb.page);
              return w.text.includes('Restricted Mode') ? w : undefined;
            },
            20_000,
            () => wb.describeSidebar(),
          );
          if (!welcome.buttons.includes('Manage Workspace Trust'))
            throw new Error(`the welcome has no Manage Workspace Trust button: ${welcome.buttons.join(' | ')}`);
          if (welcome.buttons.some((b) => /Start/.test(b))) throw new Error(`Restricted Mode, yet the welcome offers ${welcome.buttons.join(' | ')}`);
          const actions = await sidebarTitleActions(wb.page);
          if (actions.some((a) => a.startsWith('Start Pool'))) throw new Error(`Restricted Mode, yet the title bar has Start Pool: ${actions.join(' | ')}`);
          console.log(`      welcome: ${welcome.text} [${welcome.buttons.join(' | ')}]; title actions: ${actions.join(' | ') || '(none)'}`);
          await runner.screenshot('restricted-mode');
          // Trust it as a person does: the Workspace Trust editor's Trust button.
          await wb.runCommand('Workspaces: Manage Workspace Trust');
          const trust = wb.page.getByRole('button', { name: 'Trust', exact: true });
          await trust.first().waitFor({ state: 'visible', timeout: 15_000 });
          await trust.first().click();
          await wb.runCommand('View: Close All Editors');
        },
      },
      {
        title:
          '03 once trusted, the welcome offers Start Pool and says php-cgi is installed; one click names its version and the document root, another opens the walkthrough',
        run: async () => {
          await wb.openViewContainer('FastCGI Pool');
          const welcome = await poll(
            'the welcome to offer Start Pool and say php-cgi is installed',
            async () => {
              const w = await readWelcome(wb.page);
              return w.buttons.includes('Start Pool') && w.text.includes('php-cgi is installed') ? w : undefined;
            },
            20_000,
            () => wb.describeSidebar(),
          );
          const actions = await poll('the ▶ Start Pool action in the title bar', async () => {
            const a = await sidebarTitleActions(wb.page);
            return a.some((label) => label.startsWith('Start Pool')) ? a : undefined;
          });
          await runner.screenshot('welcome-trusted');
          await wb.page.locator('.part.sidebar .welcome-view-content .monaco-button', { hasText: 'Show php-cgi and the document root' }).click();
          const said = await poll(
            'a notification naming the php-cgi found and what hello-php serves',
            async () =>
              (await wb.notifications()).find((n) =>
                /php-cgi \d+\.\d+\.\d+\S*: \/.*php-cgi\. "hello-php" serves the folder itself \(detected: index\.php\)/.test(n),
              ),
            15_000,
            async () => `notifications: ${(await wb.notifications()).join(' | ') || '(none)'}`,
          );
          console.log(`      welcome buttons: ${welcome.buttons.join(' | ')}; title actions: ${actions.join(' | ')}`);
          console.log(`      notification: ${said}`);
          await runner.screenshot('php-cgi-and-document-root');
          await wb.runCommand('Notifications: Clear All Notifications');
          // The welcome's Get Started opens the walkthrough: install php-cgi (this OS's step), start, open, watch, read.
          await wb.page.locator('.part.sidebar .welcome-view-content a', { hasText: 'Get Started' }).click();
          const walkthrough = await poll(
            'the walkthrough "Serve a PHP app with FastCGI Pool" with its Linux step "Install php-cgi"',
            async () => {
              const text = (
                await wb.page
                  .locator('.gettingStartedContainer')
                  .innerText()
                  .catch(() => '')
              ).replace(/\s+/g, ' ');
              return text.includes('Serve a PHP app with FastCGI Pool') && text.includes('Install php-cgi') && text.includes('Watch a worker go busy')
                ? text
                : undefined;
            },
            15_000,
            async () =>
              (
                await wb.page
                  .locator('.editor-group-container')
                  .innerText()
                  .catch(() => '?')
              )
                .replace(/\s+/g, ' ')
                .slice(0, 600),
          );
          if (/Install php-cgi in WSL/.test(walkthrough)) throw new Error('the walkthrough shows the Windows step on Linux');
          await runner.screenshot('walkthrough');
          await wb.runCommand('View: Close All Editors');
        },
      },
      {
        title: '04 "FastCGI: Start Pool" from the command palette starts the pool',
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
        title: '05 the sidebar shows the pool and its Idle group fills with the 2 minimum workers',
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
        title: `06 a slow request (GET /slow?ms=${SLOW_MS}) shows its worker under Busy with the request`,
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
        title: '07 "Kill Worker" from the busy worker\'s context menu kills it and a replacement appears',
        run: async () => {
          const victim = slowWorker!;
          await wb.contextMenu(victim.row, 'Kill Worker', async () => {
            await runner.screenshot('context-menu');
          });
          // A confirmation dialog is allowed; accept it like a person would. The row is redrawn as the
          // request ages (and, past the slowlog timeout, gains a warning): a menu that redraw closed is opened again.
          let tries = 0;
          await poll(
            `pid ${victim.pid} (${victim.row.label}) to exit`,
            async () => {
              if (!isAlive(victim.pid)) return true;
              const dialog = wb.page.locator('.monaco-dialog-box');
              if (await dialog.isVisible().catch(() => false)) {
                await runner.screenshot('kill-confirmation');
                await dialog.getByRole('button', { name: /^Kill/ }).first().click();
              } else if (++tries % 15 === 0) {
                await wb.pressEscape();
                await wb.contextMenu(victim.row, 'Kill Worker');
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
              workers.some((w) => w.pid === victim.pid && w.group !== 'Error') ? undefined : workers.find((w) => !seenPids.has(w.pid) && w.group === 'Idle'),
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
        title: "08 beside the code, two slow pages keep two workers busy while another waits idle (the README's screenshot)",
        run: async () => {
          await wb.openFile(join(workspace, 'index.php'));
          // Three quick pages at once grow the pool to three workers; then two slow ones take two of them.
          await Promise.all([0, 1, 2].map(() => fetch(`${poolUrl}/slow?ms=700`).then((r) => r.arrayBuffer())));
          for (const ms of [20_000, 21_000]) readmeRequests.push(answerOf(fetch(`${poolUrl}/slow?ms=${ms}`, { signal: readmeAbort.signal })));
          await waitForWorkers(wb, 'two workers under Busy (GET /slow?ms=20000 and 21000) and at least one under Idle', ['Busy', 'Idle'], (workers) => {
            const busy = workers.filter((w) => w.group === 'Busy' && /GET \/slow\?ms=2[01]000/.test(w.row.description));
            return busy.length === 2 && workers.some((w) => w.group === 'Idle') ? busy : undefined;
          });
          // One busy worker opened up: its lease (request, script, client, age).
          await wb.expandIfCollapsed((r) => WORKER_LABEL.test(r.label) && /GET \/slow\?ms=20000/.test(r.description));
          await poll(
            'the lease rows of the busy worker (Request GET /slow?ms=20000)',
            async () => (await wb.readSidebar()).some((r) => r.label === 'Request' && r.description.startsWith('GET /slow?ms=20000')),
            10_000,
            () => wb.describeSidebar(),
          );
          for (const w of workersOf(await wb.readSidebar())) seenPids.add(w.pid);
          await wb.page.mouse.move(900, 700); // no hover highlight in the picture
          toDocs(await runner.screenshot('workers-busy-and-idle'), 'workers-tree');
          // The slow pages are not needed any more: their clients leave, their workers are recycled.
          readmeAbort.abort();
          await Promise.all(readmeRequests);
        },
      },
      {
        title: '09 GET /die kills its own worker mid-request and the Problems panel shows defunct-busy on index.php',
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
                const file = rows
                  .slice(0, i)
                  .reverse()
                  .find((r) => r.level === row.level - 1);
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
          // A settled tree for the picture: the replacement has started, every group's count matches its rows.
          await poll(
            'the Workers tree to settle (no Starting group, group counts equal to their rows)',
            async () => {
              await wb.expandIfCollapsed((r) => r.level > 1 && groupName(r) === 'Idle');
              const rows = await wb.readSidebar();
              if (rows.some((r) => groupName(r) === 'Starting')) return false;
              const workers = workersOf(rows);
              return rows
                .filter((r) => r.level === 2)
                .every(
                  (g) =>
                    g.expanded === false ||
                    Number(/(\d+)$/.exec(g.description || g.label)?.[1] ?? -1) === workers.filter((w) => w.group === groupName(g)).length,
                );
            },
            15_000,
            () => wb.describeSidebar(),
          );
          toDocs(await runner.screenshot('problems-defunct-busy'), 'problems-defunct-busy');
        },
      },
      {
        title: '10 live reload: a save in the editor reloads the app in a browser tab, which then shows the code just saved',
        run: async () => {
          const tab = await (browser as Browser | null)!.newPage({ viewport: { width: 1100, height: 800 } });
          liveTab = tab;
          let loads = 0;
          tab.on('load', () => loads++);
          await tab.addInitScript({ content: LIVE_RELOAD_INSTRUMENT });
          await tab.goto(`${poolUrl}/`);
          // What the tab and the server saw, if the page's event stream never says hello.
          const liveState = async () => {
            const inTab = await tab
              .evaluate(
                `JSON.stringify({ url: location.href, hello: window.__liveHello === true, loadedAt: window.__loadedAt ?? null,
                  live: performance.getEntriesByType('resource').filter((e) => e.name.includes('/.fastcgi-pool/')).map((e) => e.name + ' ' + Math.round(e.duration) + ' ms') })`,
              )
              .catch((e: unknown) => `(could not read the tab: ${String(e)})`);
            const server = await fetch(`${poolUrl}/.fastcgi-pool/status`)
              .then(async (r) => JSON.stringify(((await r.json()) as { gateway: { liveReload: unknown } }).gateway.liveReload))
              .catch((e: unknown) => `(no status: ${String(e)})`);
            return `tab: ${String(inTab)}; ${loads} loads; server's live reload: ${server}`;
          };
          await poll("the page's live-reload stream to say hello", async () => (await tab.evaluate('window.__liveHello === true')) === true, 20_000, liveState);
          const tags = await tab.locator('script[src="/.fastcgi-pool/live.js"]').count();
          if (tags !== 1) throw new Error(`the page has ${tags} live-reload tags, expected 1`);
          await wb.openFile(join(workspace, 'src/pages/home.php'));
          await wb.page.keyboard.press('Control+End');
          await wb.page.keyboard.insertText('\n<p>Saved in VS Code, reloaded by FastCGI Pool.</p>\n');
          await wb.page.keyboard.press('Control+S');
          await poll(
            'the browser tab to reload (a second load event) and show the paragraph just saved',
            async () => loads >= 2 && (await tab.locator('body').innerText()).includes('Saved in VS Code, reloaded by FastCGI Pool.'),
            15_000,
            async () =>
              `${await liveState()}; text ends: ${(
                await tab
                  .locator('body')
                  .innerText()
                  .catch(() => '?')
              ).slice(-200)}; editor tabs: ${(await wb.page.locator('.editor-group-container .tab').allInnerTexts()).join(' | ')}`,
          );
          const status = (await (await fetch(`${poolUrl}/.fastcgi-pool/status`)).json()) as { gateway: { liveReload: { reloads: number; clients: number } } };
          console.log(`      ${loads} loads in the tab; live reload: ${JSON.stringify(status.gateway.liveReload)}`);
          runner.page = tab;
          await runner.screenshot('live-reload-tab');
          runner.page = wb.page;
          await tab.close();
          liveTab = null;
        },
      },
      {
        title: '11 "FastCGI: Open in Simple Browser" shows the app in an editor tab, and the status bar item opens it',
        run: async () => {
          await wb.runCommand('FastCGI: Open in Simple Browser');
          const portPattern = new RegExp(`(127\\.0\\.0\\.1|localhost):${poolPort}/|/proxy/${poolPort}/`);
          const frame = await poll(
            `a Simple Browser frame on the app (:${poolPort})`,
            async () => {
              for (const f of wb.page.frames()) {
                if (!portPattern.test(f.url())) continue;
                if (
                  (
                    (await f
                      .locator('body')
                      .innerText()
                      .catch(() => '')) ?? ''
                  ).includes('hello-php')
                )
                  return f;
              }
              return undefined;
            },
            20_000,
            async () =>
              `frames: ${wb.page
                .frames()
                .map((f) => f.url().slice(0, 120))
                .join(' | ')}`,
          );
          console.log(`      Simple Browser shows ${frame.url()}`);
          await runner.screenshot('simple-browser');
          await wb.runCommand('View: Close All Editors');
          // The status bar item, while a pool runs: a click opens the app (a new browser tab here).
          const item = wb.page.locator('.part.statusbar .statusbar-item', { hasText: /FastCGI \d+\/\d+ busy/ }).first();
          const [popup] = await Promise.all([wb.page.context().waitForEvent('page', { timeout: 15_000 }), item.click()]);
          await popup.waitForLoadState('domcontentloaded').catch(() => undefined);
          const opened = popup.url();
          await popup.close();
          if (!portPattern.test(opened)) throw new Error(`the status bar item opened ${opened}, not the app on :${poolPort}`);
          console.log(`      the status bar item opened ${opened}`);
        },
      },
      {
        title: '12 under load, "FastCGI: Show Dashboard" opens the lease dashboard with its figures, workers and timeline',
        run: async () => {
          // Room for the dashboard: the Problems panel and the sidebar step aside (step 13 opens the sidebar again).
          await wb.runCommand('View: Hide Panel');
          await wb.runCommand('View: Close Primary Side Bar');
          const load = startLoad(poolUrl);
          try {
            await wb.runCommand('FastCGI: Show Dashboard');
            let frame: Frame | undefined;
            let seen: DashboardView | null = null;
            const describeDashboard = async () =>
              (seen
                ? `dashboard:\n    ${formatDashboard(seen)}`
                : `no dashboard webview found; frames: ${wb.page
                    .frames()
                    .map((f) => f.url().slice(0, 160))
                    .join(' | ')}`) + `\n  ${await wb.describe()}`;
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
            for (const pid of pids)
              if (!php.includes(pid) && isAlive(pid)) throw new Error(`the dashboard shows pid ${pid}, which is not a php-cgi of this run (${php.join(', ')})`);
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
            toDocs(await runner.screenshot('dashboard'), 'dashboard');
          } finally {
            console.log(`      load: ${await load.stop()}`);
          }
        },
      },
      {
        title:
          '13 "FastCGI: Debug Next Request" with a path glob: the matching request stops at a breakpoint, its worker shows Paused at handlers.php:22 in the tree, the status bar and the dashboard; no timeout; Continue → 200 and the worker idle',
        run: async () => {
          const debugged = `${poolUrl}/hello/debugger`;
          await wb.runCommandAndAnswer('FastCGI: Debug Next Request', /path glob/, '/hello/debug*', async () => {
            await runner.screenshot('debug-next-request');
          });
          // The command arms the pool once the input box has closed: the status bar says so.
          await poll(
            `the status bar item "FastCGI N/N busy · next · :${poolPort}" (Debug Next Request armed)`,
            async () => (await wb.statusBarTexts()).some((t) => new RegExp(`FastCGI \\d+/\\d+ busy · next · :${poolPort}`).test(t)),
            10_000,
            async () => `status bar: ${(await wb.statusBarTexts()).join(' | ')}`,
          );
          // The request the developer makes: the pool adds Xdebug's trigger to this one only.
          const answer = answerOf(fetch(debugged));
          const session = await Promise.race([
            ide.nextConnection(),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no Xdebug connection reached the fake IDE within 15 s')), 15_000)),
          ]);
          const init = await session.nextPacket();
          const pid = Number(/appid="(\d+)"/.exec(init)?.[1]);
          console.log(`      Xdebug connected through the pool's relay: pid ${pid}, ${/fileuri="([^"]+)"/.exec(init)?.[1]}`);
          await session.command('breakpoint_set', `-t line -f file://${realpathSync(workspace)}/src/handlers.php -n 22`);
          const brk = await session.command('run');
          if (!brk.includes('status="break"')) throw new Error(`the fake IDE's run did not stop at the breakpoint: ${brk.slice(0, 300)}`);
          const pausedAt = Date.now();

          await wb.openViewContainer('FastCGI Pool');
          await wb.widenSidebar(560);
          const paused = await waitForWorkers(
            wb,
            `worker pid ${pid} under Paused, described "paused at handlers.php:22 · GET /hello/debugger · …"`,
            ['Paused'],
            (workers) =>
              workers.find((w) => w.pid === pid && w.group === 'Paused' && w.row.description.startsWith('paused at handlers.php:22 · GET /hello/debugger')),
            15_000,
          );
          console.log(`      tree: ${paused.row.label}  ${paused.row.description}`);
          await poll(
            `the status bar item "FastCGI 0/N busy · 1 paused · :${poolPort}"`,
            async () => (await wb.statusBarTexts()).some((t) => new RegExp(`FastCGI \\d+/\\d+ busy · 1 paused · :${poolPort}`).test(t)),
            10_000,
            async () => `status bar: ${(await wb.statusBarTexts()).join(' | ')}`,
          );
          const frame = await wb.webviewFrame('[data-figure="busy"]');
          if (!frame) throw new Error('the dashboard of step 07 is not open any more');
          const dashboard = await poll(
            `the dashboard to show ${paused.id} "paused at handlers.php:22" and "1 paused in the debugger"`,
            async () => {
              const d = await wb.readDashboard(frame);
              const row = d.rows.find((r) => r.key === paused.id);
              const busy = d.figures.find((f) => f.key === 'busy');
              return row?.state === 'paused at handlers.php:22' && /1 paused in the debugger/.test(busy?.detail ?? '') ? d : undefined;
            },
            10_000,
            async () => formatDashboard(await wb.readDashboard(frame)),
          );
          console.log(`      ${formatDashboard(dashboard).replace(/\n\s*/g, '\n      ')}`);
          await runner.screenshot('paused-worker-tree-and-dashboard');

          // A while at the breakpoint (test/integration/pool-xdebug.test.ts holds one for 3× the busy timeout).
          await new Promise((r) => setTimeout(r, 2_000));
          const still = workersOf(await wb.readSidebar()).find((w) => w.pid === pid);
          if (still?.group !== 'Paused')
            throw new Error(`after ${Date.now() - pausedAt} ms at the breakpoint the worker is under ${still?.group ?? 'nothing'}, not Paused`);
          const pending = await Promise.race([answer, new Promise<string>((r) => setTimeout(() => r('still pending'), 100))]);
          if (pending !== 'still pending') throw new Error(`the paused request was answered while paused: ${pending}`);

          // A click on the row's label (not its twistie) opens the breakpoint's line.
          await wb.rowLocator(paused.row.label).locator('.label-name').click();
          await poll(
            'an editor tab "handlers.php" to be active',
            async () =>
              (
                await wb.page
                  .locator('.tabs-container .tab.active')
                  .innerText()
                  .catch(() => '')
              ).includes('handlers.php'),
            10_000,
            () => wb.describe(),
          );
          await poll(
            'the cursor on the breakpoint\'s line (status bar "Ln 22, Col 1")',
            async () => (await wb.statusBarTexts()).some((t) => t.startsWith('Ln 22, Col 1')),
            10_000,
            async () => `status bar: ${(await wb.statusBarTexts()).join(' | ')}`,
          );
          await runner.screenshot('paused-worker-opens-its-line');

          // Continue, as PHP Debug's F5 does: run to the end, then its last word.
          if (!(await session.command('run')).includes('status="stopping"')) throw new Error('run after the breakpoint did not reach the end of the script');
          session.send('run');
          const outcome = await answer;
          console.log(`      the debugged request: ${outcome.slice(0, 80)} (paused ${((Date.now() - pausedAt) / 1000).toFixed(1)} s)`);
          if (!outcome.startsWith('HTTP 200')) throw new Error(`the debugged request answered ${outcome}`);
          await waitForWorkers(
            wb,
            `worker pid ${pid} back under Idle`,
            ['Idle'],
            (workers) => workers.find((w) => w.pid === pid && w.group === 'Idle'),
            15_000,
          );
          const problems = (await wb.readProblems().catch(() => [] as Row[])).filter((r) => /busy-timeout/.test(r.text));
          if (problems.length > 0) throw new Error(`a busy-timeout problem appeared for the paused request: ${formatRows(problems)}`);
          await runner.screenshot('debugged-request-done');
        },
      },
      {
        title:
          "14 with a 12 s busy timeout and the pool restarted, a hanging request's busy worker expands into its wait reason and PHP stack; Show Stack opens a frame at its line",
        run: async () => {
          await wb.pressEscape();
          // The hanging report, in the workspace's copy only: hang.php → src/report.php, asleep on line 5.
          writeFileSync(join(workspace, 'hang.php'), HANG_PHP);
          writeFileSync(join(workspace, 'src/report.php'), REPORT_PHP);
          mkdirSync(join(workspace, '.vscode'), { recursive: true });
          writeFileSync(join(workspace, '.vscode/settings.json'), JSON.stringify({ 'fastcgiPool.busyTimeout': HANG_TIMEOUT_S }, null, 2));
          // Settings apply at the next start; VS Code may take a moment to read the new file.
          await poll(
            `the restarted pool to have a busy timeout of ${HANG_TIMEOUT_S} s and to read live PHP stacks`,
            async () => {
              let status = await poolStatus(poolUrl).catch(() => null);
              if (status?.limits.busyTimeoutMs !== HANG_TIMEOUT_S * 1_000) {
                await wb.runCommand('FastCGI: Restart Pool');
                status = await poll('the restarted pool to answer', () => poolStatus(poolUrl), 30_000);
              }
              // The canary runs once the pool has been quiet for a second.
              return status.limits.busyTimeoutMs === HANG_TIMEOUT_S * 1_000 && status.stacks.state === 'on' ? status : undefined;
            },
            60_000,
            () => wb.describe(),
          );
          await wb.openViewContainer('FastCGI Pool');
          hangResult = answerOf(fetch(`${poolUrl}/hang.php`));
          const busy = await waitForWorkers(wb, 'a worker under Busy whose description starts with "GET /hang.php"', ['Busy'], (workers) =>
            workers.find((w) => w.group === 'Busy' && w.row.description.startsWith('GET /hang.php')),
          );
          seenPids.add(busy.pid);
          // Expanded, it shows its lease, what it waits on and its frames (read once the request is a second old).
          const rows = await poll(
            `${busy.row.label} to expand into a Wait row and the frames usleep() <internal>, wait_for_lock() src/report.php:5, build_report() src/report.php:11, {main}() hang.php:5`,
            async () => {
              await wb.expandIfCollapsed((r) => r.label === busy.row.label);
              const all = await wb.readSidebar();
              const at = all.findIndex((r) => r.label === busy.row.label);
              const rest = all.slice(at + 1);
              const end = rest.findIndex((r) => r.level <= busy.row.level);
              const under = end < 0 ? rest : rest.slice(0, end);
              const frames = under.filter((r) => /\(\)$/.test(r.label)).map((r) => `${r.label} ${r.description}`);
              const wait = under.find((r) => r.label === 'Wait');
              return wait &&
                /^sleeping in (clock_)?nanosleep\(\)/.test(wait.description) &&
                frames.join(' | ') === 'usleep() <internal> | wait_for_lock() src/report.php:5 | build_report() src/report.php:11 | {main}() hang.php:5'
                ? under
                : undefined;
            },
            20_000,
            () => wb.describeSidebar(),
          );
          console.log(`      ${formatRows(rows).replace(/\n\s*/g, '\n      ')}`);
          await runner.screenshot('busy-worker-stack');
          // Show Stack from the worker's context menu: the frames, the wait as the title; a pick opens the file at its line.
          // The row is redrawn every second (its age moves on): a menu it closed meanwhile is opened again.
          const item = wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'wait_for_lock()' });
          await poll(
            "Show Stack (from the worker's context menu) to list the frames",
            async () => {
              await wb.pressEscape();
              await wb.contextMenu(busy.row, 'Show Stack');
              return await item
                .first()
                .waitFor({ state: 'visible', timeout: 3_000 })
                .then(() => true)
                .catch(() => false);
            },
            15_000,
            () => wb.describe(),
          );
          const title = (
            await wb.page
              .locator('.quick-input-widget .quick-input-title')
              .innerText()
              .catch(() => '')
          ).replace(/\s+/g, ' ');
          console.log(`      Show Stack: ${title}`);
          if (!/GET \/hang\.php — sleeping in/.test(title)) throw new Error(`the Show Stack title is "${title}"`);
          await runner.screenshot('show-stack');
          await item.first().click();
          await poll(
            'the editor to open src/report.php at line 5',
            async () =>
              (
                await wb.page
                  .locator('.tab.active')
                  .innerText()
                  .catch(() => '')
              ).includes('report.php') && (await wb.statusBarTexts()).some((t) => /^Ln 5, Col 1\b/.test(t)),
            10_000,
            async () =>
              `active tab: ${await wb.page
                .locator('.tab.active')
                .innerText()
                .catch(() => '?')}; status bar: ${(await wb.statusBarTexts()).join(' | ')}`,
          );
          await runner.screenshot('stack-frame-opened');
        },
      },
      {
        title: `15 past the busy timeout the client gets 504, and the busy-timeout diagnostic sits on src/report.php line 5, where the request was stuck, with its frames`,
        run: async () => {
          if (!hangResult) throw new Error('no hanging request (step 08 failed)');
          const answer = await Promise.race([hangResult, new Promise<string>((r) => setTimeout(() => r('still pending'), (HANG_TIMEOUT_S + 10) * 1_000))]);
          console.log(`      GET /hang.php: ${answer}`);
          if (!answer.startsWith('HTTP 504')) throw new Error(`GET /hang.php answered ${answer}`);
          await wb.openProblems();
          const pattern = /busy-timeout: worker (w\d+) \(pid (\d+)\) exceeded the busy timeout while serving GET \/hang\.php .* — in wait_for_lock\(\)/;
          const found = await poll(
            'a "busy-timeout: … GET /hang.php … — in wait_for_lock()" problem under report.php at line 5 (not line 1 of hang.php)',
            async () => {
              const rows = await wb.readProblems();
              for (const [i, row] of rows.entries()) {
                if (!pattern.test(row.text) && !pattern.test(row.ariaLabel)) continue;
                const file = rows
                  .slice(0, i)
                  .reverse()
                  .find((r) => r.level === row.level - 1);
                if (file?.label === 'report.php' && /\[Ln 5, Col 1\]/.test(row.text)) return { row, file };
              }
              return undefined;
            },
            20_000,
            async () => `problems: ${formatRows(await wb.readProblems())}`,
          );
          console.log(`      problem: ${found.row.text}`);
          // Its related information: the stack, one frame a row (the slow-request before it folded away).
          const problemRow = (text: string) => wb.page.locator('.part.panel .markers-panel .monaco-list-row', { hasText: text }).first();
          const setExpanded = async (text: string, expanded: boolean) => {
            const row = problemRow(text);
            if ((await row.getAttribute('aria-expanded').catch(() => null)) === String(!expanded)) await row.locator('.monaco-tl-twistie').click();
          };
          await setExpanded('passed the slowlog timeout', false);
          await setExpanded('exceeded the busy timeout', true);
          const related = await poll(
            "the problem's related information to list the frames",
            async () => {
              const rows = await wb.readProblems();
              return rows.some((r) => /#1 wait_for_lock\(\)/.test(r.text)) && rows.some((r) => /#2 build_report\(\)/.test(r.text)) ? rows : undefined;
            },
            10_000,
            async () => `problems: ${formatRows(await wb.readProblems())}`,
          );
          console.log(`      ${formatRows(related.filter((r) => /^#\d|PHP stack/.test(r.label) || /#\d /.test(r.text))).replace(/\n\s*/g, '\n      ')}`);
          await runner.screenshot('problems-busy-timeout');
          // In the editor: the squiggle on line 5 of src/report.php.
          await wb.page.locator('.part.panel .markers-panel .monaco-list-row', { hasText: 'exceeded the busy timeout' }).first().dblclick();
          await poll(
            "the editor to show src/report.php with line 5 selected (the diagnostic's range)",
            async () =>
              (
                await wb.page
                  .locator('.tab.active')
                  .innerText()
                  .catch(() => '')
              ).includes('report.php') && (await wb.statusBarTexts()).some((t) => /^Ln 5, Col \d+\b/.test(t)),
            10_000,
          );
          await wb.page.locator('.monaco-editor .squiggly-warning').first().waitFor({ state: 'visible', timeout: 10_000 });
          // Hover the squiggle (the text above it takes the pointer: move the mouse there).
          const squiggle = (await wb.page.locator('.monaco-editor .squiggly-warning').first().boundingBox())!;
          await wb.page.mouse.move(squiggle.x + squiggle.width / 2, squiggle.y + squiggle.height / 2);
          await wb.page
            .locator('.monaco-hover')
            .first()
            .waitFor({ state: 'visible', timeout: 10_000 })
            .catch(() => undefined);
          await runner.screenshot('busy-timeout-diagnostic');
        },
      },
      {
        title: '16 "FastCGI: Stop Pool" stops every worker: no php-cgi of this run is left',
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
    readmeAbort.abort();
    await (liveTab as Page | null)?.close().catch(() => undefined);
    await ide.close();
    await (browser as Browser | null)?.close().catch(() => undefined);
    const swept = codeServer ? await (codeServer as CodeServer).stop() : [];
    const others = swept.filter((p) => !p.comm.startsWith('php'));
    if (others.length > 0) console.log(`  (swept other processes of the run after code-server exited: ${describe(others)})`);
    await runner.runOne({
      title: '17 after code-server exits, no php-cgi of this run is left behind',
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
