import type { FastCgiConnection } from '../fastcgi/connection';
import type { StackCheck, WorkerStackRead, WorkerStacks } from '../pool/host';
import type { LeaseRequestInfo } from '../pool/types';
import {
  CANARY_FILE_NAME,
  createPhpStackReader,
  liveStackSupport,
  readCpuTimeMs,
  runCanary,
  writeCanaryScript,
  type LiveStackSupport,
  type PhpStackReader,
  type PhpStackReaderOptions,
} from './phpStack';

/**
 * The real host's live stacks (issue 13): the /proc reader of
 * src/platform/phpStack for the pool's own php-cgi workers, and the canary
 * script, written into the host's private 0700 folder beside the workers'
 * sockets. Each pool start gets a fresh reader, so a canary that failed
 * once is run again after a restart (the php-cgi may have changed).
 */
export class ProcessStacks implements WorkerStacks<FastCgiConnection> {
  readonly cheapWaits: boolean;
  private readonly support: LiveStackSupport;
  private reader: PhpStackReader;
  private scriptPath: string | null = null;
  private scriptProblem: string | null = null;

  constructor(
    private readonly options: PhpStackReaderOptions = {},
    support: LiveStackSupport = liveStackSupport(),
  ) {
    this.support = support;
    this.cheapWaits = support.waits === 'proc';
    this.reader = createPhpStackReader(options);
  }

  /** The pool starts: a fresh reader, and the canary written into the host's private folder. */
  open(dir: string): void {
    this.reader.dispose();
    this.reader = createPhpStackReader(this.options);
    try {
      this.scriptPath = writeCanaryScript(dir);
      this.scriptProblem = null;
    } catch (error) {
      this.scriptProblem = `live PHP stacks are off: cannot write the canary script: ${(error as Error).message}`;
    }
  }

  /** The pool stopped: every open worker memory and cache goes. */
  close(): void {
    this.reader.dispose();
  }

  unavailableReason(): string | null {
    return this.support.reason ?? this.scriptProblem;
  }

  canaryRequest(): LeaseRequestInfo {
    return { method: 'PUT', uri: `/${CANARY_FILE_NAME}`, scriptFilename: this.scriptPath ?? CANARY_FILE_NAME, clientAddress: 'stack canary' };
  }

  async runCanary(pid: number, connection: FastCgiConnection): Promise<StackCheck> {
    if (this.scriptPath === null) return { ok: false, message: this.scriptProblem ?? 'live PHP stacks are off: no canary script', requestEnded: true };
    const outcome = await runCanary({ connection, pid, scriptPath: this.scriptPath, reader: this.reader });
    return { ok: outcome.ok, message: outcome.ok ? null : outcome.message, requestEnded: outcome.requestEnded };
  }

  /** /proc only: elsewhere the only source is `ps`, a process spawn, too slow to take for every lease. */
  cpuTimeMs(pid: number): number | null {
    return this.support.waits === 'proc' ? readCpuTimeMs(pid) : null;
  }

  sample(pid: number, cpuBaselineMs: number | null): WorkerStackRead {
    if (this.support.waits === 'none') return { stack: this.reader.readStack(pid), wait: null };
    const { stack, wait } = this.reader.sample(pid, cpuBaselineMs === null ? {} : { cpuBaselineMs });
    return { stack, wait };
  }

  forget(pid: number): void {
    this.reader.forget(pid);
  }
}
