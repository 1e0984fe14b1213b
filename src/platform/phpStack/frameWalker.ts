import type { PhpLayout } from './layoutTypes';
import { MemoryReadError, hex, pointerAt, type MemoryReader } from './processMemory';
import type { PhpStackFrame } from '../../shared/stackTypes';

/**
 * Walks a PHP 8 engine's call stack in another process's memory, the way
 * PHP-FPM's slowlog and phpspy do: EG(current_execute_data), then each
 * frame's prev_execute_data, reading func (name, scope class, op_array
 * filename) and opline->lineno. The memory may be changing or simply not be
 * what the table expects, so everything read is checked: pointers must be
 * plausible, strings must carry IS_STRING in their GC header and a sane
 * length, frames may not repeat, and at most `maxFrames` are read. Any
 * surprise is a {@link MemoryReadError}; the walk never loops or hangs.
 */

/** Limits for one walk. */
export interface WalkOptions {
  maxFrames: number;
}

/** The result of one walk: frames innermost first. */
export interface WalkResult {
  frames: PhpStackFrame[];
  truncated: boolean;
}

/** Strings longer than this are shown cut, with `…`. */
const MAX_SHOWN_STRING = 4096;
/** A length above this is garbage, not a PHP name or path. */
const MAX_PLAUSIBLE_STRING = 1024 * 1024;
/** Bytes fetched with a string's header in one read (most names and paths fit). */
const STRING_PREFETCH = 160;
/** GC type bits of a zend_string's type_info. */
const GC_TYPE_MASK = 0xf;
/** Line numbers beyond this mean the opline pointer is stale or wrong. */
const MAX_PLAUSIBLE_LINE = 100_000_000;

interface RawFrame {
  address: number;
  internal: boolean;
  name: string | null;
  className: string | null;
  thisIsObject: boolean;
  file: string | null;
  line: number | null;
  opcode: number | null;
  extendedValue: number | null;
}

/** Walks the stack whose executor_globals lie at `executorGlobals` (run-time address). */
export function walkPhpStack(memory: MemoryReader, layout: PhpLayout, executorGlobals: number, options: WalkOptions): WalkResult {
  const walker = new Walker(memory, layout);
  const { offsets } = layout;
  let address = walker.pointer(executorGlobals + offsets.egCurrentExecuteData, 'EG(current_execute_data)');
  const raw: RawFrame[] = [];
  const seen = new Set<number>();
  while (address !== 0 && raw.length < options.maxFrames) {
    if (seen.has(address)) throw new MemoryReadError(`frame ${raw.length}: the chain of frames loops back to ${hex(address)}`);
    seen.add(address);
    const { frame, prev } = walker.frame(address, raw.length);
    if (frame) raw.push(frame);
    address = prev;
  }
  return { frames: raw.map((frame, index) => named(frame, raw[index + 1], layout)), truncated: address !== 0 };
}

class Walker {
  /** Strings by address within this one walk: recursion repeats names and files. */
  private readonly strings = new Map<number, string>();

  constructor(
    private readonly memory: MemoryReader,
    private readonly layout: PhpLayout,
  ) {}

  pointer(address: number, what: string): number {
    return pointerAt(this.memory.read(address, 8, what), 0, what);
  }

  frame(address: number, index: number): { frame: RawFrame | null; prev: number } {
    const { offsets, constants } = this.layout;
    const where = `frame ${index} at ${hex(address)}`;
    aligned(address, 8, where);
    const data = this.memory.read(address, offsets.exSize, where);
    const func = pointerAt(data, offsets.exFunc, `${where}: func`);
    const prev = pointerAt(data, offsets.exPrevExecuteData, `${where}: prev_execute_data`);
    // A frame without a function is the engine's own bookkeeping: skip it, keep walking.
    if (func === 0) return { frame: null, prev };
    aligned(func, 8, `${where}: func`);

    const fn = this.readFunction(func, `${where}: function`);
    const type = fn[offsets.fnType] as number;
    const internal = type === constants.internalFunction;
    if (!internal && type !== constants.userFunction && type !== constants.evalCode) {
      throw new MemoryReadError(`${where}: function type ${type} is none of PHP's (the layout table does not fit this PHP)`);
    }
    const namePointer = pointerAt(fn, offsets.fnFunctionName, `${where}: function name`);
    const scope = pointerAt(fn, offsets.fnScope, `${where}: scope`);
    const frame: RawFrame = {
      address,
      internal,
      name: namePointer === 0 ? null : this.string(namePointer, `${where}: function name`),
      className: scope === 0 ? null : this.className(scope, `${where}: class`),
      thisIsObject: (data[offsets.exThisTypeInfo] as number) === constants.isObject,
      file: null,
      line: null,
      opcode: null,
      extendedValue: null,
    };
    if (!internal) {
      const filename = pointerAt(fn, offsets.fnFilename, `${where}: filename`);
      frame.file = filename === 0 ? null : this.string(filename, `${where}: filename`);
      const opline = pointerAt(data, offsets.exOpline, `${where}: opline`);
      if (opline !== 0) this.readOpline(frame, opline, `${where}: opline`);
    }
    return { frame, prev };
  }

  /**
   * Fetches the zend_function up to op_array.filename in one read. An
   * internal function's struct is shorter; should that read cross the end of
   * a mapping, the common part (type, name, scope) is enough for it.
   */
  private readFunction(func: number, what: string): Buffer {
    const { offsets } = this.layout;
    try {
      return this.memory.read(func, offsets.fnFilename + 8, what);
    } catch (error) {
      if (!(error instanceof MemoryReadError)) throw error;
      const common = this.memory.read(func, Math.max(offsets.fnType + 1, offsets.fnFunctionName + 8, offsets.fnScope + 8), what);
      const padded = Buffer.alloc(offsets.fnFilename + 8);
      common.copy(padded);
      return padded;
    }
  }

  private readOpline(frame: RawFrame, opline: number, what: string): void {
    const { offsets } = this.layout;
    aligned(opline, 4, what);
    const size = Math.max(offsets.opLineno + 4, offsets.opOpcode + 1, offsets.opExtendedValue + 4);
    const op = this.memory.read(opline, size, what);
    const line = op.readUInt32LE(offsets.opLineno);
    if (line > MAX_PLAUSIBLE_LINE) throw new MemoryReadError(`${what}: line ${line} is not plausible`);
    frame.line = line;
    frame.opcode = op[offsets.opOpcode] as number;
    frame.extendedValue = op.readUInt32LE(offsets.opExtendedValue);
  }

  private className(classEntry: number, what: string): string {
    aligned(classEntry, 8, what);
    const name = this.pointer(classEntry + this.layout.offsets.ceName, what);
    if (name === 0) throw new MemoryReadError(`${what}: the class has no name`);
    return this.string(name, what);
  }

  /**
   * A zend_string's header with the first bytes of its text in one read; a
   * string that ends near the end of its mapping gets the header alone (its
   * text is then read at its exact length).
   */
  private readStringHead(address: number, what: string): Buffer {
    const { offsets } = this.layout;
    try {
      return this.memory.read(address, offsets.strVal + STRING_PREFETCH, what);
    } catch (error) {
      if (!(error instanceof MemoryReadError)) throw error;
      return this.memory.read(address, offsets.strVal, what);
    }
  }

  /** A zend_string's text, checked to be one. */
  string(address: number, what: string): string {
    const cached = this.strings.get(address);
    if (cached !== undefined) return cached;
    const { offsets, constants } = this.layout;
    aligned(address, 8, what);
    const head = this.readStringHead(address, what);
    const typeInfo = head.readUInt32LE(offsets.strTypeInfo);
    if ((typeInfo & GC_TYPE_MASK) !== constants.isString) {
      throw new MemoryReadError(`${what}: ${hex(address)} is not a PHP string (type ${typeInfo & GC_TYPE_MASK})`);
    }
    const length = Number(head.readBigUInt64LE(offsets.strLen));
    if (length > MAX_PLAUSIBLE_STRING) throw new MemoryReadError(`${what}: string length ${length} is not plausible`);
    const shown = Math.min(length, MAX_SHOWN_STRING);
    const bytes =
      offsets.strVal + shown <= head.length ? head.subarray(offsets.strVal, offsets.strVal + shown) : this.memory.read(address + offsets.strVal, shown, what);
    const text = bytes.toString('utf8') + (shown < length ? '…' : '');
    this.strings.set(address, text);
    return text;
  }
}

function aligned(address: number, alignment: number, what: string): void {
  if (address % alignment !== 0) throw new MemoryReadError(`${what}: ${hex(address)} is not ${alignment}-byte aligned`);
}

/**
 * Names a frame the way PHP's backtraces do. A user frame without a function
 * name runs a file's top-level code: the script's `{main}` when nothing
 * called it, else the `include`/`require`/`eval` its caller is executing.
 */
function named(frame: RawFrame, caller: RawFrame | undefined, layout: PhpLayout): PhpStackFrame {
  let name = frame.name;
  if (name === null) name = frame.internal ? '{internal}' : topLevelName(caller, layout);
  return {
    function: name,
    class: frame.className,
    type: frame.className === null ? null : frame.thisIsObject ? '->' : '::',
    file: frame.file,
    line: frame.line,
    internal: frame.internal,
    address: hex(frame.address),
  };
}

function topLevelName(caller: RawFrame | undefined, layout: PhpLayout): string {
  const { constants } = layout;
  if (!caller) return '{main}';
  if (caller.opcode !== constants.includeOrEval) return '{main}';
  switch (caller.extendedValue) {
    case constants.evalKind:
      return 'eval';
    case constants.includeKind:
      return 'include';
    case constants.includeOnceKind:
      return 'include_once';
    case constants.requireKind:
      return 'require';
    case constants.requireOnceKind:
      return 'require_once';
    default:
      return '{main}';
  }
}
