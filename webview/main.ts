/**
 * The dashboard webview's entry point (bundled to dist/webview/main.js). It
 * connects the page to VS Code: messages in, intents and view state out.
 */
import {
  DASHBOARD_PROTOCOL_VERSION,
  parseDashboardViewState,
  parseHostMessage,
  type DashboardViewState,
  type WebviewToHostMessage,
} from '../src/shared/dashboardProtocol';
import { DashboardApp } from './app';

/** What VS Code injects into webviews (once per page). */
interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: DashboardViewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app');
if (!root) throw new Error('dashboard: #app is missing');

const app = new DashboardApp(
  root,
  { post: (message) => vscode.postMessage(message), saveState: (state) => vscode.setState(state) },
  parseDashboardViewState(vscode.getState()),
);

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseHostMessage(event.data);
  if (message) app.receive(message);
});

// For the frame benchmark and the tests: render counts and durations (no pool data).
(window as unknown as { __dashboardStats: DashboardApp['stats'] }).__dashboardStats = app.stats;

vscode.postMessage({ type: 'ready', protocol: DASHBOARD_PROTOCOL_VERSION });
