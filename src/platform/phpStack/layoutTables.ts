import type { PhpLayout, PhpLayoutConstants, PhpLayoutOffsets, PhpStackArch } from './layoutTypes';

/*
 * The PHP layout tables: PHP 8.1, 8.2, 8.3 and 8.4, NTS, non-debug, Linux,
 * x86_64 and aarch64.
 *
 * Every number below was printed by our `offsetof` probe
 * (test/support/phpLayoutProbe.ts, run by scripts/derive-php-layout.mjs)
 * compiled against that version's own headers. docs/php-stack-layouts.md
 * lists each header set, compiler and cross-check; in short:
 *
 *  - 8.1: php-src tags php-8.1.0 and php-8.1.15, and the PHP-8.1 branch at
 *    8.1.29-dev; configured with Debian's 8.2 php_config.h (x86_64 / arm64).
 *  - 8.2: Debian 12's php8.2-dev 8.2.36 (amd64, installed; checked on every
 *    `npm test` by test/unit/phpStack-layout.test.ts) and 8.2.32 (arm64),
 *    php-src tag php-8.2.0 and the PHP-8.2 branch at 8.2.19-dev.
 *  - 8.3: the PHP-8.3 branch of php-src at 8.3.6-dev; configured with
 *    Debian's 8.2 php_config.h (x86_64 / arm64).
 *  - 8.4: Debian 13's php8.4-dev 8.4.27 (amd64 and arm64, each with its own
 *    php_config.h).
 *  - aarch64: the same probe compiled (never run) with aarch64-linux-gnu-gcc
 *    12.2, the constants read from its assembly. Every aarch64 number equals
 *    its x86_64 number: both are LP64 and these structures hold only
 *    pointers, 32-bit integers and bytes.
 *  - Cross-checks: sizeof(zend_executor_globals) from the probe equals the
 *    size of the `executor_globals` symbol in Debian's php-cgi 8.2.36
 *    (amd64, 1800), 8.2.32 (arm64, 1776) and 8.4.27 (amd64 and arm64, 1984);
 *    and 8.4's headers probed with 8.2's php_config.h give the same offsets
 *    (only fields after current_execute_data move with the configuration).
 *
 * Within a minor version PHP keeps its ABI, and the probe found the same
 * offsets at the .0 tag and at the branch's later point for 8.1 and 8.2.
 * The only number that moves between 8.1 and 8.4 is op_array.filename.
 */

/** Offsets every table shares (identical from 8.1 to 8.4 on both architectures). */
const COMMON_OFFSETS: Omit<PhpLayoutOffsets, 'fnFilename'> = {
  egCurrentExecuteData: 488,
  exOpline: 0,
  exFunc: 24,
  exThisTypeInfo: 40,
  exPrevExecuteData: 48,
  exSize: 80,
  fnType: 0,
  fnFunctionName: 8,
  fnScope: 16,
  ceName: 8,
  strTypeInfo: 4,
  strLen: 16,
  strVal: 24,
  opExtendedValue: 20,
  opLineno: 24,
  opOpcode: 28,
};

/** Engine constants, identical in 8.1 … 8.4 (apiNo is set per version). */
const COMMON_CONSTANTS: Omit<PhpLayoutConstants, 'apiNo'> = {
  internalFunction: 1,
  userFunction: 2,
  evalCode: 4,
  isObject: 8,
  isString: 6,
  includeOrEval: 73,
  evalKind: 1,
  includeKind: 2,
  includeOnceKind: 4,
  requireKind: 8,
  requireOnceKind: 16,
};

/** Per minor version: its ZEND_MODULE_API_NO and where op_array.filename sits. */
const VERSIONS: ReadonlyArray<{ phpMinor: string; apiNo: number; fnFilename: number }> = [
  { phpMinor: '8.1', apiNo: 20210902, fnFilename: 144 },
  { phpMinor: '8.2', apiNo: 20220829, fnFilename: 152 },
  { phpMinor: '8.3', apiNo: 20230831, fnFilename: 144 },
  { phpMinor: '8.4', apiNo: 20240924, fnFilename: 168 },
];

const ARCHES: readonly PhpStackArch[] = ['x86_64', 'aarch64'];

/** Every table we have. */
export const PHP_LAYOUTS: readonly PhpLayout[] = VERSIONS.flatMap((version) =>
  ARCHES.map((arch) => ({
    phpMinor: version.phpMinor,
    arch,
    offsets: { ...COMMON_OFFSETS, fnFilename: version.fnFilename },
    constants: { ...COMMON_CONSTANTS, apiNo: version.apiNo },
  })),
);

/** The table for a build's ZEND_MODULE_API_NO on an architecture, if we have one. */
export function findLayout(apiNo: number, arch: PhpStackArch): PhpLayout | undefined {
  return PHP_LAYOUTS.find((layout) => layout.constants.apiNo === apiNo && layout.arch === arch);
}

/** The minor versions with tables, for messages ("tables exist for PHP 8.1–8.4"). */
export function knownMinorVersions(): string[] {
  return VERSIONS.map((version) => version.phpMinor);
}
