// Process-tree helpers (Linux /proc): RSS of a server's whole tree, and
// stopping exactly the processes we started (by pid, never by name).
import { readdirSync, readFileSync } from 'node:fs';

/** Direct children of `pid` (all threads). */
export function childrenOf(pid) {
  const found = [];
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) for (const c of text.split(/\s+/)) found.push(Number(c));
    } catch {
      // thread or process gone
    }
  }
  return found;
}

/** `pid` and all its descendants. */
export function treeOf(pid) {
  const out = [];
  const stack = [pid];
  const seen = new Set();
  while (stack.length > 0) {
    const p = stack.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    if (!isAlive(p)) continue;
    out.push(p);
    stack.push(...childrenOf(p));
  }
  return out;
}

/** VmRSS in KiB (0 if gone or a kernel thread). */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sum of VmRSS over the trees of `rootPids`, and the process count. */
export function treeRss(rootPids) {
  const pids = new Set();
  for (const root of rootPids) for (const p of treeOf(root)) pids.add(p);
  let kib = 0;
  for (const p of pids) kib += rssKiB(p);
  return { mib: kib / 1024, processes: pids.size };
}

/** Alive and not a zombie. */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Process start time (clock ticks since boot): with the pid, the identity we check before a SIGKILL. */
export function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child, ms) {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Stops a server we spawned: `signal` to its pid, SIGKILL after `graceMs`,
 * then SIGKILL to any process of its tree (recorded before the signal, with
 * start times so a reused pid is never hit) that outlived it.
 */
export async function stopTree(child, signal = 'SIGTERM', graceMs = 5000) {
  if (child.pid === undefined) return;
  const tree = treeOf(child.pid).map((pid) => ({ pid, start: startTimeOf(pid) }));
  if (!exited(child)) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    if (!(await waitExit(child, graceMs))) {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
      await waitExit(child, 3000);
    }
  }
  const deadline = Date.now() + 3000;
  for (const { pid, start } of tree) {
    while (isAlive(pid) && startTimeOf(pid) === start && Date.now() < deadline) await sleep(20);
    if (isAlive(pid) && startTimeOf(pid) === start) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** Waits (at most `maxMs`) until a target's process tree is back to `processes` (its size after the warm-up). */
export async function settle(target, processes, maxMs = 3000) {
  const deadline = Date.now() + maxMs;
  await sleep(100);
  while (Date.now() < deadline && treeRss(target.rootPids()).processes > processes) await sleep(50);
}
