/**
 * The checks the engine channel's parsers share (protocol.ts, actions.ts).
 * The same idioms as src/shared/dashboardProtocol.ts: an explicit result
 * instead of a throw, and extra fields refused rather than ignored.
 */
import type { LeaseStack } from '../shared/stackTypes';

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly these keys (the optional ones may be missing): extra fields are refused, not ignored. */
export function hasOnlyKeys(value: Record<string, unknown>, required: readonly string[], optional: readonly string[] = []): string | null {
  for (const key of required) if (!(key in value)) return `missing "${key}"`;
  for (const key of Object.keys(value)) if (!required.includes(key) && !optional.includes(key)) return `unexpected "${key}"`;
  return null;
}

/** One positional argument of an engine action: its name (for the error), its check, and what it should have been. */
export interface ArgSpec<T> {
  readonly name: string;
  readonly expected: string;
  readonly is: (value: unknown) => value is T;
}

/** The tuple of values a list of specs checks for. */
export type ArgsOf<S extends readonly ArgSpec<unknown>[]> = { -readonly [I in keyof S]: S[I] extends ArgSpec<infer T> ? T : never };

/**
 * A parser for an action's arguments, from one spec per position: exactly
 * that many arguments, each passing its check. The tuple type follows from
 * the specs, so an action's `run` is typed by its parser.
 */
export function argsOf<const S extends readonly ArgSpec<unknown>[]>(...specs: S): (args: readonly unknown[]) => Checked<ArgsOf<S>> {
  return (args) => {
    if (args.length !== specs.length)
      return fail(`expected ${specs.length} argument${specs.length === 1 ? '' : 's'} (${specs.map((s) => s.name).join(', ')}), got ${args.length}`);
    for (const [i, spec] of specs.entries()) {
      if (!spec.is(args[i])) return fail(`${spec.name} must be ${spec.expected}`);
    }
    return { ok: true, value: args as unknown as ArgsOf<S> };
  };
}

/** Worker and lease ids as the pool issues them (`w3`, `L812`); the same pattern as the dashboard's. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const isId = (value: unknown): value is string => typeof value === 'string' && ID_PATTERN.test(value);

export const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';

export function oneOf<const T extends string>(choices: readonly T[]): (value: unknown) => value is T {
  return (value): value is T => typeof value === 'string' && (choices as readonly string[]).includes(value);
}

export const isNull = (value: unknown): value is null => value === null;

const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

/**
 * A read of a busy worker's stack (`LeaseStack`), by its envelope: the ids
 * and times the main thread matches and sorts by, and the shape of the rest.
 * The frames themselves are the engine's own output and are not checked one
 * by one (up to 64 per read).
 */
export function isLeaseStack(value: unknown): value is LeaseStack {
  return (
    isRecord(value) &&
    isId(value.leaseId) &&
    isId(value.workerId) &&
    isInteger(value.pid) &&
    isInteger(value.sampledAt) &&
    (value.stack === null || Array.isArray(value.stack)) &&
    typeof value.truncated === 'boolean' &&
    (value.stackError === null || typeof value.stackError === 'string') &&
    (value.wait === null || isRecord(value.wait))
  );
}
