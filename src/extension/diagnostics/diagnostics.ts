import * as vscode from 'vscode';
import type { Finding } from '../../pool/types';
import { findingLine, findingSeverity } from '../../shared/findings';
import { frameLocation, frameName } from '../../shared/slowlogFormat';
import { describeWait, innermostUserFrame } from '../../shared/stackText';
import type { PhpStackFrame } from '../../shared/stackTypes';
import { formatClock, formatDuration, formatRequest } from '../../shared/text';
import { DIAGNOSTIC_SOURCE } from '../ids';
import { DisposableStore } from '../disposables';
import type { PoolChange, PoolManager } from '../poolManager';
import { Throttle } from '../throttle';
import type { FindingLedger } from './findingLedger';
import { PhpStderrParser, type PhpError } from './phpErrors';

/** What a finding diagnostic is about: enough for the quick fixes to act. */
export interface FindingRef {
  readonly folderKey: string;
  readonly findingId: string;
  readonly kind: Finding['kind'];
  readonly workerId: string;
  readonly leaseId: string | null;
}

/** At most this many PHP errors per file: a warning in a loop must not flood Problems. */
const MAX_PHP_ERRORS_PER_FILE = 100;

interface PhpErrorEntry {
  readonly folderKey: string;
  readonly diagnostic: vscode.Diagnostic;
}

/**
 * One diagnostic collection (`fastcgi-pool`) fed by two sources:
 * - findings (from the {@link FindingLedger}: open ones and those the pool
 *   resolved on its own): each on the innermost frame of the workspace's
 *   code in the PHP stack it carries (busy-timeout, slow-request,
 *   defunct-busy), with the other frames as related information, else on
 *   the script its lease ran; an error for a lost request, a warning
 *   otherwise; quick fixes for the open ones; a finding about the pool
 *   rather than a request (`spawn-failing`) on the workspace folder itself;
 * - PHP errors from the workers' FastCGI stderr, at their file and line,
 *   deduplicated, and cleared when the file changes or its pool (re)starts.
 */
export class DiagnosticsProjection implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly collection = this.disposables.add(vscode.languages.createDiagnosticCollection(DIAGNOSTIC_SOURCE));
  private findingDiagnostics = new Map<string, vscode.Diagnostic[]>();
  private findingRefs = new Map<string, FindingRef>();
  /** uri → dedupe key → entry. */
  private readonly phpErrors = new Map<string, Map<string, PhpErrorEntry>>();
  /** One parser per stderr stream: `folder#worker#fcgi` (FastCGI stderr) or `#proc` (process stderr). */
  private readonly parsers = new Map<string, { parser: PhpStderrParser; context: string | null; scriptFilename: string | null }>();
  /** Findings are recomputed at most four times a second. */
  private readonly findingUpdates = this.disposables.add(new Throttle(() => this.recomputeFindings()));

  constructor(
    private readonly manager: PoolManager,
    private readonly ledger: FindingLedger,
    /** The README whose sections explain each finding kind (the diagnostic code links there). */
    private readonly readme: vscode.Uri,
  ) {
    const watcher = this.disposables.add(vscode.workspace.createFileSystemWatcher('**/*.php'));
    this.disposables.add(watcher.onDidChange((uri) => this.clearFile(uri)));
    this.disposables.add(watcher.onDidDelete((uri) => this.clearFile(uri)));
    this.disposables.add(vscode.workspace.onDidSaveTextDocument((document) => this.clearFile(document.uri)));
    this.disposables.add(manager.onDidChange((change) => this.onChange(change)));
    this.disposables.add(ledger.onDidChange(() => this.findingUpdates.request()));
  }

  /** The finding behind a diagnostic of ours, looked up by file and message (VS Code hands copies back). */
  findingRef(uri: vscode.Uri, message: string): FindingRef | undefined {
    return this.findingRefs.get(refKey(uri, message));
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private onChange(change: PoolChange): void {
    switch (change.kind) {
      case 'folders': {
        const live = new Set(this.manager.pools.map((pool) => pool.key));
        this.clearPhpErrors((folderKey) => !live.has(folderKey));
        this.findingUpdates.request();
        return;
      }
      case 'lifecycle':
        // A (re)started or stopped pool starts from a clean slate: its old errors may be fixed.
        if (change.pool.status === 'starting' || change.pool.status === 'stopped') {
          this.clearPhpErrors((folderKey) => folderKey === change.pool.key);
          for (const key of [...this.parsers.keys()]) if (key.startsWith(`${change.pool.key}#`)) this.parsers.delete(key);
        }
        this.findingUpdates.request();
        return;
      case 'gateway-event': {
        const event = change.event;
        if (event.type !== 'php-stderr') return;
        const stream = this.stream(`${change.pool.key}#${event.workerId}#fcgi`);
        stream.context = `${event.method} ${event.uri}, worker ${event.workerId}`;
        stream.scriptFilename = event.scriptFilename;
        this.addPhpErrors(change.pool.key, stream.parser.push(event.text), stream.context, stream.scriptFilename);
        return;
      }
      case 'pool-event': {
        const event = change.event;
        switch (event.type) {
          case 'worker-stderr': {
            const stream = this.stream(`${change.pool.key}#${event.workerId}#proc`);
            this.addPhpErrors(change.pool.key, stream.parser.push(event.text), `worker ${event.workerId}`, null);
            return;
          }
          case 'lease-released':
          case 'lease-revoked':
            this.flushStreams(change.pool.key, event.lease.workerId);
            return;
          case 'worker-exited':
            this.flushStreams(change.pool.key, event.workerId);
            return;
          default:
            return;
        }
      }
    }
  }

  private stream(key: string): { parser: PhpStderrParser; context: string | null; scriptFilename: string | null } {
    let stream = this.parsers.get(key);
    if (!stream) {
      stream = { parser: new PhpStderrParser(), context: null, scriptFilename: null };
      this.parsers.set(key, stream);
    }
    return stream;
  }

  private flushStreams(folderKey: string, workerId: string): void {
    for (const suffix of ['fcgi', 'proc']) {
      const stream = this.parsers.get(`${folderKey}#${workerId}#${suffix}`);
      if (stream) this.addPhpErrors(folderKey, stream.parser.flush(), stream.context, stream.scriptFilename);
    }
  }

  private addPhpErrors(folderKey: string, errors: readonly PhpError[], context: string | null, scriptFilename: string | null): void {
    const touched = new Set<string>();
    for (const error of errors) {
      const uri = vscode.Uri.file(error.file);
      const key = `${error.line}|${error.level}|${error.message}`;
      let entries = this.phpErrors.get(uri.toString());
      if (!entries) {
        entries = new Map();
        this.phpErrors.set(uri.toString(), entries);
      }
      if (entries.has(key) || entries.size >= MAX_PHP_ERRORS_PER_FILE) continue;
      const line = error.line - 1;
      const diagnostic = new vscode.Diagnostic(
        new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER),
        `PHP ${error.level}: ${error.message}${context ? ` (${context})` : ''}`,
        error.severity === 'error'
          ? vscode.DiagnosticSeverity.Error
          : error.severity === 'warning'
            ? vscode.DiagnosticSeverity.Warning
            : vscode.DiagnosticSeverity.Information,
      );
      diagnostic.source = DIAGNOSTIC_SOURCE;
      diagnostic.code = `php-${error.level.toLowerCase().replaceAll(' ', '-')}`;
      if (scriptFilename && scriptFilename !== error.file) {
        // Behind a front controller the request's script is not the failing file: say which request it was.
        diagnostic.relatedInformation = [
          new vscode.DiagnosticRelatedInformation(
            new vscode.Location(vscode.Uri.file(scriptFilename), new vscode.Position(0, 0)),
            `raised while serving ${context ?? 'a request'}`,
          ),
        ];
      }
      entries.set(key, { folderKey, diagnostic });
      touched.add(uri.toString());
    }
    for (const uri of touched) this.publish(vscode.Uri.parse(uri));
  }

  private clearPhpErrors(matches: (folderKey: string) => boolean): void {
    for (const [uri, entries] of [...this.phpErrors]) {
      let changed = false;
      for (const [key, entry] of [...entries]) {
        if (matches(entry.folderKey)) {
          entries.delete(key);
          changed = true;
        }
      }
      if (entries.size === 0) this.phpErrors.delete(uri);
      if (changed) this.publish(vscode.Uri.parse(uri));
    }
  }

  /** The file changed on disk: what PHP said about the old text no longer holds. */
  private clearFile(uri: vscode.Uri): void {
    if (this.phpErrors.delete(uri.toString())) this.publish(uri);
    this.ledger.clearScript(uri.fsPath);
  }

  private recomputeFindings(): void {
    const next = new Map<string, vscode.Diagnostic[]>();
    const refs = new Map<string, FindingRef>();
    // Newest first: on one line, a busy-timeout goes before the slow-request that led to it (hovers list them in this order).
    const entries = this.ledger.all().sort((a, b) => b.finding.detectedAt - a.finding.detectedAt);
    for (const { folderKey, finding } of entries) {
      const lease = finding.lease;
      if (finding.kind === 'spawn-failing') {
        const folder = vscode.Uri.parse(folderKey);
        const list = next.get(folder.toString()) ?? [];
        list.push(this.poolDiagnostic(finding));
        next.set(folder.toString(), list);
        continue;
      }
      if (!lease || !lease.scriptFilename) continue;
      const place = placeOf(finding, lease.scriptFilename);
      const uri = place.uri;
      const diagnostic = this.findingDiagnostic(finding, place);
      const list = next.get(uri.toString()) ?? [];
      list.push(diagnostic);
      next.set(uri.toString(), list);
      // Only an open finding has a worker left to act on.
      if (finding.resolution === null && finding.workerId) {
        refs.set(refKey(uri, diagnostic.message), { folderKey, findingId: finding.id, kind: finding.kind, workerId: finding.workerId, leaseId: lease.id });
      }
    }
    const uris = new Set([...this.findingDiagnostics.keys(), ...next.keys()]);
    this.findingDiagnostics = next;
    this.findingRefs = refs;
    for (const uri of uris) this.publish(vscode.Uri.parse(uri));
  }

  /** A finding about the pool (no request to point at): on the folder, with what the pool said. */
  private poolDiagnostic(finding: Finding): vscode.Diagnostic {
    const resolution = finding.resolution;
    const diagnostic = new vscode.Diagnostic(
      new vscode.Range(0, 0, 0, 0),
      `${findingLine(finding)}${resolution ? ` — ${resolution.how}` : ''}`,
      findingSeverity(finding.kind) === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
    );
    diagnostic.source = DIAGNOSTIC_SOURCE;
    diagnostic.code = { value: finding.kind, target: this.readme.with({ fragment: finding.kind }) };
    return diagnostic;
  }

  private findingDiagnostic(finding: Finding, place: Place): vscode.Diagnostic {
    const lease = finding.lease as NonNullable<Finding['lease']>;
    const severity = findingSeverity(finding.kind) === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning;
    const range = new vscode.Range(place.line, 0, place.line, Number.MAX_SAFE_INTEGER);
    const resolution = finding.resolution;
    // On the script (or the frame) itself: the sentence need not name it.
    const where = place.frame
      ? ` — in ${frameName(place.frame)}()${finding.wait ? `, ${finding.wait.state}${finding.wait.syscall ? ` in ${finding.wait.syscall}()` : ''}` : ''}`
      : '';
    const diagnostic = new vscode.Diagnostic(range, `${findingLine(finding)}${where}${resolution ? ` — ${resolution.how}` : ''}`, severity);
    diagnostic.source = DIAGNOSTIC_SOURCE;
    diagnostic.code = { value: finding.kind, target: this.readme.with({ fragment: finding.kind }) };
    const here = new vscode.Location(place.uri, range);
    const script = vscode.Uri.file(lease.scriptFilename);
    const at = new vscode.Location(script, new vscode.Range(0, 0, 0, Number.MAX_SAFE_INTEGER));
    diagnostic.relatedInformation = [
      ...stackInformation(finding, place, here),
      new vscode.DiagnosticRelatedInformation(
        at,
        `${formatRequest(lease)} from ${lease.clientAddress} (${lease.holder}), lease ${lease.id} taken at ${formatClock(lease.acquiredAt)}`,
      ),
      new vscode.DiagnosticRelatedInformation(
        at,
        `${finding.message}${finding.detectionLatencyMs !== null ? ` (noticed ${finding.detectionLatencyMs} ms after it happened)` : ''}`,
      ),
    ];
    if (resolution)
      diagnostic.relatedInformation.push(
        new vscode.DiagnosticRelatedInformation(at, `resolved at ${formatClock(resolution.at)} (${resolution.how}): ${resolution.detail}`),
      );
    return diagnostic;
  }

  private publish(uri: vscode.Uri): void {
    const key = uri.toString();
    const all = [...(this.findingDiagnostics.get(key) ?? []), ...[...(this.phpErrors.get(key)?.values() ?? [])].map((entry) => entry.diagnostic)];
    this.collection.set(uri, all.length > 0 ? all : undefined);
  }
}

/** Where a finding's diagnostic goes: a file, a 0-based line, and the frame that put it there (none: line 1 of the script). */
interface Place {
  readonly uri: vscode.Uri;
  readonly line: number;
  readonly frame: PhpStackFrame | null;
}

/**
 * The innermost frame of the PHP stack the finding carries whose file lies
 * in a workspace folder (the developer's code, not a library outside it);
 * without a stack, or none in the workspace, the script's first line.
 */
function placeOf(finding: Finding, scriptFilename: string): Place {
  const stack = finding.stack;
  const frame = stack ? innermostUserFrame(stack, (file) => vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file)) !== undefined) : null;
  if (frame && frame.file !== null && frame.line !== null) return { uri: vscode.Uri.file(frame.file), line: Math.max(0, frame.line - 1), frame };
  return { uri: vscode.Uri.file(scriptFilename), line: 0, frame: null };
}

/** The stack as related information: how old it is, what the worker waited on, then every frame (at its line; internal ones at the diagnostic). */
function stackInformation(finding: Finding, place: Place, here: vscode.Location): vscode.DiagnosticRelatedInformation[] {
  const stack = finding.stack;
  if (!stack || stack.length === 0) return [];
  const lines: vscode.DiagnosticRelatedInformation[] = [];
  const age = finding.stackAgeMs ?? 0;
  const read = age >= 1 ? `the last PHP stack seen, ${formatDuration(age)} before` : 'the PHP stack when it was found';
  lines.push(new vscode.DiagnosticRelatedInformation(here, `${read}${finding.wait ? `; the worker was ${describeWait(finding.wait)}` : ''}:`));
  stack.forEach((frame, index) => {
    const location =
      frame.file !== null && frame.line !== null && !frame.internal
        ? new vscode.Location(vscode.Uri.file(frame.file), new vscode.Range(frame.line - 1, 0, frame.line - 1, Number.MAX_SAFE_INTEGER))
        : here;
    const mark = frame === place.frame ? ' ← here' : '';
    lines.push(new vscode.DiagnosticRelatedInformation(location, `#${index} ${frameName(frame)}()${frame.internal ? ` ${frameLocation(frame)}` : ''}${mark}`));
  });
  return lines;
}

function refKey(uri: vscode.Uri, message: string): string {
  return `${uri.toString()}\n${message}`;
}
