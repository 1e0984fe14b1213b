/** An error page ready to send. */
export interface ErrorPage {
  body: string;
  contentType: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/**
 * A small, self-contained HTML error page: no scripts, no remote fonts,
 * styles or images (it must render offline and cannot leak the URL to
 * anyone), every input HTML-escaped, because `detail` often quotes the
 * request URL or a script's output. The page says what happened and, in
 * `hints`, what the developer can do about it.
 */
export function errorPage(status: number, title: string, detail: string, hints: readonly string[] = []): ErrorPage {
  const code = Number.isInteger(status) ? String(status) : '???';
  const heading = `${code} ${escapeHtml(title)}`;
  const hintList = hints.length === 0 ? '' : `\n<h2>What you can do</h2>\n<ul>\n${hints.map((h) => `<li>${escapeHtml(h)}</li>`).join('\n')}\n</ul>`;
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
<title>${heading}</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .5rem}
h2{font-size:1rem;margin:1.5rem 0 .25rem}
.detail{white-space:pre-wrap;overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem;padding:.75rem 1rem;border-left:3px solid #c33;background:rgba(127,127,127,.1)}
footer{margin-top:2rem;font-size:.8rem;opacity:.7}
</style>
</head>
<body>
<h1>${heading}</h1>
<p class="detail">${escapeHtml(detail)}</p>${hintList}
<footer>FastCGI Pool</footer>
</body>
</html>
`;
  return { body, contentType: 'text/html; charset=utf-8' };
}
