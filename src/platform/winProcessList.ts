import type { ProcessStat } from './processTable';

/**
 * The Windows process list, read without `wmic` (gone from Windows 11
 * 24H2): PowerShell's `Get-CimInstance Win32_Process`, which has what
 * `tasklist` lacks — the parent pid (for descendants) and the creation time
 * (the identity that tells a reused pid) — as CSV with the creation time
 * as a FILETIME number, so that no locale's date format is involved.
 * `tasklist /FO CSV /NH` (names, pids and memory only) is the fallback
 * where PowerShell cannot run.
 */
export const POWERSHELL_ARGS = [
  '-NoProfile',
  '-NonInteractive',
  '-ExecutionPolicy',
  'Bypass',
  '-Command',
  "[Console]::OutputEncoding = [Text.Encoding]::UTF8; Get-CimInstance -ClassName Win32_Process | Select-Object ProcessId, ParentProcessId, Name, WorkingSetSize, @{ Name = 'CreationDate'; Expression = { if ($_.CreationDate) { $_.CreationDate.ToFileTimeUtc() } else { '' } } } | ConvertTo-Csv -NoTypeInformation",
];

export const TASKLIST_ARGS = ['/FO', 'CSV', '/NH'];

/** 100-ns intervals between 1601-01-01 (FILETIME's epoch) and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

/** A FILETIME (as decimal text) in milliseconds since the Unix epoch; null when empty or unreadable. */
export function fileTimeToEpochMs(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  return Number((BigInt(text) - FILETIME_UNIX_EPOCH) / 10_000n);
}

/** `php-cgi.exe` → `php-cgi`: the name the reconciler knows php-cgi by on every OS. */
export function processName(image: string): string {
  return image.replace(/\.exe$/i, '');
}

/**
 * Parses the CSV of {@link POWERSHELL_ARGS}: a header naming the columns
 * (their order is read from it), then one quoted row per process. Windows
 * has no zombies and no state letters: a listed process is running, `R`.
 */
export function parseCimProcessCsv(text: string): ProcessStat[] {
  const rows = parseCsv(text);
  const header = rows.shift();
  if (!header) return [];
  const column = (name: string): number => header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  const [pidAt, ppidAt, nameAt, wsAt, createdAt] = ['ProcessId', 'ParentProcessId', 'Name', 'WorkingSetSize', 'CreationDate'].map(column);
  if (pidAt === undefined || pidAt < 0 || ppidAt === undefined || ppidAt < 0) throw new Error('unexpected process list: no ProcessId/ParentProcessId columns');
  const stats: ProcessStat[] = [];
  for (const row of rows) {
    const pid = Number(row[pidAt]);
    if (!Number.isInteger(pid) || row.length < header.length) continue;
    const workingSet = Number(row[wsAt ?? -1] ?? NaN);
    stats.push({
      pid,
      ppid: Number(row[ppidAt]),
      // No process groups on Windows: a process is its own "group", which is what taskkill /T needs.
      pgrp: pid,
      session: 0,
      state: 'R',
      startTime: fileTimeToEpochMs(row[createdAt ?? -1] ?? '') ?? 0,
      comm: processName(row[nameAt ?? -1] ?? ''),
      rssKiB: Number.isFinite(workingSet) ? Math.round(workingSet / 1024) : undefined,
    });
  }
  return stats;
}

/**
 * Parses `tasklist /FO CSV /NH`: `"php-cgi.exe","4242","Console","1","21,344 K"`.
 * No parent and no start time (0: unknown); the memory column's digit
 * grouping follows the locale (`21,344 K`, `21.344 K`), so only digits count.
 */
export function parseTasklistCsv(text: string): ProcessStat[] {
  const stats: ProcessStat[] = [];
  for (const row of parseCsv(text)) {
    const pid = Number(row[1]);
    if (row.length < 5 || !Number.isInteger(pid)) continue;
    const memory = (row[4] ?? '').replace(/\D/g, '');
    stats.push({ pid, ppid: 0, pgrp: pid, session: 0, state: 'R', startTime: 0, comm: processName(row[0] ?? ''), rssKiB: memory ? Number(memory) : undefined });
  }
  return stats;
}

/** RFC 4180 CSV: quoted fields with `""` for a quote; CRLF or LF line ends; blank lines skipped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      fieldStarted = true;
    } else if (ch === '\n' || ch === '\r') {
      if (fieldStarted || field !== '' || row.length > 0) rows.push([...row, field]);
      row = [];
      field = '';
      fieldStarted = false;
      if (ch === '\r' && text[i + 1] === '\n') i++;
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (fieldStarted || field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}
