/**
 * The lease history (a ring of 1 000 finished leases) as it crosses the
 * engine channel. It is most of a snapshot's weight: as objects, 240 KB
 * whose structured-clone decode cost the main thread ~1 ms per update on
 * the 2-core VM (more under load). So each update carries only the entries
 * added since the previous one — none when the app is idle, a handful while
 * a developer clicks — and in columns (typed arrays and a string table),
 * which decode ~10× faster than objects when a load test turns the whole
 * ring over between two updates. The main thread keeps the ring and
 * appends. Measurements: bench/hostBlock.mjs and docs/engine-thread.md.
 */
import type { LeaseHistoryEntry } from '../pool/types';

/** The text fields, each an index into the string table. */
const TEXT_FIELDS = ['id', 'workerId', 'method', 'uri', 'scriptFilename', 'clientAddress'] as const;
/** The times, epoch ms. */
const TIME_FIELDS = ['queuedAt', 'acquiredAt', 'firstByteAt', 'releasedAt'] as const;
const OUTCOMES = ['ok', 'client-abort', 'worker-died', 'timeout', 'leaked', 'error'] as const satisfies readonly LeaseHistoryEntry['outcome'][];

/** Compile-time: every field of an entry has its column (a new field fails here until the codec carries it). */
type Carried = (typeof TEXT_FIELDS)[number] | (typeof TIME_FIELDS)[number] | 'pid' | 'outcome';
const everyFieldIsCarried: [Exclude<keyof LeaseHistoryEntry, Carried>] extends [never] ? true : never = true;
void everyFieldIsCarried;

/** Entries in columns. */
export interface HistoryColumns {
  readonly count: number;
  readonly strings: readonly string[];
  /** `count × TEXT_FIELDS.length` indices into `strings`. */
  readonly text: Int32Array;
  /** `count × TIME_FIELDS.length` times. */
  readonly times: Float64Array;
  /** -1 for none. */
  readonly pids: Int32Array;
  /** Indices into the outcomes. */
  readonly outcomes: Uint8Array;
}

/** The history of one snapshot: keep the last `total - added.count` entries the main thread has (`reset`: none), then append. */
export interface WireHistory {
  readonly reset: boolean;
  /** How many entries the snapshot's history holds. */
  readonly total: number;
  readonly added: HistoryColumns;
}

function toColumns(entries: readonly LeaseHistoryEntry[]): HistoryColumns {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const intern = (value: string): number => {
    let at = index.get(value);
    if (at === undefined) {
      at = strings.length;
      strings.push(value);
      index.set(value, at);
    }
    return at;
  };
  const count = entries.length;
  const text = new Int32Array(count * TEXT_FIELDS.length);
  const times = new Float64Array(count * TIME_FIELDS.length);
  const pids = new Int32Array(count);
  const outcomes = new Uint8Array(count);
  entries.forEach((entry, i) => {
    TEXT_FIELDS.forEach((field, f) => (text[i * TEXT_FIELDS.length + f] = intern(entry[field])));
    TIME_FIELDS.forEach((field, f) => (times[i * TIME_FIELDS.length + f] = entry[field]));
    pids[i] = entry.pid ?? -1;
    outcomes[i] = OUTCOMES.indexOf(entry.outcome);
  });
  return { count, strings, text, times, pids, outcomes };
}

function fromColumns(columns: HistoryColumns): LeaseHistoryEntry[] {
  const { count, strings, text, times, pids, outcomes } = columns;
  if (text.length !== count * TEXT_FIELDS.length || times.length !== count * TIME_FIELDS.length || pids.length !== count || outcomes.length !== count) {
    throw new TypeError('history columns of unequal lengths');
  }
  const entries: LeaseHistoryEntry[] = new Array(count);
  const str = (at: number): string => {
    const value = strings[text[at] as number];
    if (value === undefined) throw new TypeError('history text index out of range');
    return value;
  };
  for (let i = 0; i < count; i++) {
    const t = i * TEXT_FIELDS.length;
    const m = i * TIME_FIELDS.length;
    const outcome = OUTCOMES[outcomes[i] as number];
    if (outcome === undefined) throw new TypeError('history outcome out of range');
    const pid = pids[i] as number;
    entries[i] = {
      id: str(t),
      workerId: str(t + 1),
      pid: pid < 0 ? null : pid,
      method: str(t + 2),
      uri: str(t + 3),
      scriptFilename: str(t + 4),
      clientAddress: str(t + 5),
      queuedAt: times[m] as number,
      acquiredAt: times[m + 1] as number,
      firstByteAt: times[m + 2] as number,
      releasedAt: times[m + 3] as number,
      outcome,
    };
  }
  return entries;
}

/**
 * The thread's side: remembers the last entry it sent (entries are the
 * pool's own immutable objects, so identity tells them apart) and encodes
 * only what came after it.
 */
export class HistoryEncoder {
  private last: LeaseHistoryEntry | null = null;

  encode(history: readonly LeaseHistoryEntry[]): WireHistory {
    const from = this.last === null ? -1 : history.lastIndexOf(this.last);
    // The last entry sent has left the ring (or nothing was sent yet): start over.
    const reset = from < 0;
    const added = history.slice(reset ? 0 : from + 1);
    if (history.length > 0) this.last = history[history.length - 1] as LeaseHistoryEntry;
    return { reset, total: history.length, added: toColumns(added) };
  }
}

/** The main thread's side: the ring as the thread has it, rebuilt from what each update adds. */
export class HistoryDecoder {
  private entries: LeaseHistoryEntry[] = [];

  /** The snapshot's history (a new array; the entries are shared with earlier snapshots, as in-process). */
  decode(wire: WireHistory): readonly LeaseHistoryEntry[] {
    const added = fromColumns(wire.added);
    const kept = wire.reset ? [] : this.entries.slice(Math.max(0, this.entries.length - (wire.total - added.length)));
    if (kept.length + added.length !== wire.total) throw new TypeError(`history of ${wire.total} entries from ${kept.length} kept and ${added.length} added`);
    this.entries = kept.concat(added);
    return this.entries;
  }
}

/** Whether a value has the shape of a wire history (the decoder checks the rest). */
export function isWireHistory(value: unknown): value is WireHistory {
  if (typeof value !== 'object' || value === null) return false;
  const wire = value as Partial<WireHistory>;
  const added = wire.added as Partial<HistoryColumns> | undefined;
  return (
    typeof wire.reset === 'boolean' &&
    typeof wire.total === 'number' &&
    Number.isSafeInteger(wire.total) &&
    wire.total >= 0 &&
    typeof added === 'object' &&
    added !== null &&
    typeof added.count === 'number' &&
    Array.isArray(added.strings) &&
    added.text instanceof Int32Array &&
    added.times instanceof Float64Array &&
    added.pids instanceof Int32Array &&
    added.outcomes instanceof Uint8Array
  );
}
