/**
 * The frame walker against memory images built here with the PHP 8.2
 * table: what real php-cgi cannot be made to show on purpose (loops,
 * unmapped pointers, strings that are not strings, 70-frame chains) and the
 * naming rules (include/require/eval, `->` vs `::`). The same walker reads
 * real workers in test/integration/phpStack.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { walkPhpStack } from '../../src/platform/phpStack/frameWalker';
import { findLayout } from '../../src/platform/phpStack/layoutTables';
import type { PhpLayout } from '../../src/platform/phpStack/layoutTypes';
import { MemoryReadError, checkRange, type MemoryReader } from '../../src/platform/phpStack/processMemory';

const layout = findLayout(20220829, 'x86_64') as PhpLayout;
const { offsets: o, constants: c } = layout;

/** A sparse address space: regions of bytes; anything else is unmapped. */
class FakeMemory implements MemoryReader {
  private readonly regions: Array<{ start: number; bytes: Buffer }> = [];
  private next = 0x7f0000000000;
  reads = 0;

  /** Maps `size` zeroed bytes (8-aligned, with an unmapped gap after each region) and returns the address. */
  alloc(size: number): number {
    const start = this.next;
    this.regions.push({ start, bytes: Buffer.alloc(size) });
    this.next += Math.ceil((size + 4096) / 4096) * 4096;
    return start;
  }

  read(address: number, length: number, what: string): Buffer {
    checkRange(address, length, what);
    this.reads++;
    const region = this.regions.find((r) => address >= r.start && address + length <= r.start + r.bytes.length);
    if (!region) throw new MemoryReadError(`${what}: address 0x${address.toString(16)} is not mapped`);
    return Buffer.from(region.bytes.subarray(address - region.start, address - region.start + length));
  }

  private bytesAt(address: number): { bytes: Buffer; offset: number } {
    const region = this.regions.find((r) => address >= r.start && address < r.start + r.bytes.length);
    if (!region) throw new Error(`test bug: 0x${address.toString(16)} not allocated`);
    return { bytes: region.bytes, offset: address - region.start };
  }

  u8(address: number, value: number): void {
    const { bytes, offset } = this.bytesAt(address);
    bytes[offset] = value;
  }
  u32(address: number, value: number): void {
    const { bytes, offset } = this.bytesAt(address);
    bytes.writeUInt32LE(value, offset);
  }
  u64(address: number, value: number | bigint): void {
    const { bytes, offset } = this.bytesAt(address);
    bytes.writeBigUInt64LE(BigInt(value), offset);
  }

  /** A zend_string: GC type IS_STRING (interned flag set as PHP does), length, text. */
  string(text: string, options: { type?: number; length?: number } = {}): number {
    const bytes = Buffer.from(text, 'utf8');
    const address = this.alloc(o.strVal + bytes.length + 1);
    this.u32(address + o.strTypeInfo, (options.type ?? c.isString) | ((1 << 6) << 8));
    this.u64(address + o.strLen, options.length ?? bytes.length);
    bytes.copy(this.bytesAt(address + o.strVal).bytes, this.bytesAt(address + o.strVal).offset);
    return address;
  }

  classEntry(name: string): number {
    const address = this.alloc(64);
    this.u64(address + o.ceName, this.string(name));
    return address;
  }

  /** A zend_function; internal ones are allocated shorter than a user op_array, as in PHP. */
  func(options: { type: number; name?: string | null; scope?: number; file?: string; size?: number }): number {
    const address = this.alloc(options.size ?? o.fnFilename + 8);
    this.u8(address + o.fnType, options.type);
    if (options.name) this.u64(address + o.fnFunctionName, this.string(options.name));
    if (options.scope) this.u64(address + o.fnScope, options.scope);
    if (options.file) this.u64(address + o.fnFilename, this.string(options.file));
    return address;
  }

  opline(line: number, opcode = 0, extendedValue = 0): number {
    const address = this.alloc(32);
    this.u32(address + o.opLineno, line);
    this.u8(address + o.opOpcode, opcode);
    this.u32(address + o.opExtendedValue, extendedValue);
    return address;
  }

  frame(options: { func: number; opline?: number; prev?: number; thisType?: number }): number {
    const address = this.alloc(o.exSize);
    this.u64(address + o.exFunc, options.func);
    this.u64(address + o.exOpline, options.opline ?? 0);
    this.u64(address + o.exPrevExecuteData, options.prev ?? 0);
    this.u32(address + o.exThisTypeInfo, options.thisType ?? 0);
    return address;
  }

  /** executor_globals with current_execute_data = `top`. */
  globals(top: number): number {
    const address = this.alloc(o.egCurrentExecuteData + 8);
    this.u64(address + o.egCurrentExecuteData, top);
    return address;
  }
}

const walk = (memory: FakeMemory, eg: number, maxFrames = 64) => walkPhpStack(memory, layout, eg, { maxFrames });

describe('frame walker: names', () => {
  it('reads internal, instance-method and top-level frames innermost first', () => {
    const m = new FakeMemory();
    const repo = m.classEntry('Repo');
    const main = m.frame({ func: m.func({ type: c.userFunction, file: '/app/slow.php' }), opline: m.opline(9) });
    const query = m.frame({
      func: m.func({ type: c.userFunction, name: 'query', scope: repo, file: '/app/slow.php' }),
      opline: m.opline(3),
      prev: main,
      thisType: c.isObject | (1 << 16),
    });
    const usleep = m.frame({ func: m.func({ type: c.internalFunction, name: 'usleep', size: 48 }), prev: query });
    const { frames, truncated } = walk(m, m.globals(usleep));
    expect(truncated).toBe(false);
    expect(frames.map(({ address: _address, ...rest }) => rest)).toEqual([
      { function: 'usleep', class: null, type: null, file: null, line: null, internal: true },
      { function: 'query', class: 'Repo', type: '->', file: '/app/slow.php', line: 3, internal: false },
      { function: '{main}', class: null, type: null, file: '/app/slow.php', line: 9, internal: false },
    ]);
    expect(frames[0]?.address).toBe(`0x${usleep.toString(16).padStart(16, '0')}`);
  });

  it('writes static calls with :: and names top-level code by the include that runs it', () => {
    const m = new FakeMemory();
    const cases: Array<[number, string]> = [
      [c.requireKind, 'require'],
      [c.requireOnceKind, 'require_once'],
      [c.includeKind, 'include'],
      [c.includeOnceKind, 'include_once'],
      [c.evalKind, 'eval'],
    ];
    for (const [kind, name] of cases) {
      const main = m.frame({ func: m.func({ type: c.userFunction, file: '/app/index.php' }), opline: m.opline(2, c.includeOrEval, kind) });
      const included = m.frame({
        func: m.func({ type: kind === c.evalKind ? c.evalCode : c.userFunction, file: '/app/lib.php' }),
        opline: m.opline(7),
        prev: main,
      });
      const boot = m.frame({
        func: m.func({ type: c.userFunction, name: 'boot', scope: m.classEntry('Kernel'), file: '/app/lib.php' }),
        opline: m.opline(4),
        prev: included,
      });
      const frames = walk(m, m.globals(boot)).frames;
      expect(frames.map((f) => [f.class, f.type, f.function, f.line])).toEqual([
        ['Kernel', '::', 'boot', 4],
        [null, null, name, 7],
        [null, null, '{main}', 2],
      ]);
    }
  });

  it('skips the engine’s frames that carry no function', () => {
    const m = new FakeMemory();
    const main = m.frame({ func: m.func({ type: c.userFunction, file: '/a.php' }), opline: m.opline(1) });
    const empty = m.frame({ func: 0, prev: main });
    expect(walk(m, m.globals(empty)).frames.map((f) => f.function)).toEqual(['{main}']);
  });

  it('returns no frames while the worker runs no PHP (between requests)', () => {
    const m = new FakeMemory();
    expect(walk(m, m.globals(0))).toEqual({ frames: [], truncated: false });
  });

  it('reads an internal function that ends right before unmapped memory', () => {
    const m = new FakeMemory();
    // 24 bytes: type, name, scope; reading up to op_array.filename would cross into the gap.
    const fread = m.frame({ func: m.func({ type: c.internalFunction, name: 'fread', size: 24 }) });
    expect(walk(m, m.globals(fread)).frames[0]?.function).toBe('fread');
  });

  it('cuts a very long name with … instead of failing', () => {
    const m = new FakeMemory();
    const long = 'f'.repeat(5000);
    const top = m.frame({ func: m.func({ type: c.userFunction, name: long, file: '/a.php' }), opline: m.opline(1) });
    const name = walk(m, m.globals(top)).frames[0]?.function ?? '';
    expect(name.length).toBe(4097);
    expect(name.endsWith('…')).toBe(true);
  });
});

describe('frame walker: garbage', () => {
  function chain(m: FakeMemory, length: number): number {
    const func = m.func({ type: c.userFunction, name: 'level', file: '/deep.php' });
    const opline = m.opline(5);
    let prev = 0;
    for (let i = 0; i < length; i++) prev = m.frame({ func, opline, prev });
    return prev;
  }

  it('stops at 64 frames and says the stack was truncated', () => {
    const m = new FakeMemory();
    const result = walk(m, m.globals(chain(m, 70)));
    expect(result.frames).toHaveLength(64);
    expect(result.truncated).toBe(true);
    expect(walk(m, m.globals(chain(m, 64))).truncated).toBe(false);
  });

  it('reports a chain of frames that loops, after one turn', () => {
    const m = new FakeMemory();
    const func = m.func({ type: c.userFunction, name: 'a', file: '/a.php' });
    const first = m.frame({ func, opline: m.opline(1) });
    const second = m.frame({ func, opline: m.opline(2), prev: first });
    m.u64(first + o.exPrevExecuteData, second);
    expect(() => walk(m, m.globals(second))).toThrow(/loops back/);
  });

  it('reports an unmapped frame, function or string as a read error naming what it read', () => {
    const m = new FakeMemory();
    expect(() => walk(m, m.globals(0x7e0000000000))).toThrow(/frame 0 .*not mapped/);
    const badFunc = m.frame({ func: 0x7e0000001000 });
    expect(() => walk(m, m.globals(badFunc))).toThrow(/function.*not mapped/);
    const badName = m.func({ type: c.userFunction, file: '/a.php' });
    m.u64(badName + o.fnFunctionName, 0x7e0000002000);
    expect(() => walk(m, m.globals(m.frame({ func: badName })))).toThrow(/function name.*not mapped/);
  });

  it('rejects memory that is not a PHP string or has an implausible length', () => {
    const m = new FakeMemory();
    const notString = m.func({ type: c.userFunction, file: '/a.php' });
    m.u64(notString + o.fnFunctionName, m.string('x', { type: 7 }));
    expect(() => walk(m, m.globals(m.frame({ func: notString })))).toThrow(/not a PHP string/);
    const huge = m.func({ type: c.userFunction, file: '/a.php' });
    m.u64(huge + o.fnFunctionName, m.string('x', { length: 2 ** 40 }));
    expect(() => walk(m, m.globals(m.frame({ func: huge })))).toThrow(/length .* not plausible/);
  });

  it('rejects a function type PHP does not have (the table does not fit)', () => {
    const m = new FakeMemory();
    expect(() => walk(m, m.globals(m.frame({ func: m.func({ type: 9, name: 'x' }) })))).toThrow(/function type 9/);
  });

  it('rejects misaligned, null-page and beyond-user-space pointers before reading them', () => {
    const m = new FakeMemory();
    const before = m.reads;
    expect(() => walk(m, m.globals(0x7f0000000003))).toThrow(/aligned/);
    expect(() => walk(m, m.globals(0x10))).toThrow(/not a user-space address/);
    expect(() => walk(m, m.globals(2 ** 53))).toThrow(/not a user-space address/);
    // Only the three reads of EG(current_execute_data) happened.
    expect(m.reads - before).toBe(3);
  });

  it('rejects a line number no file has', () => {
    const m = new FakeMemory();
    const top = m.frame({ func: m.func({ type: c.userFunction, name: 'f', file: '/a.php' }), opline: m.opline(0xfffffff0) });
    expect(() => walk(m, m.globals(top))).toThrow(/line .* not plausible/);
  });
});
