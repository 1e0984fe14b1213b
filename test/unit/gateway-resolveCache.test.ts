import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultResolveConfig, resolveRequestSync, type Resolution } from '../../src/gateway/resolve';

// resolve.ts remembers where a path really leads (the realpath() check,
// symlinks.ts): a change that makes a path lead elsewhere must be seen on
// the very next request, in either symlink mode.

let base: string;
let root: string;
let outside: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'gw-resolve-cache-')));
  root = join(base, 'public');
  outside = join(base, 'secret');
  mkdirSync(join(root, 'lib'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'x.php'), '<?php // outside');
  writeFileSync(join(outside, 'notes.txt'), 'outside');
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

const resolve = (target: string) => resolveRequestSync(target, { ...defaultResolveConfig(root), symlinks: 'within-root' });
const follow = (target: string) => resolveRequestSync(target, defaultResolveConfig(root));
/** The stat a resolution hands out with itself: a static one's, else none. */
const statsOf = (resolution: Resolution) => (resolution.kind === 'static' ? resolution.stats : null);

describe('containment check, remembered', () => {
  it('a script replaced by a symlink out of the root is refused at once', () => {
    writeFileSync(join(root, 'a.php'), '<?php');
    expect(resolve('/a.php').kind).toBe('script');
    expect(resolve('/a.php').kind).toBe('script');
    rmSync(join(root, 'a.php'));
    symlinkSync(join(outside, 'x.php'), join(root, 'a.php'));
    expect(resolve('/a.php')).toMatchObject({ kind: 'forbidden' });
  });

  it('a directory replaced by a symlink out of the root is refused at once', () => {
    writeFileSync(join(root, 'lib', 'x.php'), '<?php');
    expect(resolve('/lib/x.php').kind).toBe('script');
    renameSync(join(root, 'lib'), join(base, 'old-lib'));
    symlinkSync(outside, join(root, 'lib'));
    expect(resolve('/lib/x.php')).toMatchObject({ kind: 'forbidden' });
    rmSync(join(root, 'lib'));
    renameSync(join(base, 'old-lib'), join(root, 'lib'));
    expect(resolve('/lib/x.php').kind).toBe('script');
  });

  it('a static file: the same, and its stat is handed out with the resolution', () => {
    writeFileSync(join(root, 'notes.txt'), 'inside');
    const inside = resolve('/notes.txt');
    expect(inside.kind).toBe('static');
    expect(statsOf(inside)?.size).toBe(6);
    rmSync(join(root, 'notes.txt'));
    symlinkSync(join(outside, 'notes.txt'), join(root, 'notes.txt'));
    expect(resolve('/notes.txt')).toMatchObject({ kind: 'forbidden' });
    const missing = resolve('/hello-missing.txt');
    expect(missing.kind).not.toBe('static');
    expect(statsOf(missing)).toBeNull();
  });

  it('following symlinks: a file replaced by a link to a dotfile is refused at once', () => {
    writeFileSync(join(root, 'conf.txt'), 'inside');
    writeFileSync(join(base, '.env'), 'SECRET=1');
    expect(follow('/conf.txt').kind).toBe('static');
    rmSync(join(root, 'conf.txt'));
    symlinkSync(join(base, '.env'), join(root, 'conf.txt'));
    expect(follow('/conf.txt')).toMatchObject({ kind: 'forbidden' });
  });

  it('a symlink that stays inside the root keeps working', () => {
    writeFileSync(join(root, 'real.php'), '<?php');
    symlinkSync(join(root, 'real.php'), join(root, 'alias.php'));
    expect(resolve('/alias.php').kind).toBe('script');
    expect(resolve('/alias.php').kind).toBe('script');
  });
});
