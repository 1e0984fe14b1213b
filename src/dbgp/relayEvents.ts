/** What the relay reports besides status changes: things worth a log line. */

/** Why a session ended. */
export type SessionEndReason =
  /** The worker closed its debug connection: the request ended, or the process died. */
  | 'worker-closed'
  /** The IDE hung up (or sent `detach`/`stop` and closed); the worker was let go. */
  | 'ide-closed'
  /** Nothing listens at the debug client address, or the connect timed out. */
  | 'ide-unreachable'
  /** The IDE left the engine waiting (after init, or at the end of the script) beyond the silence limit. */
  | 'ide-silent'
  /** One side sent bytes that are not DBGp. */
  | 'protocol-error'
  /** {@link DebugRelay.endSession} or endAll (e.g. "Stop Debugging Requests"). */
  | 'ended-by-pool'
  /** The same worker opened a new debug connection before the old one closed. */
  | 'replaced'
  /** The relay was disposed. */
  | 'relay-closed';

export type DebugRelayEvent =
  | { type: 'session-started'; pid: number; script: string | null; idekey: string | null }
  | { type: 'session-ended'; pid: number; reason: SessionEndReason; durationMs: number; bytesToIde: number; bytesToEngine: number }
  /** The IDE could not be reached; the worker's side was closed so its request runs on without the debugger. */
  | { type: 'ide-unreachable'; pid: number; ide: string; error: string }
  /** The IDE said nothing for `silentMs` while the engine waited for it; both sides were closed. */
  | { type: 'ide-silent'; pid: number; silentMs: number }
  /** A connection was refused before it became a session: no init, an init without a pid, or a pid that is not ours. */
  | { type: 'rejected'; pid: number | null; reason: string }
  | { type: 'protocol-error'; pid: number; side: 'engine' | 'ide'; error: string };
