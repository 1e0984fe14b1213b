import { describe, expect, it } from 'vitest';
import { buildCgiParams, httpParamName, SERVER_SOFTWARE, type CgiRequestInfo, type ServerInfo } from '../../src/gateway/cgiParams';
import type { ScriptResolution } from '../../src/gateway/resolve';

const server: ServerInfo = {
  serverName: 'localhost',
  serverAddr: '127.0.0.1',
  serverPort: 8080,
  serverSoftware: 'fastcgi-pool/0.1.0',
  documentRoot: '/srv/www',
  scheme: 'http',
};

const resolution: ScriptResolution = {
  kind: 'script',
  scriptFilename: '/srv/www/index.php',
  scriptName: '/index.php',
  pathInfo: '/a/b c',
  documentUri: '/index.php/a/b c',
  queryString: 'q=1',
  requestUri: '/index.php/a/b%20c?q=1',
};

function request(rawHeaders: string[], extra: Partial<CgiRequestInfo> = {}): CgiRequestInfo {
  return { method: 'GET', httpVersion: '1.1', rawHeaders, remoteAddress: '127.0.0.1', remotePort: 51350, ...extra };
}

describe('buildCgiParams', () => {
  it('produces nginx fastcgi_params + SCRIPT_FILENAME + PATH_INFO, in nginx order', () => {
    const params = buildCgiParams(request(['Host', 'localhost:8080', 'Connection', 'close']), resolution, server, { contentLength: null });
    // The exact sequence nginx 1.22.1 sent for the same request (captured
    // with a fake FastCGI listener), with our SERVER_* values.
    expect(params).toEqual([
      ['QUERY_STRING', 'q=1'],
      ['REQUEST_METHOD', 'GET'],
      ['CONTENT_TYPE', ''],
      ['CONTENT_LENGTH', ''],
      ['SCRIPT_NAME', '/index.php'],
      ['REQUEST_URI', '/index.php/a/b%20c?q=1'],
      ['DOCUMENT_URI', '/index.php/a/b c'],
      ['DOCUMENT_ROOT', '/srv/www'],
      ['SERVER_PROTOCOL', 'HTTP/1.1'],
      ['REQUEST_SCHEME', 'http'],
      ['GATEWAY_INTERFACE', 'CGI/1.1'],
      ['SERVER_SOFTWARE', 'fastcgi-pool/0.1.0'],
      ['REMOTE_ADDR', '127.0.0.1'],
      ['REMOTE_PORT', '51350'],
      ['SERVER_ADDR', '127.0.0.1'],
      ['SERVER_PORT', '8080'],
      ['SERVER_NAME', 'localhost'],
      ['REDIRECT_STATUS', '200'],
      ['SCRIPT_FILENAME', '/srv/www/index.php'],
      ['PATH_INFO', '/a/b c'],
      ['HTTP_HOST', 'localhost:8080'],
      ['HTTP_CONNECTION', 'close'],
    ]);
  });

  it('passes Content-Type/Length both as CGI vars and as HTTP_* (nginx does)', () => {
    const params = new Map(
      buildCgiParams(
        request(['Host', 'x', 'Content-Type', 'application/x-www-form-urlencoded', 'Content-Length', '7'], { method: 'POST' }),
        resolution,
        server,
        { contentLength: 7 },
      ),
    );
    expect(params.get('CONTENT_TYPE')).toBe('application/x-www-form-urlencoded');
    expect(params.get('CONTENT_LENGTH')).toBe('7');
    expect(params.get('HTTP_CONTENT_TYPE')).toBe('application/x-www-form-urlencoded');
    expect(params.get('HTTP_CONTENT_LENGTH')).toBe('7');
  });

  it('gives a chunked upload its real length and keeps HTTP_TRANSFER_ENCODING (nginx)', () => {
    const params = new Map(
      buildCgiParams(request(['Host', 'x', 'Content-Type', 'text/plain', 'Transfer-Encoding', 'chunked'], { method: 'POST' }), resolution, server, {
        contentLength: 11,
      }),
    );
    expect(params.get('CONTENT_LENGTH')).toBe('11');
    expect(params.get('HTTP_TRANSFER_ENCODING')).toBe('chunked');
    expect(params.has('HTTP_CONTENT_LENGTH')).toBe(false);
  });

  it('Content-Length: 0 gives "0", no body headers give ""', () => {
    expect(new Map(buildCgiParams(request(['Content-Length', '0']), resolution, server, { contentLength: 0 })).get('CONTENT_LENGTH')).toBe('0');
    expect(new Map(buildCgiParams(request([]), resolution, server, { contentLength: null })).get('CONTENT_LENGTH')).toBe('');
  });

  it('CONTENT_TYPE is the first Content-Type, whatever its case', () => {
    const params = new Map(buildCgiParams(request(['content-TYPE', 'a/b', 'Content-Type', 'c/d']), resolution, server, { contentLength: null }));
    expect(params.get('CONTENT_TYPE')).toBe('a/b');
  });

  it('joins repeated headers at the first position: "; " for Cookie, ", " otherwise (nginx >= 1.23)', () => {
    const params = buildCgiParams(
      request(['Cookie', 'a=1', 'X-Multi', 'one', 'Accept', 'text/html', 'cookie', 'b=2', 'x-multi', 'two', 'Accept', 'application/json']),
      resolution,
      server,
      { contentLength: null },
    );
    const headers = params.slice(20);
    expect(headers).toEqual([
      ['HTTP_COOKIE', 'a=1; b=2'],
      ['HTTP_X_MULTI', 'one, two'],
      ['HTTP_ACCEPT', 'text/html, application/json'],
    ]);
  });

  it('drops headers with underscores or other characters (nginx ignore_invalid_headers)', () => {
    const params = new Map(
      buildCgiParams(
        request(['X_Under', 'u', 'X.Dot', 'd', 'X-Ok', 'ok', 'X Space', 's', 'Ünï', 'u', 'x-lower-CASE', 'lc', 'X-Empty', '']),
        resolution,
        server,
        {
          contentLength: null,
        },
      ),
    );
    expect(params.has('HTTP_X_UNDER')).toBe(false);
    expect([...params.keys()].filter((k) => k.startsWith('HTTP_'))).toEqual(['HTTP_X_OK', 'HTTP_X_LOWER_CASE', 'HTTP_X_EMPTY']);
    expect(params.get('HTTP_X_EMPTY')).toBe('');
  });

  it('never sets HTTP_PROXY (httpoxy), in any spelling', () => {
    const params = buildCgiParams(request(['Proxy', 'http://evil:1', 'PROXY', 'x', 'proxy', 'y']), resolution, server, { contentLength: null });
    expect(params.some(([k]) => k === 'HTTP_PROXY')).toBe(false);
  });

  it('an X_Forwarded_For cannot alias X-Forwarded-For', () => {
    const params = new Map(buildCgiParams(request(['X_Forwarded_For', 'evil', 'X-Forwarded-For', '1.2.3.4']), resolution, server, { contentLength: null }));
    expect(params.get('HTTP_X_FORWARDED_FOR')).toBe('1.2.3.4');
  });

  it('reports HTTP/1.0 and unmaps IPv4-mapped IPv6 addresses', () => {
    const params = new Map(
      buildCgiParams(
        request([], { httpVersion: '1.0', remoteAddress: '::ffff:127.0.0.1' }),
        resolution,
        { ...server, serverAddr: '::ffff:127.0.0.1' },
        { contentLength: null },
      ),
    );
    expect(params.get('SERVER_PROTOCOL')).toBe('HTTP/1.0');
    expect(params.get('REMOTE_ADDR')).toBe('127.0.0.1');
    expect(params.get('SERVER_ADDR')).toBe('127.0.0.1');
    const v6 = new Map(buildCgiParams(request([], { remoteAddress: '::1' }), resolution, server, { contentLength: null }));
    expect(v6.get('REMOTE_ADDR')).toBe('::1');
  });

  it('does not let a header override a CGI variable', () => {
    // "Script-Filename" would become HTTP_SCRIPT_FILENAME, never SCRIPT_FILENAME.
    const params = buildCgiParams(request(['Script-Filename', '/etc/passwd', 'Path-Info', '/x']), resolution, server, { contentLength: null });
    expect(params.filter(([k]) => k === 'SCRIPT_FILENAME')).toEqual([['SCRIPT_FILENAME', '/srv/www/index.php']]);
    expect(new Map(params).get('HTTP_SCRIPT_FILENAME')).toBe('/etc/passwd');
  });
});

describe('httpParamName', () => {
  it.each([
    ['Host', 'HTTP_HOST'],
    ['x-forwarded-for', 'HTTP_X_FORWARDED_FOR'],
    ['X-1', 'HTTP_X_1'],
    ['a', 'HTTP_A'],
  ])('%s → %s', (name, expected) => {
    expect(httpParamName(name)).toBe(expected);
  });
  it.each(['', 'X_Under', 'X.Dot', 'X:Y', 'ß', 'X Y', 'a\u0000'])('rejects %j', (name) => {
    expect(httpParamName(name)).toBeNull();
  });
});

describe('SERVER_SOFTWARE', () => {
  it('names the product and its version, and says nginx in lower case, as WordPress looks for it (got_url_rewrite: pretty permalinks)', () => {
    expect(SERVER_SOFTWARE).toMatch(/^fastcgi-pool\/\d+\.\d+\.\d+ \(nginx-compatible\)$/);
    // wp-includes/vars.php: $is_nginx = ( strpos( $_SERVER['SERVER_SOFTWARE'], 'nginx' ) !== false );
    expect(SERVER_SOFTWARE.includes('nginx')).toBe(true);
  });
});
