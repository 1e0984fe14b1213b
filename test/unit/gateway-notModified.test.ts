import { describe, expect, it } from 'vitest';
import { parseHead } from '../../src/gateway/leanParse';
import { isNotModified, isRevalidation, type RevalidationRequest } from '../../src/gateway/notModified';

const file = { etag: 'W/"1a-18c2f0a1b2c"', lastModified: 'Fri, 04 Dec 2026 10:00:00 GMT' };
const request = (headers: Partial<RevalidationRequest>): RevalidationRequest => ({
  ifNoneMatch: undefined,
  ifModifiedSince: undefined,
  cacheControl: undefined,
  ...headers,
});

// [what, request, 304?]. test/integration/lean-http.test.ts checks the same decisions against send, on Node's path.
const CASES: [string, Partial<RevalidationRequest>, boolean][] = [
  ['no validator: a plain GET', {}, false],
  ['our tag', { ifNoneMatch: 'W/"1a-18c2f0a1b2c"' }, true],
  ['our tag without W/ (weak comparison)', { ifNoneMatch: '"1a-18c2f0a1b2c"' }, true],
  ['another tag', { ifNoneMatch: 'W/"1a-18c2f0a1b2d"' }, false],
  ['a list holding ours', { ifNoneMatch: '"x", W/"1a-18c2f0a1b2c" ,"y"' }, true],
  ['a list without ours', { ifNoneMatch: '"x", "y"' }, false],
  ['*', { ifNoneMatch: '*' }, true],
  ['If-Modified-Since at Last-Modified', { ifModifiedSince: 'Fri, 04 Dec 2026 10:00:00 GMT' }, true],
  ['If-Modified-Since later', { ifModifiedSince: 'Sat, 05 Dec 2026 10:00:00 GMT' }, true],
  ['If-Modified-Since a second earlier', { ifModifiedSince: 'Fri, 04 Dec 2026 09:59:59 GMT' }, false],
  ['If-Modified-Since that does not parse', { ifModifiedSince: 'yesterday' }, false],
  ['If-None-Match decides alone: stale tag, fresh date', { ifNoneMatch: '"x"', ifModifiedSince: 'Sat, 05 Dec 2026 10:00:00 GMT' }, false],
  ['If-None-Match decides alone: our tag, old date', { ifNoneMatch: 'W/"1a-18c2f0a1b2c"', ifModifiedSince: 'Thu, 01 Jan 2026 00:00:00 GMT' }, true],
  ['a reload as browsers send it (max-age=0)', { ifNoneMatch: 'W/"1a-18c2f0a1b2c"', cacheControl: 'max-age=0' }, true],
  ['an end-to-end reload (no-cache)', { ifNoneMatch: 'W/"1a-18c2f0a1b2c"', cacheControl: 'no-cache' }, false],
  ['no-cache among other directives', { ifModifiedSince: 'Sat, 05 Dec 2026 10:00:00 GMT', cacheControl: 'max-age=0, no-cache' }, false],
  ['no-cache without a validator', { cacheControl: 'no-cache' }, false],
];

describe('isNotModified: a revalidation of a static file', () => {
  it.each(CASES)('%s', (_what, headers, expected) => {
    expect(isNotModified(request(headers), file)).toBe(expected);
  });

  it('counts only If-None-Match and If-Modified-Since as validators', () => {
    expect(isRevalidation(request({ cacheControl: 'max-age=0' }))).toBe(false);
    expect(isRevalidation(request({ ifModifiedSince: 'x' }))).toBe(true);
    expect(isRevalidation(request({ ifNoneMatch: '*' }))).toBe(true);
  });
});

describe('parseHead: what a revalidation carries', () => {
  const head = (...lines: string[]) => parseHead(['GET /a.css HTTP/1.1', 'Host: localhost', ...lines].join('\r\n'));

  it('keeps If-None-Match, If-Modified-Since and Cache-Control for the lean front to decide', () => {
    const parsed = head('if-none-match: W/"1"', 'If-Modified-Since: Fri, 04 Dec 2026 10:00:00 GMT', 'Cache-Control: max-age=0');
    expect(parsed).toMatchObject({
      conditional: false,
      ifNoneMatch: 'W/"1"',
      ifModifiedSince: 'Fri, 04 Dec 2026 10:00:00 GMT',
      cacheControl: 'max-age=0',
    });
    expect(head()).toMatchObject({ conditional: false, ifNoneMatch: undefined, ifModifiedSince: undefined, cacheControl: undefined });
  });

  it.each([
    ['Range', 'Range: bytes=0-4'],
    ['If-Range', 'If-Range: W/"1"'],
    ['If-Match', 'If-Match: "1"'],
    ['If-Unmodified-Since', 'If-Unmodified-Since: Fri, 04 Dec 2026 10:00:00 GMT'],
  ])('leaves %s to send', (_name, line) => {
    expect(head(line)?.conditional).toBe(true);
  });

  it.each([
    ['If-None-Match', 'If-None-Match: "1"'],
    ['If-Modified-Since', 'If-Modified-Since: Fri, 04 Dec 2026 10:00:00 GMT'],
    ['Cache-Control', 'Cache-Control: max-age=0'],
  ])('leaves %s given twice to send (which joins or drops duplicates its own way)', (_name, line) => {
    expect(head(line, line)?.conditional).toBe(true);
  });
});
