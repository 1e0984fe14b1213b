import { describe, expect, it } from 'vitest';
import { errorPage, escapeHtml } from '../../src/gateway/errorPages';

describe('errorPage', () => {
  it('is a complete UTF-8 HTML page with status, title, detail and hints', () => {
    const page = errorPage(502, 'Bad Gateway', 'Worker w1 exited with code 255.', ['Check the PHP error log.', 'Restart the pool.']);
    expect(page.contentType).toBe('text/html; charset=utf-8');
    expect(page.body).toMatch(/^<!doctype html>/);
    expect(page.body).toContain('<meta charset="utf-8">');
    expect(page.body).toContain('<title>502 Bad Gateway</title>');
    expect(page.body).toContain('<h1>502 Bad Gateway</h1>');
    expect(page.body).toContain('Worker w1 exited with code 255.');
    expect(page.body).toContain('<li>Check the PHP error log.</li>');
    expect(page.body).toContain('<li>Restart the pool.</li>');
  });

  it('escapes every input, so a URL in the detail cannot inject markup', () => {
    const page = errorPage(404, '<b>t</b>', "Nothing at /\"><script>alert(1)</script>&x='1'", ['<img src=x onerror=alert(1)>']);
    expect(page.body).not.toContain('<script>');
    expect(page.body).not.toContain('<img');
    expect(page.body).not.toContain('<b>');
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;x=&#39;1&#39;');
    expect(page.body).toContain('&quot;&gt;');
  });

  it('loads nothing from anywhere: no scripts, links, images or remote URLs', () => {
    const page = errorPage(500, 'Internal Server Error', 'x', ['y']);
    expect(page.body).not.toMatch(/<script|<link|<img|<iframe|url\(|https?:\/\//i);
  });

  it('leaves out the hints section when there are none', () => {
    expect(errorPage(404, 'Not Found', 'x').body).not.toContain('<ul>');
    expect(errorPage(404, 'Not Found', 'x', []).body).not.toContain('<ul>');
  });

  it('keeps line breaks of a multi-line detail readable', () => {
    expect(errorPage(502, 'Bad Gateway', 'line 1\nline 2').body).toContain('line 1\nline 2');
  });

  it('escapeHtml covers the five special characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
    expect(escapeHtml('plain ünï')).toBe('plain ünï');
  });
});
