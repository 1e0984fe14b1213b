/**
 * The DBGp relay between REAL php-cgi workers running Xdebug and a fake IDE.
 * Workers are started the way the pool starts them (spawnWorker: a pre-bound
 * socket on fd 0) with the arguments xdebugWorkerArgs gives, and requests go
 * through the product's FastCgiConnection with the trigger cookie that
 * withXdebugTrigger adds. Skipped, saying why, when xdebug.so is not installed.
 */
import { realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DebugRelay, decideXdebug, withXdebugTrigger, xdebugWorkerArgs, type DebugRelayEvent, type DebugRelayOptions, type DebugStatus } from '../../src/dbgp';
import { FastCgiConnection, type EndRequestResult, type FastCgiConnectionError, type ParamList, type ResponseHandler } from '../../src/fastcgi';
import { killProcessGroup, stopProcessGroup } from '../../src/platform/processControl';
import { createSocketDir, removeSocketDir, spawnWorker, type SpawnedWorker } from '../../src/platform/spawnWorker';
import { FakeIde, unusedPort, type FakeIdeConnection } from '../support/fakeIde';
import { phpCgi, waitFor, xdebugAvailabilitySync } from '../support/helpers';

const FIXTURES = realpathSync(resolve(__dirname, '../fixtures/xdebug'));
const SCRIPT = resolve(FIXTURES, 'steps.php');
const SCRIPT_URI = `file://${SCRIPT}`;
const BODY_LENGTH = 200_000;

const availability = xdebugAvailabilitySync();
const skipReason = availability.kind === 'missing' ? `xdebug.so not found for ${phpCgi} (${availability.detail}); install php-xdebug to run these tests` : null;
if (skipReason) console.warn(`dbgp-relay tests skipped: ${skipReason}`);

let socketDir: string;
let workerCount = 0;
const workers: SpawnedWorker[] = [];
const connections: FastCgiConnection[] = [];
const relays: DebugRelay[] = [];
const ides: FakeIde[] = [];

beforeAll(() => {
  socketDir = createSocketDir();
});

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.destroy();
  for (const relay of relays.splice(0)) relay.dispose();
  await Promise.all(ides.splice(0).map((ide) => ide.close()));
  await Promise.all(workers.splice(0).map((worker) => stopProcessGroup(worker.child, 2_000)));
});

afterAll(() => {
  if (socketDir) removeSocketDir(socketDir);
});

/** A relay whose changes and events are recorded. */
async function startRelay(options: DebugRelayOptions): Promise<{ relay: DebugRelay; changes: Array<[number, DebugStatus | null]>; events: DebugRelayEvent[] }> {
  const relay = await DebugRelay.listen(options);
  relays.push(relay);
  const changes: Array<[number, DebugStatus | null]> = [];
  const events: DebugRelayEvent[] = [];
  relay.onChange((pid, status) => changes.push([pid, status]));
  relay.onEvent((event) => events.push(event));
  return { relay, changes, events };
}

async function startIde(): Promise<FakeIde> {
  const ide = await FakeIde.listen();
  ides.push(ide);
  return ide;
}

async function startWorker(relayPort: number): Promise<SpawnedWorker> {
  if (availability.kind === 'missing') throw new Error('unreachable: the suite is skipped without Xdebug');
  const { args } = xdebugWorkerArgs(decideXdebug('on', availability, phpCgi) as Extract<ReturnType<typeof decideXdebug>, { enabled: true }>, relayPort);
  const worker = await spawnWorker({
    command: phpCgi,
    args,
    // Inherits FASTCGI_POOL_TEST_RUN, which the suite's leftover-process check looks for.
    env: process.env,
    cwd: FIXTURES,
    socketDir,
    name: `dbgp-${process.pid}-${++workerCount}`,
    parentDeathSignal: false,
  });
  workers.push(worker);
  worker.child.stderr?.resume();
  return worker;
}

class Response implements ResponseHandler {
  private readonly chunks: Buffer[] = [];
  end: EndRequestResult | null = null;
  error: FastCgiConnectionError | null = null;
  private done!: () => void;
  readonly settled = new Promise<void>((resolve) => (this.done = resolve));
  onStdout(chunk: Buffer): void {
    this.chunks.push(chunk);
  }
  onStderr(): void {}
  onEnd(result: EndRequestResult): void {
    this.end = result;
    this.done();
  }
  onError(error: FastCgiConnectionError): void {
    this.error = error;
    this.done();
  }
  get body(): string {
    const text = Buffer.concat(this.chunks).toString('latin1');
    return text.slice(text.indexOf('\r\n\r\n') + 4);
  }
}

function params(): ParamList {
  return [
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REQUEST_METHOD', 'GET'],
    ['SCRIPT_FILENAME', SCRIPT],
    ['SCRIPT_NAME', '/steps.php'],
    ['REQUEST_URI', '/steps.php'],
    ['QUERY_STRING', ''],
    ['DOCUMENT_ROOT', FIXTURES],
    ['REDIRECT_STATUS', '200'],
    ['HTTP_COOKIE', 'session=abc'],
  ];
}

const connectionOf = new Map<SpawnedWorker, FastCgiConnection>();

/**
 * Sends one request to the worker (on its one kept connection: php-cgi serves
 * one connection at a time); `trigger` adds the Xdebug trigger cookie.
 */
async function send(worker: SpawnedWorker, trigger: boolean): Promise<Response> {
  let connection = connectionOf.get(worker);
  if (connection === undefined) {
    connection = await FastCgiConnection.connect(worker.address, { timeoutMs: 5_000 });
    connections.push(connection);
    connectionOf.set(worker, connection);
  }
  const response = new Response();
  connection.beginRequest(trigger ? withXdebugTrigger(params()) : params(), response, { stdin: Buffer.alloc(0) });
  return response;
}

function expectFullBody(response: Response, pid: number): void {
  expect(response.error).toBeNull();
  expect(response.end).toEqual({ appStatus: 0, protocolStatus: 0 });
  expect(response.body).toBe(`total=6 pid=${pid}\n${'x'.repeat(BODY_LENGTH)}\nend\n`);
}

/** Waits until the relay reports a status for `pid` that satisfies `check`. */
async function waitForStatus(relay: DebugRelay, pid: number, check: (status: DebugStatus | null) => boolean, what: string): Promise<void> {
  await waitFor(() => check(relay.state(pid)), what);
}

/** The fake IDE's side of a fresh session: reads init and checks it names the worker. */
async function acceptSession(ide: FakeIde, pid: number): Promise<FakeIdeConnection> {
  const connection = await ide.nextConnection();
  const init = await connection.nextPacket();
  expect(init).toMatch(/^<\?xml[^>]*>\s*<init /);
  expect(init).toContain(`appid="${pid}"`);
  expect(init).toContain(`fileuri="${SCRIPT_URI}"`);
  return connection;
}

describe.skipIf(skipReason !== null)(`DBGp relay with real Xdebug${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('a triggered request: init names the worker pid, a breakpoint pauses it at file:line, run → stopping, then the request completes', async () => {
    const ide = await startIde();
    const { relay, changes, events } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port } });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    const session = await acceptSession(ide, worker.pid);
    await waitForStatus(relay, worker.pid, (s) => s !== null, 'the session to be published');
    expect(relay.state(worker.pid)).toMatchObject({ state: 'running', file: SCRIPT, line: null, ide: 'connected' });
    expect(relay.session(worker.pid)).toMatchObject({ phase: 'connected', script: SCRIPT, idekey: '1' });

    expect(await session.command('breakpoint_set', `-t line -f ${SCRIPT_URI} -n 8`)).toContain('command="breakpoint_set"');
    const brk = await session.command('run');
    expect(brk).toContain('status="break"');
    await waitForStatus(relay, worker.pid, (s) => s?.state === 'paused', 'paused');
    const paused = relay.state(worker.pid) as DebugStatus;
    expect(paused).toMatchObject({ state: 'paused', file: SCRIPT, line: 8, ide: 'connected' });
    expect(paused.since).toBeGreaterThanOrEqual(relay.session(worker.pid)?.connectedAt as number);
    expect(relay.states()).toEqual(new Map([[worker.pid, paused]]));

    // Inspecting while paused keeps it paused, at the same place.
    expect(await session.command('stack_get')).toContain(`lineno="8"`);
    expect(relay.state(worker.pid)).toBe(paused);

    expect(await session.command('run')).toContain('status="stopping"');
    await waitForStatus(relay, worker.pid, (s) => s?.state === 'stopping', 'stopping');
    // Xdebug holds the response until the IDE's last word.
    session.send('run');
    await response.settled;
    expectFullBody(response, worker.pid);
    await waitForStatus(relay, worker.pid, (s) => s === null, 'the session to end');
    await session.closed;

    const states = changes.filter(([pid]) => pid === worker.pid).map(([, status]) => status?.state ?? null);
    expect(states).toEqual(['running', 'paused', 'running', 'stopping', null]);
    expect(events.map((event) => event.type)).toEqual(['session-started', 'session-ended']);
    expect(events[1]).toMatchObject({ type: 'session-ended', pid: worker.pid, reason: 'worker-closed' });
    expect(relay.stats).toMatchObject({ accepted: 1, sessions: 1 });
  });

  it('step_into pauses at the first line; step_over walks into the loop; each pause has its own line and since', async () => {
    const ide = await startIde();
    const { relay } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port } });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    const session = await acceptSession(ide, worker.pid);

    await session.command('step_into');
    await waitForStatus(relay, worker.pid, (s) => s?.state === 'paused', 'paused at the first line');
    expect(relay.state(worker.pid)).toMatchObject({ file: SCRIPT, line: 3 });
    const lines: number[] = [];
    let previousSince = relay.state(worker.pid)?.since as number;
    while (lines.at(-1) !== 6 && lines.length < 10) {
      const answer = await session.command('step_over');
      const line = Number(/lineno="(\d+)"/.exec(answer)?.[1]);
      await waitForStatus(relay, worker.pid, (s) => s?.state === 'paused' && s.line === line, `paused at line ${line}`);
      const status = relay.state(worker.pid) as DebugStatus;
      expect(status.since).toBeGreaterThanOrEqual(previousSince);
      previousSince = status.since;
      lines.push(line);
    }
    // Xdebug's own stepping order through `for (…)`; what matters is that the relay follows each step.
    expect(lines.slice(0, 2)).toEqual([4, 5]);
    expect(lines.at(-1)).toBe(6);
    session.send('detach');
    await response.settled;
    expectFullBody(response, worker.pid);
    await waitForStatus(relay, worker.pid, (s) => s === null, 'the session to end');
  });

  it('the IDE hangs up while paused: the request completes with its full body and both sides close', async () => {
    const ide = await startIde();
    const { relay, events } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port } });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    const session = await acceptSession(ide, worker.pid);
    await session.command('breakpoint_set', `-t line -f ${SCRIPT_URI} -n 6`);
    await session.command('run');
    await waitForStatus(relay, worker.pid, (s) => s?.state === 'paused' && s.line === 6, 'paused at line 6');

    session.hangUp();
    await response.settled;
    expectFullBody(response, worker.pid);
    await waitForStatus(relay, worker.pid, (s) => s === null, 'the session to end');
    expect(events.at(-1)).toMatchObject({ type: 'session-ended', pid: worker.pid, reason: 'ide-closed' });
  });

  it('no IDE listening: the triggered request completes normally and the relay reports the IDE unreachable', async () => {
    const { relay, changes, events } = await startRelay({ ide: { host: '127.0.0.1', port: await unusedPort() } });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    await response.settled;
    expectFullBody(response, worker.pid);
    await waitFor(() => changes.some(([, status]) => status === null), 'the session to end');
    expect(changes.map(([pid, status]) => [pid, status?.ide ?? null])).toEqual([
      [worker.pid, 'unreachable'],
      [worker.pid, null],
    ]);
    expect(events.find((event) => event.type === 'ide-unreachable')).toMatchObject({ pid: worker.pid, error: 'ECONNREFUSED' });
    expect(relay.state(worker.pid)).toBeNull();
  });

  it('an untriggered request never opens a debug connection', async () => {
    const ide = await startIde();
    const { relay } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port } });
    const worker = await startWorker(relay.port);
    const plain = await send(worker, false);
    await plain.settled;
    expectFullBody(plain, worker.pid);
    // A triggered request afterwards: connections are accepted in order, so
    // had the plain request connected, the relay would count two now.
    const triggered = await send(worker, true);
    const session = await acceptSession(ide, worker.pid);
    session.send('run');
    await session.nextPacket(); // stopping
    session.send('run');
    await triggered.settled;
    expectFullBody(triggered, worker.pid);
    expect(relay.stats.accepted).toBe(1);
    expect(ide.connections).toHaveLength(1);
  });

  it('a worker SIGKILLed while paused: the relay closes the IDE side and forgets the session', async () => {
    const ide = await startIde();
    const { relay, events } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port } });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    const session = await acceptSession(ide, worker.pid);
    await session.command('step_into');
    await waitForStatus(relay, worker.pid, (s) => s?.state === 'paused', 'paused');

    await killProcessGroup(worker.child);
    await session.closed;
    await response.settled;
    expect(response.error?.kind).toBe('closed-before-end');
    await waitForStatus(relay, worker.pid, (s) => s === null, 'the session to end');
    expect(events.at(-1)).toMatchObject({ type: 'session-ended', pid: worker.pid, reason: 'worker-closed' });
  });

  it('an IDE that connects and never speaks: after the silence limit the worker is let go and the request completes', async () => {
    const ide = await startIde();
    const { relay, events } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port }, ideSilenceTimeoutMs: 300 });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    const session = await acceptSession(ide, worker.pid);
    await response.settled;
    expectFullBody(response, worker.pid);
    await session.closed;
    await waitFor(() => relay.state(worker.pid) === null && events.length === 3, 'the session to end');
    expect(events.map((event) => event.type)).toEqual(['session-started', 'ide-silent', 'session-ended']);
    expect(events[2]).toMatchObject({ reason: 'ide-silent' });
  });

  it('stop at a breakpoint with an IDE that keeps its socket open: stopping, then the silence limit lets the worker go', async () => {
    const ide = await startIde();
    const { relay, events } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port }, ideSilenceTimeoutMs: 300 });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    const session = await acceptSession(ide, worker.pid);
    await session.command('step_into');
    await waitForStatus(relay, worker.pid, (s) => s?.state === 'paused', 'paused');
    session.send('stop');
    await waitForStatus(relay, worker.pid, (s) => s?.state === 'stopping', 'stopping');
    // php-cgi waits for the IDE socket to close after `stop`; the relay closes it.
    await response.settled;
    expect(response.error).toBeNull();
    expect(response.body).toBe(''); // the script was stopped before its first echo
    await session.closed;
    await waitForStatus(relay, worker.pid, (s) => s === null, 'the session to end');
    expect(events.map((event) => event.type)).toEqual(['session-started', 'ide-silent', 'session-ended']);
  });

  it('three workers paused at once are told apart by pid; close() lets every request complete and frees the port', async () => {
    const ide = await startIde();
    const { relay, changes } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port } });
    const started = await Promise.all([0, 1, 2].map(() => startWorker(relay.port)));
    const responses = await Promise.all(started.map((worker) => send(worker, true)));
    const sessions = await Promise.all(started.map(() => ide.nextConnection()));
    const pids: number[] = [];
    for (const session of sessions) {
      const init = await session.nextPacket();
      pids.push(Number(/appid="(\d+)"/.exec(init)?.[1]));
      await session.command('breakpoint_set', `-t line -f ${SCRIPT_URI} -n 8`);
      await session.command('run');
    }
    expect(pids.sort()).toEqual(started.map((worker) => worker.pid).sort());
    await waitFor(() => [...relay.states().values()].filter((s) => s.state === 'paused').length === 3, 'three paused workers');
    expect([...relay.states().keys()].sort()).toEqual(pids);

    const closed = relay.close();
    expect(relay.states().size).toBe(0);
    expect(changes.slice(-3).map(([, status]) => status)).toEqual([null, null, null]);
    await Promise.all(responses.map((response) => response.settled));
    responses.forEach((response, i) => expectFullBody(response, started[i].pid));
    await Promise.all(sessions.map((session) => session.closed));
    await closed;
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: relay.port });
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('a debug connection from a pid that is not ours is refused, and that request runs on undebugged', async () => {
    const ide = await startIde();
    const { relay, events } = await startRelay({ ide: { host: '127.0.0.1', port: ide.port }, acceptPid: () => false });
    const worker = await startWorker(relay.port);
    const response = await send(worker, true);
    await response.settled;
    expectFullBody(response, worker.pid);
    expect(events).toEqual([{ type: 'rejected', pid: worker.pid, reason: `pid ${worker.pid} is not one of the pool's workers` }]);
    expect(ide.connections).toHaveLength(0);
  });
});
