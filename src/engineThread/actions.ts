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
import type { PoolServer } from '../gateway/poolServer';
import { argsOf, isBoolean, isId, oneOf, type ArgSpec, type ArgsOf, type Checked } from './validate';

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
