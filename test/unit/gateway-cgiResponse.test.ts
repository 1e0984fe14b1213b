import { describe, expect, it } from 'vitest';
import { CgiHeaderError, CgiHeaderParser, type CgiHeadersDone } from '../../src/gateway/cgiResponse';

function parseAll(chunks: Array<string | Buffer>, max?: number): CgiHeadersDone {
  const parser = new CgiHeaderParser(max);
  for (const c of chunks) {
    const r = parser.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    if (r.done) return r;
  }
  throw new Error('not done');
}

describe('CgiHeaderParser', () => {
  it('parses a typical PHP header block and returns the body start', () => {
    const r = parseAll(['X-Powered-By: PHP/8.2\r\nContent-type: text/html; charset=UTF-8\r\n\r\n<html>']);
    expect(r).toEqual({
      done: true,
      status: 200,
      statusText: undefined,
      headers: [
        ['X-Powered-By', 'PHP/8.2'],
        ['Content-type', 'text/html; charset=UTF-8'],
      ],
      bodyStart: Buffer.from('<html>'),
    });
  });

  it('accepts bare \\n line ends, and mixed ones', () => {
    const r = parseAll(['A: 1\nB: 2\r\n\nbody']);
    expect(r.headers).toEqual([
      ['A', '1'],
      ['B', '2'],
    ]);
    expect(r.bodyStart.toString()).toBe('body');
  });

  it('Status sets code and reason and is not passed on', () => {
    const r = parseAll(['Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n']);
    expect(r.status).toBe(404);
    expect(r.statusText).toBe('Not Found');
    expect(r.headers).toEqual([['Content-Type', 'text/plain']]);
    expect(r.bodyStart.length).toBe(0);
  });

  it('a bare Status code has no reason; the name is case-insensitive', () => {
    const r = parseAll(['status: 201\r\n\r\n']);
    expect(r.status).toBe(201);
    expect(r.statusText).toBeUndefined();
  });

  it('Location without Status means 302; with Status the status wins', () => {
    expect(parseAll(['Location: /login\r\n\r\n']).status).toBe(302);
    expect(parseAll(['Status: 301 Moved Permanently\r\nLocation: /x\r\n\r\n']).status).toBe(301);
    expect(parseAll(['Location: /x\r\nStatus: 303 See Other\r\n\r\n']).status).toBe(303);
  });

  it('keeps repeated headers as separate entries', () => {
    const r = parseAll(['Set-Cookie: a=1; path=/\r\nSet-Cookie: b=2\r\n\r\n']);
    expect(r.headers).toEqual([
      ['Set-Cookie', 'a=1; path=/'],
      ['Set-Cookie', 'b=2'],
    ]);
  });

  it('trims optional whitespace, keeps inner spaces and empty values', () => {
    const r = parseAll(['A:x\r\nB:   spaced  out \t\r\nC:\r\n\r\n']);
    expect(r.headers).toEqual([
      ['A', 'x'],
      ['B', 'spaced  out'],
      ['C', ''],
    ]);
  });

  it('passes UTF-8 bytes through as latin1 characters (byte for byte)', () => {
    const r = parseAll([Buffer.concat([Buffer.from('Content-Disposition: attachment; filename="'), Buffer.from('ünï.txt'), Buffer.from('"\r\n\r\n')])]);
    const value = (r.headers[0] as [string, string])[1];
    expect(Buffer.from(value, 'latin1').toString('utf8')).toBe('attachment; filename="ünï.txt"');
  });

  it('no headers at all, just the blank line, is a 200 with the body', () => {
    const r = parseAll(['\r\nhello']);
    expect(r).toMatchObject({ status: 200, headers: [] });
    expect(r.bodyStart.toString()).toBe('hello');
  });

  it('handles every possible split point, including between \\r and \\n', () => {
    const text = 'Status: 418 Teapot\r\nX-A: 1\r\nSet-Cookie: c=1\r\n\r\nBODY';
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2 += 7) {
        const parser = new CgiHeaderParser();
        let result: CgiHeadersDone | null = null;
        const body: Buffer[] = [];
        for (const part of [text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2)]) {
          const b = Buffer.from(part);
          if (result) {
            body.push(b);
            continue;
          }
          const r = parser.push(b);
          if (r.done) {
            result = r;
            body.push(r.bodyStart);
          }
        }
        expect(result, `cut at ${cut}/${cut2}`).not.toBeNull();
        expect(result?.status).toBe(418);
        expect(result?.headers).toEqual([
          ['X-A', '1'],
          ['Set-Cookie', 'c=1'],
        ]);
        expect(Buffer.concat(body).toString()).toBe('BODY');
      }
    }
  });

  it('works one byte at a time', () => {
    const parser = new CgiHeaderParser();
    const text = Buffer.from('A: 1\r\nB: 2\r\n\r\nxyz');
    let done: CgiHeadersDone | null = null;
    for (let i = 0; i < text.length && !done; i++) {
      const r = parser.push(text.subarray(i, i + 1));
      if (r.done) done = r;
    }
    expect(done?.headers).toEqual([
      ['A', '1'],
      ['B', '2'],
    ]);
    expect(done?.bodyStart.length).toBe(0); // the body bytes come in later chunks
  });

  it('body bytes that look like headers are left alone', () => {
    const r = parseAll(['A: 1\r\n\r\nStatus: 500\r\n\r\n']);
    expect(r.status).toBe(200);
    expect(r.bodyStart.toString()).toBe('Status: 500\r\n\r\n');
  });

  describe('errors (the gateway answers 502)', () => {
    const bad: Array<[string, string]> = [
      ['a line without a colon', 'Content-Type text/html\r\n\r\n'],
      ['an empty name', ': x\r\n\r\n'],
      ['a space in the name', 'Bad Name: x\r\n\r\n'],
      ['a space before the colon', 'Name : x\r\n\r\n'],
      ['a folded line', 'A: 1\r\n  continued\r\n\r\n'],
      ['a stray CR in a value', 'A: 1\r2\r\n\r\n'],
      ['a NUL in a value', 'A: 1\u00002\r\n\r\n'],
      ['a non-numeric status', 'Status: abc\r\n\r\n'],
      ['a two-digit status', 'Status: 20\r\n\r\n'],
      ['a status below 100', 'Status: 099 Odd\r\n\r\n'],
      ['a status glued to its reason', 'Status: 200OK\r\n\r\n'],
      ['a non-ASCII name', 'Ünï: x\r\n\r\n'],
    ];
    it.each(bad)('%s', (_what, text) => {
      expect(() => parseAll([text])).toThrow(CgiHeaderError);
    });

    it('a header block over the limit, with or without line ends', () => {
      expect(() => parseAll(['X: ' + 'a'.repeat(100) + '\r\n\r\n'], 64)).toThrow(/larger than 64 bytes/);
      const parser = new CgiHeaderParser(64);
      expect(parser.push(Buffer.from('X: ' + 'a'.repeat(50)))).toEqual({ done: false });
      expect(() => parser.push(Buffer.from('a'.repeat(50)))).toThrow(CgiHeaderError);
      // Many short lines count too.
      const many = new CgiHeaderParser(1024);
      expect(() => {
        for (let i = 0; i < 200; i++) many.push(Buffer.from(`X-${i}: 1\r\n`));
      }).toThrow(CgiHeaderError);
    });

    it('exactly at the limit is fine', () => {
      const text = 'X: 12345\r\n\r\n';
      expect(parseAll([text], text.length).headers).toEqual([['X', '12345']]);
      expect(() => parseAll([text], text.length - 1)).toThrow(CgiHeaderError);
    });

    it('finish() reports no output, and output that stops inside the headers', () => {
      expect(new CgiHeaderParser().finish()?.message).toMatch(/no output/);
      const partial = new CgiHeaderParser();
      partial.push(Buffer.from('Content-Type: text/html\r\n'));
      expect(partial.finish()).toBeInstanceOf(CgiHeaderError);
      const done = new CgiHeaderParser();
      done.push(Buffer.from('A: 1\n\n'));
      expect(done.finish()).toBeNull();
    });

    it('push() after completion is a programming error', () => {
      const parser = new CgiHeaderParser();
      parser.push(Buffer.from('\n'));
      expect(() => parser.push(Buffer.from('x'))).toThrow(CgiHeaderError);
    });
  });
});
