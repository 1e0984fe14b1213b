/**
 * The `offsetof` probe behind the PHP layout tables in
 * src/platform/phpStack/layoutTables.ts: a small C file of our own that
 * includes a PHP version's Zend headers and turns every offset the stack
 * reader uses into a named constant. It is compiled to assembly only (`cc -S`)
 * and the constants are read out of the assembly text, so the same probe works
 * with a cross compiler for an architecture this machine cannot run.
 *
 * Used by test/unit/phpStack-layout.test.ts (the installed php8.2-dev headers)
 * and by scripts/derive-php-layout.mjs (any version's headers, any compiler).
 */
import { execFileSync } from 'node:child_process';
import type { PhpLayoutConstants, PhpLayoutOffsets } from '../../src/platform/phpStack/layoutTypes';

/** Each table key with the C expression that defines it. */
export const OFFSET_EXPRESSIONS: Readonly<Record<keyof PhpLayoutOffsets, string>> = {
  egCurrentExecuteData: 'offsetof(zend_executor_globals, current_execute_data)',
  exOpline: 'offsetof(zend_execute_data, opline)',
  exFunc: 'offsetof(zend_execute_data, func)',
  exThisTypeInfo: 'offsetof(zend_execute_data, This) + offsetof(zval, u1.type_info)',
  exPrevExecuteData: 'offsetof(zend_execute_data, prev_execute_data)',
  exSize: 'sizeof(zend_execute_data)',
  fnType: 'offsetof(zend_function, type)',
  fnFunctionName: 'offsetof(zend_function, common.function_name)',
  fnScope: 'offsetof(zend_function, common.scope)',
  fnFilename: 'offsetof(zend_function, op_array.filename)',
  ceName: 'offsetof(zend_class_entry, name)',
  strTypeInfo: 'offsetof(zend_string, gc.u.type_info)',
  strLen: 'offsetof(zend_string, len)',
  strVal: 'offsetof(zend_string, val)',
  opExtendedValue: 'offsetof(zend_op, extended_value)',
  opLineno: 'offsetof(zend_op, lineno)',
  opOpcode: 'offsetof(zend_op, opcode)',
};

export const CONSTANT_EXPRESSIONS: Readonly<Record<keyof PhpLayoutConstants, string>> = {
  apiNo: 'ZEND_MODULE_API_NO',
  internalFunction: 'ZEND_INTERNAL_FUNCTION',
  userFunction: 'ZEND_USER_FUNCTION',
  evalCode: 'ZEND_EVAL_CODE',
  isObject: 'IS_OBJECT',
  isString: 'IS_STRING',
  includeOrEval: 'ZEND_INCLUDE_OR_EVAL',
  evalKind: 'ZEND_EVAL',
  includeKind: 'ZEND_INCLUDE',
  includeOnceKind: 'ZEND_INCLUDE_ONCE',
  requireKind: 'ZEND_REQUIRE',
  requireOnceKind: 'ZEND_REQUIRE_ONCE',
};

/**
 * Not part of a table: `sizeof(zend_executor_globals)` grows within a minor
 * version (8.2.36 has 24 bytes more than 8.2.32) and with configure options,
 * but for one build it must equal the binary's `executor_globals` symbol size.
 */
const EXECUTOR_GLOBALS_SIZE = 'sizeof(zend_executor_globals)';

const PREFIX = 'fcgipool_probe_';

/** The probe's C source: one `const unsigned long long` per key. */
export function probeSource(): string {
  const lines = [
    '#define _GNU_SOURCE 1',
    '#include <stddef.h>',
    '#include "zend.h"',
    '#include "zend_globals.h"',
    '#include "zend_compile.h"',
    '#include "zend_modules.h"',
    '#include "zend_vm_opcodes.h"',
  ];
  for (const [key, expression] of [...Object.entries(OFFSET_EXPRESSIONS), ...Object.entries(CONSTANT_EXPRESSIONS)]) {
    lines.push(`const unsigned long long ${PREFIX}${key} = (unsigned long long)(${expression});`);
  }
  lines.push(`const unsigned long long ${PREFIX}executorGlobalsSize = (unsigned long long)(${EXECUTOR_GLOBALS_SIZE});`);
  return lines.join('\n') + '\n';
}

/** What {@link compileProbe} read back. */
export interface ProbeResult {
  offsets: PhpLayoutOffsets;
  constants: PhpLayoutConstants;
  /** `sizeof(zend_executor_globals)` for exactly these headers and configuration. */
  executorGlobalsSize: number;
}

/**
 * Compiles the probe to assembly with `compiler` against `includeDirs` and
 * reads the constants back. Throws with the compiler's message on failure.
 */
export function compileProbe(compiler: string, includeDirs: readonly string[], extraArgs: readonly string[] = []): ProbeResult {
  const args = ['-S', '-O0', '-w', ...extraArgs, ...includeDirs.map((dir) => `-I${dir}`), '-x', 'c', '-', '-o', '-'];
  const assembly = execFileSync(compiler, args, { input: probeSource(), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  const values = parseProbeAssembly(assembly);
  const pick = <K extends string>(keys: readonly K[]): Record<K, number> => {
    const out = {} as Record<K, number>;
    for (const key of keys) {
      const value = values.get(key);
      if (value === undefined) throw new Error(`probe constant ${key} not found in the compiler's assembly`);
      out[key] = value;
    }
    return out;
  };
  return {
    offsets: pick(Object.keys(OFFSET_EXPRESSIONS) as Array<keyof PhpLayoutOffsets>),
    constants: pick(Object.keys(CONSTANT_EXPRESSIONS) as Array<keyof PhpLayoutConstants>),
    executorGlobalsSize: pick(['executorGlobalsSize'] as const).executorGlobalsSize,
  };
}

/**
 * GCC prints each 8-byte constant as its label followed by one data
 * directive: `.quad N` on x86_64, `.xword N` on aarch64 (`.8byte N`
 * elsewhere), and `.zero 8` for a constant that is 0.
 */
export function parseProbeAssembly(assembly: string): Map<string, number> {
  const values = new Map<string, number>();
  const pattern = new RegExp(`^${PREFIX}(\\w+):\\s*\\n\\s*\\.(quad|xword|8byte|dword|zero)\\s+(\\d+)\\s*$`, 'gm');
  for (const match of assembly.matchAll(pattern)) {
    const [, key, directive, number] = match as unknown as [string, string, string, string];
    values.set(key, directive === 'zero' ? 0 : Number(number));
  }
  return values;
}
