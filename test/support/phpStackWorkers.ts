/**
 * Real php-cgi workers for the stack-reader tests and benchmark: started the
 * way the pool starts them (src/platform/spawnWorker: a pre-bound unix socket
 * as fd 0, own process group), given one request over FastCGI that stays
 * busy, and stopped by process group afterwards.
 */
import { resolve } from 'node:path';
import { FastCgiConnection, type EndRequestResult, type FastCgiConnectionError, type ResponseHandler } from '../../src/fastcgi';
import { stopProcessGroup } from '../../src/platform/processControl';
import { spawnWorker, type SpawnedWorker } from '../../src/platform/spawnWorker';

export const PHP_STACK_FIXTURES = resolve(__dirname, '../fixtures/php-stack');

/** A worker with one request in flight. */
export interface BusyWorker {
  worker: SpawnedWorker;
  connection: FastCgiConnection;
  response: CollectedResponse;
}

/** Collects a response; `settled` resolves on end or error. */
export class CollectedResponse implements ResponseHandler {
  stdout = '';
  stderr = '';
  end: EndRequestResult | null = null;
  error: FastCgiConnectionError | null = null;
  private done!: () => void;
  private stdoutWaiters: Array<() => void> = [];
  readonly settled = new Promise<void>((resolvePromise) => (this.done = resolvePromise));

  onStdout(chunk: Buffer): void {
    this.stdout += chunk.toString('latin1');
    for (const wake of this.stdoutWaiters.splice(0)) wake();
  }
  onStderr(chunk: Buffer): void {
    this.stderr += chunk.toString('utf8');
  }
  onEnd(result: EndRequestResult): void {
    this.end = result;
    this.done();
    for (const wake of this.stdoutWaiters.splice(0)) wake();
  }
  onError(error: FastCgiConnectionError): void {
    this.error = error;
    this.done();
    for (const wake of this.stdoutWaiters.splice(0)) wake();
  }

  /** Resolves once stdout contains `text`; rejects if the response ends first. */
  async waitForStdout(text: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes(text)) {
      if (this.end || this.error) throw new Error(`response ended without ${JSON.stringify(text)}: ${this.stdout}${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)} in stdout`);
      await new Promise<void>((wake) => {
        this.stdoutWaiters.push(wake);
        setTimeout(wake, 50);
      });
    }
  }
}

/** Starts one php-cgi worker; every worker started here is stopped by {@link stopAll}. */
export class PhpWorkerSet {
  private readonly started: SpawnedWorker[] = [];
  private readonly connections: FastCgiConnection[] = [];
  private count = 0;

  constructor(
    private readonly socketDir: string,
    private readonly phpCgi: string,
  ) {}

  async start(args: readonly string[] = []): Promise<SpawnedWorker> {
    const worker = await spawnWorker({
      command: this.phpCgi,
      args,
      // Inherits FASTCGI_POOL_TEST_RUN, which the suite's leftover-process check looks for.
      env: process.env,
      cwd: PHP_STACK_FIXTURES,
      socketDir: this.socketDir,
      name: `stack-${process.pid}-${++this.count}`,
      parentDeathSignal: false,
    });
    this.started.push(worker);
    worker.child.stderr?.resume();
    return worker;
  }

  /**
   * Sends `script?query` to a new worker and leaves the request running.
   * With `holdStdin`, the body (method PUT) stays open until the caller ends it.
   */
  async busy(script: string, query = '', options: { holdStdin?: boolean; scriptPath?: string; args?: readonly string[] } = {}): Promise<BusyWorker> {
    const worker = await this.start(options.args);
    const connection = await FastCgiConnection.connect(worker.address, { timeoutMs: 5_000 });
    this.connections.push(connection);
    const response = new CollectedResponse();
    const scriptPath = options.scriptPath ?? resolve(PHP_STACK_FIXTURES, script);
    connection.beginRequest(requestParams(scriptPath, query, options.holdStdin === true), response, options.holdStdin ? {} : { stdin: Buffer.alloc(0) });
    return { worker, connection, response };
  }

  /** Stops every worker (SIGTERM, then SIGKILL after `graceMs`: a CPU-busy php-cgi ignores SIGTERM until its request ends). */
  async stopAll(graceMs = 2_000): Promise<void> {
    for (const connection of this.connections.splice(0)) connection.destroy();
    await Promise.all(this.started.splice(0).map((worker) => stopProcessGroup(worker.child, graceMs)));
  }
}

/** The CGI params of one request for `scriptPath` (PUT with a 1-byte body when the body is held). */
export function requestParams(scriptPath: string, query: string, heldBody: boolean): Array<readonly [string, string]> {
  const params: Array<readonly [string, string]> = [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['SERVER_NAME', 'localhost'],
    ['SERVER_PORT', '80'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REQUEST_METHOD', heldBody ? 'PUT' : 'GET'],
    ['SCRIPT_FILENAME', scriptPath],
    ['SCRIPT_NAME', `/${scriptPath.split('/').pop() ?? ''}`],
    ['REQUEST_URI', `/${scriptPath.split('/').pop() ?? ''}${query ? `?${query}` : ''}`],
    ['QUERY_STRING', query],
    ['DOCUMENT_ROOT', PHP_STACK_FIXTURES],
    ['REDIRECT_STATUS', '200'],
  ];
  if (heldBody) params.push(['CONTENT_LENGTH', '1'], ['CONTENT_TYPE', 'application/octet-stream']);
  return params;
}
