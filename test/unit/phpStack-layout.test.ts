/**
 * The PHP layout tables against the PHP headers on this machine: our
 * `offsetof` probe (test/support/phpLayoutProbe.ts) is compiled against the
 * installed php8.2-dev headers and every offset and constant of the
 * PHP 8.2 / x86_64 table must match, entry by entry. Also checked here: the
 * installed php-cgi's `executor_globals` symbol has the size those headers
 * give, and the table is the one the reader picks for that binary.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readElfImage } from '../../src/platform/phpStack/elf';
import { PHP_LAYOUTS, findLayout } from '../../src/platform/phpStack/layoutTables';
import { PHP_SYMBOLS, identifyPhpBuild } from '../../src/platform/phpStack/phpBuild';
import { compileProbe, parseProbeAssembly, probeSource } from '../support/phpLayoutProbe';
import { phpCgi } from '../support/helpers';

const HEADERS = process.env.PHP_STACK_HEADERS ?? '/usr/include/php/20220829';
const INCLUDES = [HEADERS, `${HEADERS}/main`, `${HEADERS}/Zend`, `${HEADERS}/TSRM`];

function findCompiler(): string | null {
  for (const candidate of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return null;
}

const compiler = findCompiler();
const headersPresent = existsSync(`${HEADERS}/Zend/zend_globals.h`) && existsSync(`${HEADERS}/main/php_config.h`);
const skipReason = !compiler
  ? 'no C compiler (cc, gcc or clang) on PATH'
  : !headersPresent
    ? `no PHP headers at ${HEADERS} (apt-get install php8.2-dev)`
    : null;
const onX86 = process.arch === 'x64';

describe('PHP layout tables', () => {
  it('has a table for every minor version 8.1 to 8.4 on x86_64 and aarch64, each found by its API number', () => {
    const keys = PHP_LAYOUTS.map((layout) => `${layout.phpMinor}/${layout.arch}`).sort();
    expect(keys).toEqual(['8.1/aarch64', '8.1/x86_64', '8.2/aarch64', '8.2/x86_64', '8.3/aarch64', '8.3/x86_64', '8.4/aarch64', '8.4/x86_64']);
    for (const layout of PHP_LAYOUTS) expect(findLayout(layout.constants.apiNo, layout.arch)).toBe(layout);
    expect(findLayout(20250925, 'x86_64')).toBeUndefined();
  });

  it('reads constants out of the probe assembly of either architecture', () => {
    const x86 = 'fcgipool_probe_exFunc:\n\t.quad\t24\n\t.globl\tfcgipool_probe_exOpline\nfcgipool_probe_exOpline:\n\t.zero\t8\n';
    const arm = 'fcgipool_probe_fnFilename:\n\t.xword\t168\n';
    expect([...parseProbeAssembly(x86)]).toEqual([
      ['exFunc', 24],
      ['exOpline', 0],
    ]);
    expect([...parseProbeAssembly(arm)]).toEqual([['fnFilename', 168]]);
    expect(probeSource()).toContain('offsetof(zend_executor_globals, current_execute_data)');
  });

  describe.skipIf(skipReason !== null)(`against the installed headers (${skipReason ?? HEADERS})`, () => {
    const probe = skipReason === null ? compileProbe(compiler as string, INCLUDES) : null;
    const table = findLayout(probe?.constants.apiNo ?? 0, 'x86_64');

    it('has a table for the installed headers’ API number', () => {
      expect(probe?.constants.apiNo).toBe(20220829);
      expect(table?.phpMinor).toBe('8.2');
    });

    it.skipIf(!onX86)('matches every offset of the PHP 8.2 / x86_64 table', () => {
      const offsets = table?.offsets ?? {};
      for (const [key, value] of Object.entries(probe?.offsets ?? {})) {
        expect({ key, value: offsets[key as keyof typeof offsets] }).toEqual({ key, value });
      }
      expect(Object.keys(offsets).sort()).toEqual(Object.keys(probe?.offsets ?? {}).sort());
    });

    it.skipIf(!onX86)('matches every constant of the PHP 8.2 / x86_64 table', () => {
      const constants = table?.constants ?? {};
      for (const [key, value] of Object.entries(probe?.constants ?? {})) {
        expect({ key, value: constants[key as keyof typeof constants] }).toEqual({ key, value });
      }
      expect(Object.keys(constants).sort()).toEqual(Object.keys(probe?.constants ?? {}).sort());
    });

    it.skipIf(!onX86 || !existsSync(phpCgi))('agrees with the installed php-cgi: version, table, and executor_globals’ size', () => {
      const headerVersion = /PHP_VERSION "([^"]+)"/.exec(readFileSync(`${HEADERS}/main/php_version.h`, 'latin1'))?.[1];
      const binary = realpathSync(phpCgi);
      const image = readElfImage(binary, PHP_SYMBOLS);
      const verdict = identifyPhpBuild(image, binary);
      expect(verdict.ok).toBe(true);
      if (!verdict.ok) return;
      expect(verdict.layout).toBe(table);
      // The struct grows within a minor version, so only the same release can be compared byte for byte.
      if (verdict.build.version === headerVersion) expect(verdict.build.executorGlobals.size).toBe(probe?.executorGlobalsSize);
      expect(verdict.build.executorGlobals.size).toBeGreaterThan((table?.offsets.egCurrentExecuteData ?? 0) + 8);
    });
  });
});
