/**
 * The script served at `/.fastcgi-pool/live.js` (same origin as the page, so
 * a Content-Security-Policy of `script-src 'self'` lets it run). It listens
 * to `/.fastcgi-pool/live` (Server-Sent Events) next to itself, so it also
 * works behind a proxy that serves the app under a path prefix:
 *
 * - `reload`: the page reloads (the new code runs: workers revalidate opcache on every request);
 * - `css`: only stylesheets changed: every same-origin `<link rel=stylesheet>`
 *   is loaded again with a cache-busting query and swapped in once loaded,
 *   so the page keeps its scroll position, form input and state;
 * - `hello`: names the server's run; a different run after a reconnect (the
 *   pool restarted) reloads the page, since what it serves may have changed.
 *
 * Written as ES5-level browser code in a string: it is sent as is, never bundled.
 */
export const LIVE_RELOAD_CLIENT = `(function () {
  'use strict';
  if (window.__fastcgiPoolLive) return;
  window.__fastcgiPoolLive = true;
  var script = document.currentScript;
  var base = script && script.src ? script.src : location.href;
  var source = new EventSource(new URL('live', base).href);
  var run = null;
  source.addEventListener('hello', function (event) {
    var id = JSON.parse(event.data).run;
    if (run !== null && run !== id) location.reload();
    run = id;
  });
  source.addEventListener('reload', function () {
    source.close();
    location.reload();
  });
  source.addEventListener('css', function () {
    // A link already being replaced (a second change came before the new one loaded) is left to go.
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]:not([data-fastcgi-pool-stale])');
    var stamp = Date.now().toString(36);
    Array.prototype.forEach.call(links, function (link) {
      var url = new URL(link.href, location.href);
      if (url.origin !== location.origin) return;
      url.searchParams.set('fastcgi-pool-live', stamp);
      var next = link.cloneNode(false);
      next.href = url.href;
      link.setAttribute('data-fastcgi-pool-stale', '');
      next.addEventListener('load', function () { link.remove(); });
      next.addEventListener('error', function () { next.remove(); });
      link.parentNode.insertBefore(next, link.nextSibling);
    });
  });
})();
`;
