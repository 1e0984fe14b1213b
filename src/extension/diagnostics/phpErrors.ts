import { isAbsolute } from 'node:path';

/**
 * Parses what PHP writes to a worker's FastCGI stderr (log_errors=On, no
 * error_log): `PHP Warning:  Undefined variable $x in /app/a.php on line 2`,
 * parse errors, and uncaught exceptions, whose entry spans a stack trace and
 * ends with `  thrown in /app/a.php on line 3`.
 */

/** How serious a PHP error is, in Problems-panel terms. */
export type PhpErrorSeverity = 'error' | 'warning' | 'information';

/** One PHP error with a location in a real file. */
export interface PhpError {
  /** PHP's own word: `Fatal error`, `Warning`, `Parse error`, … */
  readonly level: string;
  readonly severity: PhpErrorSeverity;
  /** The message without its location, e.g. `Uncaught RuntimeException: boom`. */
  readonly message: string;
  /** Absolute path. */
  readonly file: string;
  /** 1-based, as PHP counts. */
  readonly line: number;
}

const LEVELS: Record<string, PhpErrorSeverity> = {
  'Fatal error': 'error',
  'Parse error': 'error',
  'Recoverable fatal error': 'error',
  'Catchable fatal error': 'error',
  'Core error': 'error',
  'Compile error': 'error',
  Warning: 'warning',
  'Core warning': 'warning',
  'Compile warning': 'warning',
  Notice: 'information',
  Deprecated: 'information',
  'Strict Standards': 'information',
};

// An optional `[28-Nov-2026 05:50:14 UTC] ` prefix appears when error_log points at stderr explicitly.
const ENTRY = new RegExp(`^(?:\\[[^\\]]*\\]\\s*)?PHP (${Object.keys(LEVELS).join('|')}):\\s+(.*)$`);
// Greedy message: the location is the *last* " in … on line N" ("Unclosed '(' on line 2 in /a.php on line 3").
const AT_LINE = /^(.*) in (.+?) on line (\d+)\.?$/;
// Uncaught exceptions put "in FILE:LINE" on their first line.
const AT_COLON = /^(.*) in ((?:\/|[A-Za-z]:[\\/]).+):(\d+)$/;
const THROWN = /^\s*thrown in (.+?) on line (\d+)$/;

interface Pending {
  level: string;
  message: string;
  file: string | null;
  line: number;
}

/**
 * A line-oriented parser for one stderr stream. Feed it chunks as they come
 * (they split lines anywhere); `flush` at the end of a request emits an
 * entry still waiting for its `thrown in` line.
 */
export class PhpStderrParser {
  private partial = '';
  private pending: Pending | null = null;

  push(chunk: string): PhpError[] {
    const out: PhpError[] = [];
    const text = this.partial + chunk;
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line, out);
    return out;
  }

  flush(): PhpError[] {
    const out: PhpError[] = [];
    if (this.partial) this.line(this.partial, out);
    this.partial = '';
    this.emitPending(out);
    return out;
  }

  private line(line: string, out: PhpError[]): void {
    const entry = ENTRY.exec(line);
    if (entry) {
      this.emitPending(out);
      const level = entry[1] as string;
      const body = (entry[2] as string).trim();
      const atLine = AT_LINE.exec(body);
      if (atLine) {
        this.emit({ level, message: (atLine[1] as string).trim(), file: atLine[2] as string, line: Number(atLine[3]) }, out);
        return;
      }
      const atColon = AT_COLON.exec(body);
      this.pending = atColon
        ? { level, message: (atColon[1] as string).trim(), file: atColon[2] as string, line: Number(atColon[3]) }
        : { level, message: body, file: null, line: 0 };
      return;
    }
    if (!this.pending) return;
    const thrown = THROWN.exec(line);
    if (thrown) {
      this.pending.file = thrown[1] as string;
      this.pending.line = Number(thrown[2]);
      this.emitPending(out);
    }
    // Other lines of a pending entry are its stack trace: part of it, not new errors.
  }

  private emitPending(out: PhpError[]): void {
    const pending = this.pending;
    this.pending = null;
    if (pending?.file) this.emit({ level: pending.level, message: pending.message, file: pending.file, line: pending.line }, out);
  }

  private emit(found: { level: string; message: string; file: string; line: number }, out: PhpError[]): void {
    // "in Unknown on line 0" (start-up errors) and eval'd code have no file to point at.
    if (!isAbsolute(found.file) || found.line < 1) return;
    out.push({ ...found, severity: LEVELS[found.level] ?? 'warning' });
  }
}
