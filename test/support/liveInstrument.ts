/**
 * Runs in the page before any of its scripts: records when the document's
 * `load` event fired (`__loadedAt`) and whether its live-reload stream said
 * hello (`__liveHello`), by wrapping EventSource. Browser code, as a string
 * (this project's TypeScript has no DOM types outside webview/).
 */
export const LIVE_RELOAD_INSTRUMENT = `
  addEventListener('load', () => { window.__loadedAt = Date.now(); });
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('hello', () => { window.__liveHello = true; });
    }
  };
`;
