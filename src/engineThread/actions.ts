/**
 * The engine's actions: what the extension may ask of a running engine, as
 * one typed table. Each entry says how its arguments are checked (in the
 * thread, before anything runs), how it runs against the engine, and how
 * its result is checked (on the main thread, before a caller sees it).
 *
 * Adding an action is one entry here: the thread dispatches any `call` by
 * this table, and the threaded server's pool handle gets a method of the
 * same name, typed from the entry (threadedServer.ts). Runs in both bundles;
 * it imports only types.
 */
import type { ArmedTrigger } from '../dbgp/requestMatcher';
import type { PoolServer } from '../gateway/poolServer';
import type { DebugStopped } from '../pool/debugging';
import type { LeaseStack } from '../shared/stackTypes';
import { argsOf, isBoolean, isId, isLeaseStack, isNull, isRecord, oneOf, type ArgSpec, type ArgsOf, type Checked } from './validate';

/** One engine action. Its arguments are positional, as the method on the pool handle takes them, one spec each. */
export interface EngineAction<S extends readonly ArgSpec<unknown>[], Result> {
  readonly args: S;
  readonly run: (engine: PoolServer, ...args: ArgsOf<S>) => Result | Promise<Result>;
  readonly isResult: (value: unknown) => value is Result;
}

/** Declares an entry; the types of `run`'s arguments follow from `args`, its result from `isResult`. */
function action<const S extends readonly ArgSpec<unknown>[], Result>(entry: EngineAction<S, Result>): EngineAction<S, Result> {
  return entry;
}

const workerId: ArgSpec<string> = { name: 'workerId', expected: 'a worker id', is: isId };
const leaseId: ArgSpec<string> = { name: 'leaseId', expected: 'a lease id', is: isId };
const retireMode: ArgSpec<'graceful' | 'kill'> = { name: 'mode', expected: '"graceful" or "kill"', is: oneOf(['graceful', 'kill']) };

/** A glob longer than this is not one a person typed. */
const MAX_PATTERN_LENGTH = 1_000;
const pathPattern: ArgSpec<string | null> = {
  name: 'pattern',
  expected: `a path glob (at most ${MAX_PATTERN_LENGTH} characters) or null`,
  is: (value): value is string | null => value === null || (typeof value === 'string' && value.length <= MAX_PATTERN_LENGTH),
};

/** Files one live-reload call carries at most; the main thread splits a larger batch (a `git checkout`). */
export const MAX_CHANGED_FILES_PER_CALL = 1_000;
const MAX_PATH_LENGTH = 4_096;
const changedFiles: ArgSpec<string[]> = {
  name: 'files',
  expected: `a list of 1 to ${MAX_CHANGED_FILES_PER_CALL} file paths`,
  is: (value): value is string[] =>
    Array.isArray(value) &&
    value.length > 0 &&
    value.length <= MAX_CHANGED_FILES_PER_CALL &&
    value.every((file) => typeof file === 'string' && file !== '' && file.length <= MAX_PATH_LENGTH),
};

const isArmedTrigger = (value: unknown): value is ArmedTrigger =>
  isRecord(value) && (value.pattern === null || typeof value.pattern === 'string') && typeof value.since === 'number';

const isDebugStopped = (value: unknown): value is DebugStopped =>
  isRecord(value) && typeof value.disarmed === 'boolean' && typeof value.sessionsEnded === 'number' && Number.isSafeInteger(value.sessionsEnded);

export const ENGINE_ACTIONS = {
  /** Kill (SIGKILL now) or recycle (after its current request) a worker; false when the pool refuses (gone, already leaving). */
  recycleWorker: action({
    args: [workerId, retireMode],
    run: (engine, id, mode) => engine.pool.recycleWorker(id, mode),
    isResult: isBoolean,
  }),
  /** End a lease from outside its holder and recycle its worker; false when no worker holds it. */
  releaseLease: action({
    args: [leaseId],
    run: (engine, id) => engine.pool.releaseLease(id),
    isResult: isBoolean,
  }),
  /**
   * "Debug Next Request": the next PHP request (or the next whose path matches
   * the glob) runs with Xdebug's trigger. Fails with the engine's
   * `DebuggerUnavailableError` (option `xdebug`) when the pool has no
   * debugger, and with a RangeError for a glob that does not compile.
   */
  armDebugger: action({
    args: [pathPattern],
    run: (engine, pattern): ArmedTrigger => {
      const armed = engine.pool.debugger.arm(pattern);
      return { pattern: armed.pattern, since: armed.since };
    },
    isResult: isArmedTrigger,
  }),
  /** "Stop Debugging Requests": disarms, and ends every debug session (the requests run on). */
  stopDebugging: action({
    args: [],
    run: (engine): DebugStopped => {
      const { disarmed, sessionsEnded } = engine.pool.debugger.stopDebugging();
      return { disarmed, sessionsEnded };
    },
    isResult: isDebugStopped,
  }),
  /** Show Stack: reads a worker's PHP stack and wait reason now; null when it serves no lease. */
  readStack: action({
    args: [workerId],
    run: (engine, id) => engine.pool.stacks.readWorker(id),
    isResult: (value: unknown): value is LeaseStack | null => isNull(value) || isLeaseStack(value),
  }),
  /**
   * Live reload: files of the served folder changed (paths relative to it,
   * or absolute). The engine coalesces them into one reload. False when
   * the pool runs without live reload (nothing was done).
   */
  liveReloadChanged: action({
    args: [changedFiles],
    run: (engine, files) => {
      const live = engine.gateway.liveReload;
      live?.changed(files);
      return live !== null;
    },
    isResult: isBoolean,
  }),
};

export type EngineActions = typeof ENGINE_ACTIONS;
export type EngineActionName = keyof EngineActions;
type AnyAction = EngineAction<readonly ArgSpec<unknown>[], unknown>;
export type EngineActionArgs<K extends EngineActionName> = EngineActions[K] extends EngineAction<infer S, infer _R> ? ArgsOf<S> : never;
export type EngineActionResult<K extends EngineActionName> = EngineActions[K] extends EngineAction<infer _S, infer R> ? R : never;

/** The table as methods: what a threaded pool handle offers, each answered over the channel. */
export type EngineActionMethods = { readonly [K in EngineActionName]: (...args: EngineActionArgs<K>) => Promise<EngineActionResult<K>> };

export function isEngineActionName(value: unknown): value is EngineActionName {
  return typeof value === 'string' && Object.hasOwn(ENGINE_ACTIONS, value);
}

/**
 * Runs one call in the engine: checks its arguments, then runs it. Throws
 * (or rejects) with the reason when the arguments do not parse or the
 * action fails; the thread turns that into a failed reply.
 */
export async function runEngineAction(engine: PoolServer, name: EngineActionName, args: readonly unknown[]): Promise<unknown> {
  const parsed = checkEngineActionArgs(name, args);
  if (!parsed.ok) throw new TypeError(`${name}: ${parsed.error}`);
  return (ENGINE_ACTIONS[name] as unknown as AnyAction).run(engine, ...parsed.value);
}

/** Checks an action's arguments against its specs: exactly as many, each passing its check. */
export function checkEngineActionArgs(name: EngineActionName, args: readonly unknown[]): Checked<unknown[]> {
  // Each entry is typed on its own; through the union of names only the shared shape is known.
  const entry = ENGINE_ACTIONS[name] as unknown as AnyAction;
  return argsOf(...entry.args)(args);
}

/** Checks an action's result on the main thread. */
export function checkEngineActionResult<K extends EngineActionName>(name: K, value: unknown): Checked<EngineActionResult<K>> {
  const entry = ENGINE_ACTIONS[name] as unknown as AnyAction;
  return entry.isResult(value)
    ? { ok: true, value: value as EngineActionResult<K> }
    : { ok: false, error: `${name}: the engine answered ${typeof value}, not the action's result` };
}
