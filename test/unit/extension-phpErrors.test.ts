import { describe, expect, it } from 'vitest';
import { PhpStderrParser } from '../../src/extension/diagnostics/phpErrors';

describe('PHP errors from FastCGI stderr', () => {
  it('reads warnings, notices and fatal errors with their file and line', () => {
    const parser = new PhpStderrParser();
    const errors = parser.push(
      [
        'PHP Warning:  Undefined array key "colour" in /app/src/pages/warning.php on line 17',
        'PHP Deprecated:  strlen(): Passing null to parameter #1 in /app/a.php on line 3',
        'PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted in /app/b.php on line 40',
        '',
      ].join('\n'),
    );
    expect(errors).toEqual([
      { level: 'Warning', severity: 'warning', message: 'Undefined array key "colour"', file: '/app/src/pages/warning.php', line: 17 },
      { level: 'Deprecated', severity: 'information', message: 'strlen(): Passing null to parameter #1', file: '/app/a.php', line: 3 },
      { level: 'Fatal error', severity: 'error', message: 'Allowed memory size of 134217728 bytes exhausted', file: '/app/b.php', line: 40 },
    ]);
  });

  it('takes the last "in FILE on line N" of a parse error whose message has its own "on line"', () => {
    const [error] = new PhpStderrParser().push("PHP Parse error:  Unclosed '(' on line 2 in /tmp/p.php on line 3\n");
    expect(error).toMatchObject({ level: 'Parse error', severity: 'error', message: "Unclosed '(' on line 2", file: '/tmp/p.php', line: 3 });
  });

  it('reads an uncaught exception across its stack trace, split over chunks anywhere', () => {
    const parser = new PhpStderrParser();
    const text =
      'PHP Fatal error:  Uncaught RuntimeException: boom in /tmp/w.php:3\nStack trace:\n#0 /tmp/w.php(4): f()\n#1 {main}\n  thrown in /tmp/w.php on line 3\n';
    const out = [];
    for (let i = 0; i < text.length; i += 7) out.push(...parser.push(text.slice(i, i + 7)));
    out.push(...parser.flush());
    expect(out).toEqual([{ level: 'Fatal error', severity: 'error', message: 'Uncaught RuntimeException: boom', file: '/tmp/w.php', line: 3 }]);
  });

  it('emits an uncaught exception without its "thrown in" line on flush, at its first location', () => {
    const parser = new PhpStderrParser();
    expect(parser.push('PHP Fatal error:  Uncaught Error: x in /app/c.php:9\nStack trace:\n')).toEqual([]);
    expect(parser.flush()).toEqual([{ level: 'Fatal error', severity: 'error', message: 'Uncaught Error: x', file: '/app/c.php', line: 9 }]);
  });

  it('accepts a timestamp prefix and ignores start-up errors without a file and unrelated lines', () => {
    const parser = new PhpStderrParser();
    const out = parser.push(
      [
        '[28-Nov-2026 05:50:14 UTC] PHP Notice:  Undefined index: a in /app/n.php on line 8',
        "PHP Warning:  PHP Startup: Unable to load dynamic library 'x' in Unknown on line 0",
        'PHP Stack trace:',
        'some other text',
        '',
      ].join('\n'),
    );
    expect(out).toEqual([{ level: 'Notice', severity: 'information', message: 'Undefined index: a', file: '/app/n.php', line: 8 }]);
  });
});
