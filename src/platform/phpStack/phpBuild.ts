import { ELF_MACHINE, type ElfImage } from './elf';
import { findLayout, knownMinorVersions } from './layoutTables';
import type { PhpLayout, PhpStackArch } from './layoutTypes';

/**
 * Which PHP build a worker runs, read from its executable alone: nothing is
 * started (no `php-cgi -v`), and a binary replaced on disk since the worker
 * started is still read correctly through /proc/PID/exe.
 *
 * - The ABI: every PHP binary carries ZEND_MODULE_BUILD_ID, e.g.
 *   `API20220829,NTS` (`,debug` for debug builds, `TS` for thread-safe ones),
 *   in its read-only data: built-in modules record it in their module
 *   entries. Its API number names the minor version's ABI exactly, which is
 *   what decides the struct layout; it picks the table.
 * - The version for messages: `X-Powered-By: PHP/8.2.36`, which PHP builds
 *   into the binary as one literal.
 * - Thread safety also shows in the symbols: NTS exports `executor_globals`,
 *   ZTS only `executor_globals_offset`.
 */

/** The symbols the reader looks up in the worker's executable. */
export const PHP_SYMBOLS = ['executor_globals', 'executor_globals_offset', 'sapi_globals'] as const;

/** A PHP build as far as the stack reader cares. */
export interface PhpBuild {
  /** `8.2.36`, or null when the binary does not say. */
  version: string | null;
  /** ZEND_MODULE_API_NO, e.g. 20220829. */
  apiNo: number;
  arch: PhpStackArch;
  /** Link-time address and size of `executor_globals`. */
  executorGlobals: { value: number; size: number };
}

/** A build we can read, with its table; or the one-line reason we cannot. */
export type BuildVerdict = { ok: true; build: PhpBuild; layout: PhpLayout } | { ok: false; reason: string };

const BUILD_ID = /^API(\d{8}),(NTS|TS)(,debug)?$/;
const POWERED_BY = /^X-Powered-By: PHP\/(\d+\.\d+\.\d+\S{0,32})$/;

/** Names the executable's build and picks its layout table. */
export function identifyPhpBuild(image: ElfImage, path: string): BuildVerdict {
  const arch = archOf(image.machine);
  if (!arch) {
    return { ok: false, reason: `no PHP layout tables for this CPU (ELF machine ${image.machine}); tables exist for x86_64 and aarch64` };
  }
  const executorGlobals = image.symbols.get('executor_globals');
  const threadSafeSymbols = !executorGlobals && image.symbols.has('executor_globals_offset');
  if (!executorGlobals && !threadSafeSymbols) {
    return { ok: false, reason: `${path} exports no executor_globals symbol: not a PHP binary, or one without dynamic symbols` };
  }
  const rodata = image.rodata ?? Buffer.alloc(0);
  const version = findString(rodata, 'X-Powered-By: PHP/', POWERED_BY)?.[1] ?? null;
  const named = version ? `PHP ${version}` : path;
  const buildId = findString(rodata, 'API', BUILD_ID);
  if (!buildId) return { ok: false, reason: `cannot tell which PHP version ${path} is (no ZEND_MODULE_BUILD_ID in its read-only data)` };
  const [, apiText, threadSafety, debug] = buildId as unknown as [string, string, string, string | undefined];
  const apiNo = Number(apiText);
  if (threadSafety === 'TS' || !executorGlobals) {
    return { ok: false, reason: `${named} is a thread-safe (ZTS) build; live stacks need an NTS php-cgi` };
  }
  if (debug) return { ok: false, reason: `${named} is a debug build, whose memory layout the tables do not cover` };
  const layout = findLayout(apiNo, arch);
  if (!layout) {
    return { ok: false, reason: `${named} (engine API ${apiNo}) has no layout table; tables exist for PHP ${knownMinorVersions().join(', ')}` };
  }
  if (version && !version.startsWith(`${layout.phpMinor}.`)) {
    return { ok: false, reason: `${path} says PHP ${version} but carries engine API ${apiNo} (PHP ${layout.phpMinor}): an unusual build` };
  }
  const { offsets } = layout;
  if (executorGlobals.size !== 0 && executorGlobals.size < offsets.egCurrentExecuteData + 8) {
    return { ok: false, reason: `${named}: executor_globals is only ${executorGlobals.size} bytes, too small for the PHP ${layout.phpMinor} table` };
  }
  return { ok: true, build: { version, apiNo, arch, executorGlobals }, layout };
}

/**
 * The first NUL-terminated string in `data` that starts with `prefix` and
 * matches `pattern` as a whole. indexOf over the buffer is ~20× faster than
 * decoding 400 KB of .rodata to a string for one regular expression.
 */
function findString(data: Buffer, prefix: string, pattern: RegExp): RegExpExecArray | null {
  const needle = Buffer.from(prefix, 'latin1');
  for (let at = data.indexOf(needle); at >= 0; at = data.indexOf(needle, at + 1)) {
    const end = data.indexOf(0, at);
    if (end < 0) return null;
    if (end - at > 128) continue;
    const match = pattern.exec(data.toString('latin1', at, end));
    if (match) return match;
  }
  return null;
}

function archOf(machine: number): PhpStackArch | null {
  if (machine === ELF_MACHINE.x86_64) return 'x86_64';
  if (machine === ELF_MACHINE.aarch64) return 'aarch64';
  return null;
}
