import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FindingKind } from '../../src/pool/types';
import { describeFinding, FINDING_KINDS, findingLine, findingSeverity, openFindings } from '../../src/shared/findings';
import { finding, lease, snapshot, T0 } from './extension-fixtures';

const KINDS = Object.keys(FINDING_KINDS) as FindingKind[];

describe('the finding vocabulary', () => {
  it('makes lost requests an error and everything else a warning', () => {
    expect(KINDS.filter((kind) => findingSeverity(kind) === 'error').sort()).toEqual(['defunct-busy', 'holder-gone', 'spawn-failing']);
    expect(KINDS.filter((kind) => findingSeverity(kind) === 'warning').sort()).toEqual(['busy-timeout', 'lease-protocol', 'slow-request', 'zombie-descendant']);
  });

  it('has a title and an explanation for each kind, and the README an anchor', () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    for (const kind of KINDS) {
      expect(FINDING_KINDS[kind].title, kind).toMatch(/^[a-z]/);
      expect(FINDING_KINDS[kind].explanation, kind).toMatch(/\.$/);
      expect(readme, kind).toContain(`<a id="${kind}"></a>**${kind}**`);
    }
  });

  it('names the script where the surface is not at it', () => {
    const f = finding();
    expect(describeFinding(f)).toBe('worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (lease L7, 400 ms)');
    expect(describeFinding(f, { script: true })).toBe('worker w2 (pid 1234) was killed by SIGKILL while serving GET /die (/app/index.php) (lease L7, 400 ms)');
    expect(findingLine(f, { script: true })).toBe(`defunct-busy: ${describeFinding(f, { script: true })}`);
  });

  it('says which process failed when a wrapper script stands before php-cgi', () => {
    const f = finding({ exit: null, processState: 'Z', descendant: { pid: 1240, comm: 'php-cgi', state: 'Z' } });
    expect(describeFinding(f)).toBe('worker w2 (pid 1234): its php-cgi (pid 1240) became a zombie while serving GET /die (lease L7, 400 ms)');
    expect(describeFinding(finding({ exit: null, processState: null }))).toMatch(/^worker w2 \(pid 1234\) is gone while serving/);
  });

  it('words the other kinds from their facts, and a lease-protocol finding by its own message', () => {
    expect(describeFinding(finding({ kind: 'holder-gone', exit: null, lease: lease({ uri: '/x', acquiredAt: T0 - 1_500 }) }))).toBe(
      'worker w2 (pid 1234) is still leased although its request ended while serving GET /x (lease L7, 1.5 s)',
    );
    expect(describeFinding(finding({ kind: 'zombie-descendant', exit: null, lease: null, descendant: null }))).toBe(
      'worker w2 (pid 1234) left a defunct child',
    );
    expect(describeFinding(finding({ kind: 'slow-request', exit: null, lease: lease({ uri: '/report', acquiredAt: T0 - 5_000 }) }))).toBe(
      'worker w2 (pid 1234) passed the slowlog timeout while serving GET /report (lease L7, 5.0 s)',
    );
    expect(describeFinding(finding({ kind: 'lease-protocol', workerId: null, pid: null, lease: null, message: 'http #3 released lease L3 twice' }))).toBe(
      'http #3 released lease L3 twice',
    );
    expect(describeFinding(finding({ workerId: null, pid: null }))).toMatch(/^worker \? \(pid \?\) was killed/);
  });

  it('lists the open findings of a snapshot, none without one', () => {
    const open = finding({ id: 'F2' });
    const resolved = finding({ id: 'F1', resolution: { at: T0, how: 'reclaimed', detail: '' } });
    expect(openFindings(snapshot(undefined, { findings: [resolved, open] }))).toEqual([open]);
    expect(openFindings(null)).toEqual([]);
  });
});
