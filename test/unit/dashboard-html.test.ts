import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNonce, dashboardContentSecurityPolicy, isCspSourceList, renderDashboardHtml } from '../../src/extension/dashboard/html';

const options = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce: 'c2VjcmV0LW5vbmNlLTEyMw==',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/main.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.css',
  toolkitUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/toolkit.min.js',
};

describe('renderDashboardHtml', () => {
  const html = renderDashboardHtml(options);

  it('sets a strict CSP first thing in <head>', () => {
    const csp = dashboardContentSecurityPolicy(options.cspSource, options.nonce);
    expect(csp).toBe(
      `default-src 'none'; script-src 'nonce-${options.nonce}'; style-src ${options.cspSource} 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='; font-src ${options.cspSource}`,
    );
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    // …and the hash is the empty string's: an empty <style> is all it admits.
    expect(createHash('sha256').update('').digest('base64')).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    const head = html.slice(html.indexOf('<head>'), html.indexOf('<link'));
    expect(head).toContain(`<meta http-equiv="Content-Security-Policy" content="${csp}">`);
  });

  it('loads only the three local files, every script with the nonce, and nothing inline', () => {
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts).toEqual([
      `<script type="module" nonce="${options.nonce}" src="${options.toolkitUri}">`,
      `<script defer nonce="${options.nonce}" src="${options.scriptUri}">`,
    ]);
    expect(html).toMatch(/<script[^>]*><\/script>\s*<script[^>]*><\/script>/);
    expect(html).toContain(`<link rel="stylesheet" href="${options.styleUri}">`);
    expect(html).not.toMatch(/<style|\sstyle="|\son[a-z]+="|https?:\/\/(?!file\+\.vscode-resource)/);
  });

  it('escapes the URIs and refuses a nonce or source that would break the policy', () => {
    expect(renderDashboardHtml({ ...options, scriptUri: 'x"><script>alert(1)</script>' })).toContain('src="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(() => renderDashboardHtml({ ...options, nonce: "abc' 'unsafe-inline" })).toThrow(/nonce/);
    expect(() => renderDashboardHtml({ ...options, cspSource: "https://x; script-src 'unsafe-inline'" })).toThrow(/cspSource/);
  });

  it("takes the source list of VS Code for the Web and code-server ('self' plus the CDN), and nothing that widens the policy", () => {
    // webview.cspSource in VS Code 1.100 for the Web / code-server 4.100.
    const web = "'self' https://*.vscode-cdn.net";
    expect(isCspSourceList(web)).toBe(true);
    expect(renderDashboardHtml({ ...options, cspSource: web })).toContain(`style-src ${web} 'sha256-`);
    expect(isCspSourceList('https://*.vscode-cdn.net')).toBe(true);
    expect(isCspSourceList('http://127.0.0.1:41234')).toBe(true);
    for (const bad of [
      '',
      ' ',
      "'self'  https://x",
      "'unsafe-inline'",
      "https://x 'unsafe-eval'",
      "'nonce-abc'",
      "'sha256-abc='",
      '*',
      'https:',
      'data:',
      'https://x,https://y',
      'https://x;',
      'https://x\nscript-src *',
      '"https://x"',
    ]) {
      expect(isCspSourceList(bad), JSON.stringify(bad)).toBe(false);
      expect(() => renderDashboardHtml({ ...options, cspSource: bad }), JSON.stringify(bad)).toThrow(/cspSource/);
    }
  });
});

describe('createNonce', () => {
  it('is 128 random bits in base64, different each time', () => {
    const a = createNonce();
    expect(a).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(createNonce()).not.toBe(a);
  });
});
