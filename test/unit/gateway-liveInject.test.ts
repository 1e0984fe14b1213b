import { describe, expect, it } from 'vitest';
import { liveReloadBlockedBy, originFromHost } from '../../src/gateway/csp';
import { cspBlockOf, growContentLength, HtmlInjector, isInjectableResponse, isPageRequest, LIVE_RELOAD_TAG } from '../../src/gateway/liveInject';
import { isIgnoredForLiveReload, liveReloadAction } from '../../src/shared/liveReload';

const TAG = LIVE_RELOAD_TAG.toString('latin1');

/** Streams `page` through an injector in the given pieces and returns what went out. */
function stream(pieces: readonly string[]): string {
  const injector = new HtmlInjector();
  const out = pieces.map((piece) => injector.push(Buffer.from(piece, 'latin1')));
  out.push(injector.finish());
  return Buffer.concat(out).toString('latin1');
}

describe('HtmlInjector: the tag goes in once, before the first </body>, whatever the chunking', () => {
  const page = '<!doctype html><html><head><title>x</title></head><body><p>a < b </bo dy></p></body></html>\n';
  const expected = page.replace('</body>', `${TAG}</body>`);

  it('in one piece', () => {
    expect(stream([page])).toBe(expected);
  });

  it('split at every byte position into two pieces, and byte by byte', () => {
    for (let at = 0; at <= page.length; at++) expect(stream([page.slice(0, at), page.slice(at)]), `split at ${at}`).toBe(expected);
    expect(stream([...page])).toBe(expected);
  });

  it('grows the body by exactly the tag, so a raised Content-Length stays right', () => {
    expect(Buffer.byteLength(stream(['<p>é</p></BODY>']), 'latin1')).toBe(Buffer.byteLength('<p>é</p></BODY>', 'latin1') + LIVE_RELOAD_TAG.length);
  });

  it('matches </BODY> and </Body> (HTML is case-insensitive), only the first one', () => {
    expect(stream(['<body>x</BODY>'])).toBe(`<body>x${TAG}</BODY>`);
    expect(stream(['x</Body>y</body>'])).toBe(`x${TAG}</Body>y</body>`);
  });

  it('appends it at the end of a page without </body>, also when the page ends in a partial "</bo"', () => {
    expect(stream(['<h1>hi</h1>'])).toBe(`<h1>hi</h1>${TAG}`);
    expect(stream(['<h1>hi</h1></bo'])).toBe(`<h1>hi</h1></bo${TAG}`);
    expect(stream([])).toBe(TAG);
  });

  it('passes chunks through untouched (the same buffer) once the tag is in', () => {
    const injector = new HtmlInjector();
    injector.push(Buffer.from('</body>'));
    const later = Buffer.from('</html>');
    expect(injector.push(later)).toBe(later);
    expect(injector.finish().length).toBe(0);
  });
});

describe('which requests and responses get the tag', () => {
  it('a page load: GET or POST with Sec-Fetch-Dest document, or without Sec-Fetch-Dest; never an iframe, a fetch, a HEAD', () => {
    expect(isPageRequest('GET', [])).toBe(true);
    expect(isPageRequest('GET', ['Sec-Fetch-Dest', 'document'])).toBe(true);
    expect(isPageRequest('POST', ['sec-fetch-dest', 'Document'])).toBe(true);
    expect(isPageRequest('GET', ['Sec-Fetch-Dest', 'iframe'])).toBe(false);
    expect(isPageRequest('GET', ['Sec-Fetch-Dest', 'empty'])).toBe(false);
    expect(isPageRequest('HEAD', [])).toBe(false);
    expect(isPageRequest('PUT', [])).toBe(false);
  });

  it('an uncompressed, inline text/html response with a body', () => {
    expect(isInjectableResponse(200, ['Content-Type', 'text/html; charset=UTF-8'])).toBe(true);
    expect(isInjectableResponse(404, ['content-type', 'TEXT/HTML'])).toBe(true);
    expect(isInjectableResponse(200, ['Content-Type', 'application/json'])).toBe(false);
    expect(isInjectableResponse(200, ['Content-Type', 'text/htmlx'])).toBe(false);
    expect(isInjectableResponse(200, [])).toBe(false);
    expect(isInjectableResponse(200, ['Content-Type', 'text/html', 'Content-Encoding', 'gzip'])).toBe(false);
    expect(isInjectableResponse(200, ['Content-Type', 'text/html', 'Content-Encoding', 'identity'])).toBe(true);
    expect(isInjectableResponse(200, ['Content-Type', 'text/html', 'Content-Disposition', 'attachment; filename="r.html"'])).toBe(false);
    expect(isInjectableResponse(200, ['Content-Type', 'text/html', 'Content-Disposition', 'inline'])).toBe(true);
    expect(isInjectableResponse(204, ['Content-Type', 'text/html'])).toBe(false);
    expect(isInjectableResponse(304, ['Content-Type', 'text/html'])).toBe(false);
    expect(isInjectableResponse(200, ['Content-Type', 'text/html', 'Content-Length', 'nonsense'])).toBe(false);
  });

  it('raises every Content-Length by the tag’s length', () => {
    const headers = ['Content-Type', 'text/html', 'content-length', '100'];
    growContentLength(headers);
    expect(headers).toEqual(['Content-Type', 'text/html', 'content-length', String(100 + LIVE_RELOAD_TAG.length)]);
  });
});

describe('Content-Security-Policy: live reload needs a same-origin script and a same-origin EventSource', () => {
  const origin = { host: 'localhost', port: 8080 };
  const blocked = (...policies: string[]) => liveReloadBlockedBy(policies, origin, '/.fastcgi-pool/live.js', '/.fastcgi-pool/live');

  it('allows what lets same-origin scripts and connections through', () => {
    expect(blocked()).toBeNull();
    expect(blocked("script-src 'self'")).toBeNull();
    expect(blocked("default-src 'self'")).toBeNull();
    expect(blocked("default-src 'none'; script-src 'self'; connect-src 'self'")).toBeNull();
    expect(blocked('script-src *; connect-src http:')).toBeNull();
    expect(blocked('script-src localhost:8080 ; connect-src http://localhost:*')).toBeNull();
    expect(blocked('script-src http://localhost:8080/.fastcgi-pool/; connect-src localhost:8080/.fastcgi-pool/live')).toBeNull();
    expect(blocked("img-src 'none'; style-src 'none'")).toBeNull();
    expect(blocked("SCRIPT-SRC 'SELF'")).toBeNull();
  });

  it('blocks a nonce- or hash-only list, strict-dynamic, none, https-only, another host or port, and a closed connect-src', () => {
    expect(blocked("script-src 'nonce-abc123'")).toEqual({ directive: 'script-src', policy: "script-src 'nonce-abc123'" });
    expect(blocked("script-src 'self' 'strict-dynamic' 'nonce-x'")?.directive).toBe('script-src');
    expect(blocked("default-src 'none'")?.directive).toBe('default-src');
    expect(blocked('script-src https:')?.directive).toBe('script-src');
    expect(blocked('script-src https://localhost:8080')?.directive).toBe('script-src');
    expect(blocked('script-src localhost:9090')?.directive).toBe('script-src');
    expect(blocked('script-src cdn.example.com')?.directive).toBe('script-src');
    expect(blocked("script-src-elem 'none'; script-src 'self'")?.directive).toBe('script-src-elem');
    // The script may load, but its EventSource falls under default-src 'none'.
    expect(blocked("default-src 'none'; script-src 'self'")).toEqual({ directive: 'default-src', policy: "default-src 'none'; script-src 'self'" });
    expect(blocked("connect-src 'none'")?.directive).toBe('connect-src');
  });

  it('applies every policy: two headers, or two policies in one header, each must allow it', () => {
    expect(blocked("script-src 'self'", "script-src 'nonce-a'")?.policy).toBe("script-src 'nonce-a'");
    expect(blocked("script-src 'self', script-src 'none'")?.policy).toBe("script-src 'none'");
  });

  it('takes the page origin from the Host header', () => {
    expect(originFromHost('LocalHost:8080', 1)).toEqual({ host: 'localhost', port: 8080 });
    expect(originFromHost('[::1]:9000', 1)).toEqual({ host: '::1', port: 9000 });
    expect(originFromHost('127.0.0.1', 1)).toEqual({ host: '127.0.0.1', port: 80 });
    expect(originFromHost(undefined, 8080)).toEqual({ host: '', port: 8080 });
    expect(liveReloadBlockedBy(["script-src 'self' [::1]:9000"], originFromHost('[::1]:9000', 1), '/a', '/b')).toBeNull();
    expect(cspBlockOf(['Content-Security-Policy', 'script-src 127.0.0.1:8081'], '127.0.0.1:8081', 8081)).toBeNull();
    expect(cspBlockOf(['Content-Security-Policy', 'script-src 127.0.0.1:8081'], 'localhost:8081', 8081)?.directive).toBe('script-src');
    // Report-only policies block nothing.
    expect(cspBlockOf(['Content-Security-Policy-Report-Only', "default-src 'none'"], 'localhost', 80)).toBeNull();
  });
});

describe('which file changes count', () => {
  it('ignores vendor/, node_modules/, .git/ at any depth and editors’ swap and temp files', () => {
    for (const path of [
      'vendor/autoload.php',
      'node_modules/x/y.js',
      '.git/index',
      'app/vendor/a.php',
      'src\\node_modules\\a.js',
      'index.php~',
      '.index.php.swp',
      'style.css___jb_tmp___',
      '4913',
      '',
    ])
      expect(isIgnoredForLiveReload(path), path).toBe(true);
    for (const path of ['index.php', 'public/assets/style.css', '.env', 'src/vendors.php', 'templates/home.twig'])
      expect(isIgnoredForLiveReload(path), path).toBe(false);
  });

  it('swaps stylesheets when only .css files changed, else reloads', () => {
    expect(liveReloadAction(['assets/style.css', 'a/B.CSS'])).toBe('css');
    expect(liveReloadAction(['assets/style.css', 'index.php'])).toBe('reload');
    expect(liveReloadAction(['assets/style.scss'])).toBe('reload');
    expect(liveReloadAction([])).toBe('reload');
  });
});
