import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => vi.importActual('../support/fakeVscode'));

import type * as vscode from 'vscode';
import { DiagnosticsProjection } from '../../src/extension/diagnostics/diagnostics';
import { FindingLedger } from '../../src/extension/diagnostics/findingLedger';
import { FindingQuickFixes } from '../../src/extension/diagnostics/quickFixes';
import { PoolManager } from '../../src/extension/poolManager';
import type { Finding } from '../../src/pool/types';
import { type Diagnostic, DiagnosticSeverity, fake, Uri, type CodeAction, type FakeDiagnosticCollection } from '../support/fakeVscode';
import { busyWorker, FakeServers, finding, leaseStack, managerDeps, snapshot, T0 } from './extension-fixtures';

describe('diagnostics', () => {
  let servers: FakeServers;
  let manager: PoolManager;
  let ledger: FindingLedger;
  let projection: DiagnosticsProjection;
  let collection: FakeDiagnosticCollection;
  const app = fake.folder('/ws/app', 0, 'app');
  const key = app.uri.toString();
  const index = Uri.file('/app/index.php');

  beforeEach(async () => {
    vi.useFakeTimers({ now: T0 });
    fake.reset();
    servers = new FakeServers();
    manager = new PoolManager(managerDeps(servers));
    await manager.syncFolders([app]);
    ledger = new FindingLedger(manager);
    projection = new DiagnosticsProjection(manager, ledger, Uri.file('/ext/README.md') as unknown as vscode.Uri);
    collection = fake.collection('fastcgi-pool');
    await manager.start(key);
  });

  afterEach(() => {
    projection.dispose();
    ledger.dispose();
    vi.useRealTimers();
  });

  const settle = () => vi.advanceTimersByTimeAsync(300);
  const emitFinding = (f: Finding, resolved?: Finding['resolution']) => {
    servers.last.emit({ type: 'finding', finding: f }, snapshot([busyWorker('w2', 1234, { uri: '/die' }, 400)], { findings: [f] }));
    if (resolved) {
      const done = { ...f, resolution: resolved };
      servers.last.emit({ type: 'finding-resolved', finding: done }, snapshot([], { findings: [done] }));
    }
  };
  const quickFixes = (diagnostic: Diagnostic): CodeAction[] =>
    new FindingQuickFixes(projection).provideCodeActions(
      { uri: index } as unknown as vscode.TextDocument,
      diagnostic.range as unknown as vscode.Range,
      { diagnostics: [diagnostic], triggerKind: 1, only: undefined } as unknown as vscode.CodeActionContext,
    ) as unknown as CodeAction[];

  it('puts a finding on the script its lease ran, even when the pool reclaimed it in the same tick', async () => {
    emitFinding(finding(), { at: T0, how: 'reclaimed', detail: 'lease ended, worker reaped and replaced' });
    await settle();
    const [diagnostic] = collection.get(index) ?? [];
    expect(diagnostic?.message).toBe('defunct-busy: worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 400 ms) — reclaimed');
    expect(diagnostic?.source).toBe('fastcgi-pool');
    expect(diagnostic?.severity).toBe(DiagnosticSeverity.Error);
    expect(diagnostic?.code).toEqual({ value: 'defunct-busy', target: Uri.file('/ext/README.md').with({ fragment: 'defunct-busy' }) });
    expect(diagnostic?.relatedInformation?.map((r) => r.message)).toEqual([
      expect.stringMatching(/^GET \/die from 127\.0\.0\.1:50312 \(http 127\.0\.0\.1:50312 #42\), lease L7 taken at \d\d:\d\d:\d\d$/),
      'worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 400 ms) (noticed 0 ms after it happened)',
      expect.stringMatching(/^resolved at .* \(reclaimed\): lease ended, worker reaped and replaced$/),
    ]);
    // Resolved: nothing left to act on.
    expect(quickFixes(diagnostic as Diagnostic)).toEqual([]);
  });

  it("offers Recycle, Kill and Release on an open finding, as the tree's commands with the worker", async () => {
    emitFinding(finding());
    await settle();
    const [diagnostic] = collection.get(index) ?? [];
    expect(diagnostic?.message).toBe('defunct-busy: worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 400 ms)');
    const actions = quickFixes(diagnostic as Diagnostic);
    expect(actions.map((a) => `${a.title} → ${a.command?.command}${a.isPreferred ? ' (preferred)' : ''}`)).toEqual([
      'Recycle worker w2 → fastcgiPool.worker.recycle',
      'Kill worker w2 → fastcgiPool.worker.kill',
      'Release lease L7 → fastcgiPool.worker.releaseLease (preferred)',
    ]);
    expect(actions[0]?.command?.arguments).toEqual([{ folderKey: key, workerId: 'w2', leaseId: 'L7' }]);
  });

  it('puts a spawn-failing finding, about the pool rather than a request, on the workspace folder as an error', async () => {
    const failing = finding({
      id: 'F5',
      kind: 'spawn-failing',
      workerId: null,
      lease: null,
      exit: { code: 255, signal: null },
      message:
        "workers exit before serving (2 in a row): worker w3 (pid 77) exited with code 255 before serving a request; its stderr ends: PHP Fatal error:  Failed opening required '/x.php'",
    });
    servers.last.emit({ type: 'finding', finding: failing }, snapshot([], { findings: [failing] }));
    await settle();
    const [diagnostic] = collection.get(app.uri as unknown as Uri) ?? [];
    expect(diagnostic?.severity).toBe(DiagnosticSeverity.Error);
    expect(diagnostic?.message).toBe(`spawn-failing: ${failing.message}`);
    expect(diagnostic?.code).toMatchObject({ value: 'spawn-failing' });
    expect(collection.get(index)).toBeUndefined();
  });

  it("puts a finding that carries a stack on the innermost frame of the workspace's code, with the frames as related information", async () => {
    fake.workspaceFolders = [app];
    // Innermost: PHP itself, then a library outside the workspace, then the app's code.
    const frames = leaseStack().stack!;
    const stack = [
      frames[0]!,
      { ...frames[1]!, function: 'execute', class: 'Driver', file: '/usr/share/php/Driver.php', line: 40 },
      { ...frames[1]!, file: '/ws/app/src/Repo.php' },
      { ...frames[3]!, file: '/ws/app/index.php' },
    ];
    const wait = leaseStack().wait!;
    const lease = { ...finding().lease!, uri: '/report', scriptFilename: '/ws/app/index.php' };
    emitFinding(finding({ id: 'F4', kind: 'busy-timeout', exit: null, lease, stack, stackAgeMs: 0, wait }));
    emitFinding(finding({ id: 'F5', kind: 'defunct-busy', lease: { ...lease, id: 'L9' }, stack, stackAgeMs: 640, wait }));
    await settle();
    const repo = collection.get(Uri.file('/ws/app/src/Repo.php')) ?? [];
    expect(collection.get(Uri.file('/ws/app/index.php'))).toBeUndefined();
    expect(repo.map((d) => [d.range.start.line, d.message])).toEqual([
      [
        5,
        'busy-timeout: worker w2 (pid 1234) exceeded the busy timeout while serving GET /report (lease L7, 400 ms) — in Repo->query(), sleeping in nanosleep()',
      ],
      [5, 'defunct-busy: worker w2 (pid 1234) was killed by SIGKILL while serving GET /report (lease L9, 400 ms) — in Repo->query(), sleeping in nanosleep()'],
    ]);
    const related = (d: Diagnostic) =>
      (d.relatedInformation ?? []).map((r) => `${r.location.uri.fsPath}:${(r.location.range as { start: { line: number } }).start.line + 1} ${r.message}`);
    expect(related(repo[0]!).slice(0, 5)).toEqual([
      '/ws/app/src/Repo.php:6 the PHP stack when it was found; the worker was sleeping in nanosleep() for 2.0 s; 3 ms CPU:',
      '/ws/app/src/Repo.php:6 #0 usleep() <internal>',
      '/usr/share/php/Driver.php:40 #1 Driver->execute()',
      '/ws/app/src/Repo.php:6 #2 Repo->query() ← here',
      '/ws/app/index.php:21 #3 {main}()',
    ]);
    // Then the request, on the script.
    expect(related(repo[0]!)[5]).toMatch(/^\/ws\/app\/index\.php:1 GET \/report from /);
    expect(related(repo[1]!)[0]).toBe(
      '/ws/app/src/Repo.php:6 the last PHP stack seen, 640 ms before; the worker was sleeping in nanosleep() for 2.0 s; 3 ms CPU:',
    );
    // The quick fixes follow the diagnostic to its new place.
    expect(projection.findingRef(Uri.file('/ws/app/src/Repo.php') as unknown as vscode.Uri, repo[0]!.message)).toMatchObject({
      findingId: 'F4',
      kind: 'busy-timeout',
    });
  });

  it('keeps a finding whose stack lies wholly outside the workspace on its script', async () => {
    fake.workspaceFolders = [app];
    const stack = leaseStack().stack!.map((frame) => ({ ...frame, file: frame.file && `/elsewhere${frame.file}` }));
    emitFinding(finding({ id: 'F6', kind: 'slow-request', exit: null, stack, stackAgeMs: 0 }));
    await settle();
    expect(collection.get(index)?.map((d) => [d.range.start.line, d.severity])).toEqual([[0, DiagnosticSeverity.Warning]]);
  });

  it('makes busy-timeout a warning and holder-gone an error', async () => {
    emitFinding(finding({ id: 'F2', kind: 'busy-timeout', exit: null }));
    emitFinding(finding({ id: 'F3', kind: 'holder-gone', exit: null, lease: { ...finding().lease!, id: 'L8', scriptFilename: '/app/api.php' } }));
    await settle();
    expect(collection.get(index)?.map((d) => d.severity)).toEqual([DiagnosticSeverity.Warning]);
    expect(collection.get(Uri.file('/app/api.php'))?.map((d) => d.severity)).toEqual([DiagnosticSeverity.Error]);
  });

  it('keeps a finding its holder released, drops one the developer dealt with', async () => {
    const f = finding();
    emitFinding(f);
    servers.last.emit({
      type: 'finding-resolved',
      finding: { ...f, resolution: { at: T0, how: 'released', detail: 'lease L7 released by its holder (worker-died)' } },
    });
    await settle();
    expect(collection.get(index)?.map((d) => d.message)).toEqual([expect.stringMatching(/^defunct-busy: .* — released$/)]);

    // Release Lease / Kill / Recycle from the editor acknowledge the worker's findings.
    ledger.acknowledge(key, 'w2');
    await settle();
    expect(collection.get(index)).toBeUndefined();
    const g = finding({ id: 'F2', lease: { ...f.lease!, id: 'L8' } });
    emitFinding(g);
    servers.last.emit({ type: 'finding-resolved', finding: { ...g, resolution: { at: T0, how: 'released', detail: 'lease L8 released by the developer' } } });
    await settle();
    expect(collection.get(index)).toBeUndefined();

    const h = finding({ id: 'F3', workerId: 'w5', lease: { ...f.lease!, id: 'L9' } });
    emitFinding(h);
    servers.last.emit({ type: 'finding-resolved', finding: { ...h, resolution: { at: T0, how: 'worker-killed', detail: 'killed by the developer' } } });
    await settle();
    expect(collection.get(index)).toBeUndefined();
  });

  it('clears resolved findings when the script changes, keeping open ones', async () => {
    emitFinding(finding({ id: 'F9' }), { at: T0, how: 'reclaimed', detail: '' });
    emitFinding(finding({ id: 'F10', lease: { ...finding().lease!, id: 'L10' } }));
    await settle();
    expect(collection.get(index)?.length).toBe(2);
    fake.saveEvents.fire({ uri: index });
    await settle();
    // The open one still describes a live worker; the resolved one described old code.
    expect(collection.get(index)?.map((d) => d.message)).toEqual([expect.stringContaining('lease L10')]);
  });

  it('turns PHP errors on FastCGI stderr into diagnostics at their file and line, once each', async () => {
    const stderr = (text: string) =>
      servers.last.options.onGatewayEvent?.({
        type: 'php-stderr',
        method: 'GET',
        workerId: 'w1',
        leaseId: 'L1',
        scriptFilename: '/app/index.php',
        uri: '/warning',
        text,
      });
    stderr('PHP Warning:  Undefined array key "colour" in /app/src/pages/warning.php on line 17\n');
    stderr('PHP Warning:  Undefined array key "colour" in /app/src/pages/warning.php on line 17\n');
    const page = Uri.file('/app/src/pages/warning.php');
    const diagnostics = collection.get(page) ?? [];
    expect(diagnostics.length).toBe(1);
    expect(diagnostics[0]?.message).toBe('PHP Warning: Undefined array key "colour" (GET /warning, worker w1)');
    expect(diagnostics[0]?.severity).toBe(DiagnosticSeverity.Warning);
    expect(diagnostics[0]?.range.start.line).toBe(16);
    expect(diagnostics[0]?.source).toBe('fastcgi-pool');
    expect(diagnostics[0]?.code).toBe('php-warning');
    expect(diagnostics[0]?.relatedInformation?.[0]?.location.uri.toString()).toBe(index.toString());

    // A fatal error's stack trace arrives over several chunks; the lease's end flushes it.
    stderr('PHP Fatal error:  Uncaught Error: x in /app/src/a.php:9\nStack trace:\n#0 {main}\n');
    servers.last.emit({ type: 'lease-released', lease: busyWorker('w1', 1001).lease!, outcome: 'ok', heldMs: 5 });
    expect(collection.get(Uri.file('/app/src/a.php'))?.[0]?.message).toBe('PHP Fatal error: Uncaught Error: x (GET /warning, worker w1)');

    // The file changed on disk: PHP's word on the old text is void.
    fake.watchers[0]?.changes.fire(page);
    expect(collection.get(page)).toBeUndefined();
  });

  it("reads PHP errors on the workers' process stderr too", () => {
    servers.last.emit({
      type: 'worker-stderr',
      workerId: 'w1',
      pid: 1001,
      text: 'PHP Parse error:  syntax error, unexpected end of file in /app/broken.php on line 4\n',
    });
    expect(collection.get(Uri.file('/app/broken.php'))?.[0]?.message).toBe('PHP Parse error: syntax error, unexpected end of file (worker w1)');
  });

  it('clears everything of a pool when it restarts or stops', async () => {
    servers.last.emit({ type: 'worker-stderr', workerId: 'w1', pid: 1001, text: 'PHP Warning:  x in /app/a.php on line 1\n' });
    emitFinding(finding(), { at: T0, how: 'reclaimed', detail: '' });
    await settle();
    expect(collection.all().length).toBe(2);
    await manager.restart(key);
    await settle();
    expect(collection.all()).toEqual([]);
  });
});
