#!/usr/bin/env node
// Prints one PHP layout table (src/platform/phpStack/layoutTables.ts) as JSON:
// it compiles our offsetof probe (test/support/phpLayoutProbe.ts) to assembly
// with the given compiler against the given PHP include folders and reads the
// constants back. Nothing is run for the target, so a cross compiler works.
//
//   node scripts/derive-php-layout.mjs --cc aarch64-linux-gnu-gcc \
//     -I /path/to/php/include/php -I .../main -I .../Zend -I .../TSRM
//
// docs/php-stack-layouts.md says which header sets each table came from.
import { resolve } from 'node:path';
import { importTypeScript } from './importTs.mjs';

const args = process.argv.slice(2);
let compiler = 'cc';
const includeDirs = [];
const extra = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--cc') compiler = args[++i];
  else if (arg === '-I') includeDirs.push(args[++i]);
  else if (arg.startsWith('-I')) includeDirs.push(arg.slice(2));
  else extra.push(arg);
}
if (includeDirs.length === 0) {
  console.error('usage: derive-php-layout.mjs [--cc COMPILER] -I DIR... [extra compiler flags]');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');
const probe = await importTypeScript(resolve(root, 'test/support/phpLayoutProbe.ts'), resolve(root, 'dist/.scripts/phpLayoutProbe.mjs'));
console.log(JSON.stringify(probe.compileProbe(compiler, includeDirs, extra), null, 2));
