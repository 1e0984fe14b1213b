import type { DebuggerSnapshot, PoolEvent } from '../pool/types';
import { formatDuration } from '../shared/text';

/**
 * What `fastcgi-pool serve` says on stderr about the step debugger: once at
 * start (whether workers debug, and how to trigger a session), then a line
 * per pause, per session's end and per IDE that cannot be reached.
 */

/** The start-up line; null when there is nothing worth saying (off, or no Xdebug installed at all). */
export function debuggerLine(debug: DebuggerSnapshot, statusUrl: string): string | null {
  const controls = statusUrl.replace(/status$/, '');
  switch (debug.status) {
    case 'enabled':
      return (
        `xdebug: Xdebug ${debug.version ?? ''} for every worker, through the pool's relay to the IDE at ${debug.ide}; ` +
        `debug a request with the XDEBUG_TRIGGER cookie or query parameter, or the next one with: curl -X POST ${controls}debug-next` +
        (debug.notes.length > 0 ? ` (${debug.notes.join('; ')})` : '')
      );
    case 'unavailable':
      // Installed but not loaded is worth a hint; no Xdebug at all is the usual case and not news.
      return debug.xdebug === 'loadable' ? `xdebug: not used: ${debug.reason ?? ''}; --xdebug on loads it for the workers` : null;
    default:
      return null;
  }
}

/** A line for a debugger event, or null for those not worth one (a session that starts or runs on). */
export function debugEventLine(event: PoolEvent): string | null {
  switch (event.type) {
    case 'worker-debug': {
      const debug = event.debug;
      if (debug?.state !== 'paused' || debug.ide !== 'connected') return null;
      return `worker ${event.workerId} (pid ${event.pid}) paused at ${debug.file ?? '?'}:${debug.line ?? '?'}; its timeouts wait`;
    }
    case 'debug-armed':
      return event.armed ? `xdebug: the next request${event.armed.pattern ? ` matching ${event.armed.pattern}` : ''} will be debugged` : null;
    case 'debug-relay': {
      const e = event.event;
      if (e.type === 'ide-unreachable') return `xdebug: no IDE answers at ${e.ide} (${e.error}); pid ${e.pid}'s request runs without the debugger`;
      if (e.type === 'ide-silent') return `xdebug: the IDE said nothing for ${formatDuration(e.silentMs)}; pid ${e.pid}'s request runs on without the debugger`;
      if (e.type === 'session-ended') return `xdebug: pid ${e.pid}'s debug session ended after ${formatDuration(e.durationMs)} (${e.reason})`;
      if (e.type === 'protocol-error') return `xdebug: pid ${e.pid}: the ${e.side} sent bytes that are not DBGp (${e.error}); session closed`;
      return null;
    }
    default:
      return null;
  }
}
