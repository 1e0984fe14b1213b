import { randomBytes } from 'node:crypto';
import { DASHBOARD_TITLE } from '../../shared/dashboardProtocol';

/**
 * The dashboard's HTML, with no `vscode` import: the panel calls it with
 * `asWebviewUri` URIs and `webview.cspSource`, the headless browser test with
 * the URIs of a local server — so the test loads exactly what VS Code loads.
 */
export interface DashboardHtmlOptions {
  /** `webview.cspSource`: where styles, fonts and scripts may come from. */
  readonly cspSource: string;
  /** A fresh nonce per page load (`createNonce()`). */
  readonly nonce: string;
  /** dist/webview/main.js */
  readonly scriptUri: string;
  /** dist/webview/dashboard.css */
  readonly styleUri: string;
  /** dist/webview/toolkit.min.js (@vscode/webview-ui-toolkit 1.4.0, an ES module that registers its components). */
  readonly toolkitUri: string;
}

/** 128 random bits in base64, as CSP nonces want them. */
export function createNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The SHA-256 of the empty string. The toolkit's FAST foundation probes for
 * `:focus-visible` support by appending an *empty* <style> element and
 * inserting a rule through the CSSOM; without this hash that probe is a CSP
 * violation (and FAST falls back to `:focus`, showing focus rings on every
 * click). An empty element is all the hash admits: any <style> with content
 * is still refused.
 */
const EMPTY_STYLE_HASH = `'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='`;

/**
 * Nothing by default; scripts only with the nonce; styles and fonts only from
 * the extension's own files (plus the empty <style> above). No
 * `'unsafe-inline'` styles: the UI sets styles through the CSSOM
 * (element.style, adoptedStyleSheets), which CSP does not govern, never
 * through style attributes or <style> elements with content. No img-src and
 * no connect-src: the dashboard loads no images and fetches nothing.
 */
export function dashboardContentSecurityPolicy(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `script-src 'nonce-${nonce}'`, `style-src ${cspSource} ${EMPTY_STYLE_HASH}`, `font-src ${cspSource}`].join('; ');
}

/** One source of `webview.cspSource`: `'self'` or a scheme://host source. */
const CSP_SOURCE = /^(?:'self'|[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s;,'"]+)$/;

/**
 * Whether `webview.cspSource` is what VS Code gives: one or more source
 * expressions separated by single spaces. The desktop gives
 * `https://*.vscode-cdn.net`; VS Code for the Web and code-server give
 * `'self' https://*.vscode-cdn.net`. Anything that could widen the policy is
 * refused: `;` or `,` (another directive or policy), any quoted keyword but
 * `'self'` (`'unsafe-inline'`, nonces, hashes), a bare `*` or scheme.
 */
export function isCspSourceList(value: string): boolean {
  return value.split(' ').every((source) => CSP_SOURCE.test(source));
}

export function renderDashboardHtml(options: DashboardHtmlOptions): string {
  const { cspSource, nonce } = options;
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(nonce)) throw new Error('renderDashboardHtml: the nonce must be base64');
  if (!isCspSourceList(cspSource))
    throw new Error(`renderDashboardHtml: cspSource is not a list of CSP source expressions: ${JSON.stringify(cspSource.slice(0, 200))}`);
  const csp = dashboardContentSecurityPolicy(cspSource, nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttribute(csp)}">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="${escapeAttribute(options.styleUri)}">
  <title>${escapeText(DASHBOARD_TITLE)}</title>
</head>
<body>
  <main id="app" aria-busy="true">
    <p class="placeholder">Loading the dashboard…</p>
  </main>
  <script type="module" nonce="${nonce}" src="${escapeAttribute(options.toolkitUri)}"></script>
  <script defer nonce="${nonce}" src="${escapeAttribute(options.scriptUri)}"></script>
</body>
</html>
`;
}

function escapeAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function escapeText(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
