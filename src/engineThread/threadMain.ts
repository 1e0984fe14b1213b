/**
 * The engine thread's entry (dist/engineThread.js): one pool, its HTTP front
 * and its reconciler, in a `worker_threads` worker of the extension host, so
 * that the host's main thread — shared with every other extension — neither
 * stalls the requests nor pays for them. It speaks protocol.ts with the main
 * thread: one start, actions from the table in actions.ts, one stop, and
 * updates (snapshot + events) coalesced by the outbox.
 *
 * Its php-cgi workers are children of the whole process, but Linux's
 * parent-death signal (`setpriv --pdeathsig`, armed by default) fires when
 * the *thread* that forked them exits — this one. That is why the thread
 * lives exactly as long as its pool: it exits only once every worker has
 * been reaped, so the signal can only fire when the thread dies early, and
 * then it is welcome. The main thread still learns each worker's pid and
 * process group as it is spawned (`worker-process`), and kills the groups
 * that are left if the thread dies anyway (see threadedServer.ts).
 */
import { parentPort } from 'node:worker_threads';
import { startPoolServer, type PoolServer } from '../gateway/poolServer';
import { signalProcessGroup } from '../platform/processControl';
import type { WorkerProcessObserver, WorkerProcessRecord } from '../platform/processHost';
import { runEngineAction } from './actions';
import type { PoolSnapshot } from '../pool/types';
import { HistoryEncoder } from './historyCodec';
import { UpdateOutbox } from './outbox';
import { StackReadsTracker } from './stackReads';
import { parseMainMessage, toWireError, type CallMessage, type EngineStartOptions, type EngineToMainMessage, type WireSnapshot } from './protocol';

/** After a crash, how long the thread waits for its killed workers to be reaped before it exits anyway. */
const FATAL_REAP_MS = 2_000;

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'fatal';

if (!parentPort) throw new Error('dist/engineThread.js runs in a worker thread of the extension host');
const port = parentPort;

let phase: Phase = 'idle';
let server: PoolServer | null = null;
let starting: Promise<void> | null = null;
let outbox: UpdateOutbox | null = null;
/** Worker processes spawned and not yet reaped. */
const live = new Map<number, WorkerProcessRecord>();
const history = new HistoryEncoder();

function post(message: EngineToMainMessage): void {
  port.postMessage(message);
}

/** A snapshot for the channel: its history as what was added since the last one sent. */
function toWire(snapshot: PoolSnapshot): WireSnapshot {
  return { ...snapshot, history: history.encode(snapshot.history) };
}

const observer: WorkerProcessObserver = {
  spawned(worker) {
    live.set(worker.pid, worker);
    post({ type: 'worker-process', change: 'spawned', worker });
    // A spawn that was in flight when the thread crashed: it must not outlive it.
    if (phase === 'fatal') signalProcessGroup(worker.pgid, 'SIGKILL');
  },
  reaped(pid) {
    live.delete(pid);
    post({ type: 'worker-process', change: 'reaped', pid });
  },
};

port.on('message', (raw: unknown) => {
  const parsed = parseMainMessage(raw);
  if (!parsed.ok) {
    post({ type: 'rejected', reason: parsed.error });
    return;
  }
  const message = parsed.value;
  switch (message.type) {
    case 'start':
      if (phase !== 'idle') post({ type: 'rejected', reason: `start: the engine is ${phase}` });
      else starting = start(message.options);
      return;
    case 'call':
      void call(message);
      return;
    case 'stop':
      void stop(message.drainMs);
      return;
  }
});

async function start(options: EngineStartOptions): Promise<void> {
  phase = 'starting';
  const updates = new UpdateOutbox(
    { snapshot: () => server?.pool.snapshot() ?? null, stacks: new StackReadsTracker(() => server?.pool.stacks.lastReads() ?? null) },
    ({ snapshot, events, stacks }) => post({ type: 'update', snapshot: snapshot && toWire(snapshot), events, ...(stacks ? { stacks } : {}) }),
    options.updateIntervalMs,
    options.perRequestEventsPerUpdate,
  );
  outbox = updates;
  try {
    server = await startPoolServer({
      documentRoot: options.documentRoot,
      pool: { ...options.pool, workerProcessObserver: observer },
      gateway: options.gateway,
      onPoolEvent: options.poolEvents === 'none' ? undefined : (event) => updates.event(event),
      poolEventsPerRequest: options.poolEvents === 'all',
      onGatewayEvent: options.gatewayEvents ? (event) => updates.event(event) : undefined,
    });
  } catch (error) {
    // startPoolServer stopped whatever it had started before it threw.
    updates.flush();
    updates.dispose();
    post({ type: 'start-failed', error: toWireError(error) });
    finish();
    return;
  }
  if (phase !== 'starting') return; // a crash meanwhile
  phase = 'running';
  // The start's events first, then `started` with the snapshot they led to.
  updates.flush();
  const snapshot = server.pool.snapshot();
  updates.sent(snapshot.version);
  post({ type: 'started', url: server.url, port: server.port, snapshot: toWire(snapshot), liveReload: server.gateway.liveReload !== null });
}

async function call(message: CallMessage): Promise<void> {
  if (phase !== 'running' || !server) {
    post({ type: 'reply', id: message.id, ok: false, error: toWireError(new Error(`the pool is ${phase === 'idle' ? 'not started' : phase}`)) });
    return;
  }
  try {
    const result = await runEngineAction(server, message.action, message.args);
    outbox?.changed();
    post({ type: 'reply', id: message.id, ok: true, result });
  } catch (error) {
    post({ type: 'reply', id: message.id, ok: false, error: toWireError(error) });
  }
}

async function stop(drainMs: number): Promise<void> {
  if (phase === 'stopping' || phase === 'stopped' || phase === 'fatal') return;
  if (starting) await starting;
  if ((phase as Phase) !== 'running' || !server) {
    // Never started, or the start failed (and `start-failed` said so).
    if ((phase as Phase) === 'idle') {
      post({ type: 'stopped', error: null });
      finish();
    }
    return;
  }
  phase = 'stopping';
  let failure: unknown = null;
  try {
    await server.stop(drainMs);
  } catch (error) {
    failure = error;
  }
  outbox?.flush();
  outbox?.dispose();
  post({ type: 'stopped', error: failure === null ? null : toWireError(failure) });
  finish();
}

/** Ends the thread: everything it posted is delivered first. */
function finish(): void {
  phase = 'stopped';
  process.exit(0);
}

/**
 * An exception nobody caught (an unhandled rejection arrives here too):
 * the engine's state can no longer be trusted. Say so, stop spawning,
 * kill every worker and let this thread's loop reap them, then exit. The
 * main thread reports the crash and kills whatever is still left.
 */
function crash(error: unknown): void {
  if (phase === 'fatal') return;
  phase = 'fatal';
  post({ type: 'fatal', reason: describeCrash(error) });
  outbox?.dispose();
  try {
    // No replacements for the workers killed below.
    server?.pool.stop().catch(() => undefined);
  } catch {
    // a broken pool: the kills below still apply
  }
  for (const worker of live.values()) signalProcessGroup(worker.pgid, 'SIGKILL');
  const deadline = Date.now() + FATAL_REAP_MS;
  const waitForReaping = (): void => {
    if (live.size === 0 || Date.now() > deadline) process.exit(1);
    else setTimeout(waitForReaping, 10);
  };
  waitForReaping();
}

process.on('uncaughtException', crash);

// `process.exit()` from anywhere in this thread (ours after a clean stop
// finds no worker left): no time to reap, but the groups can still be
// killed, synchronously.
process.on('exit', () => {
  for (const worker of live.values()) {
    try {
      signalProcessGroup(worker.pgid, 'SIGKILL');
    } catch {
      // not ours to kill any more (EPERM): the main thread checks each pid again
    }
  }
});

/** `Error: message (at file:line)`: the first frame says where. */
function describeCrash(error: unknown): string {
  if (!(error instanceof Error)) return `uncaught ${String(error)}`;
  const frame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return `uncaught ${error.name}: ${error.message}${frame ? ` (${frame.trim()})` : ''}`;
}
