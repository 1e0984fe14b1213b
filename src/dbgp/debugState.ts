/**
 * A worker's debug state: what the relay learns from the DBGp traffic of one
 * session, and its projection into the status JSON (`worker.debug`).
 */
import { CONTINUATION_COMMANDS, ENDING_COMMANDS, fileUriToPath, type EngineMessage } from './packets';

/**
 * `worker.debug` in the status JSON; these names are an interface (the
 * dashboard, the CLI's status endpoint and the tree read them).
 * - `running`: the worker executes PHP under the debugger (or the IDE is
 *   still setting up breakpoints right after the worker connected);
 * - `paused`: stopped at a breakpoint or a step, `file`:`line`, waiting for a human;
 * - `stopping`: the script ended, Xdebug waits for the IDE's last word before
 *   the response is released.
 */
export interface DebugStatus {
  state: 'running' | 'paused' | 'stopping';
  /** Absolute path of the file the engine is in (the script it started with, until a break says more); a non-file URI as is. */
  file: string | null;
  /** 1-based line of the break; null while running. */
  line: number | null;
  /** When `state` last changed (epoch ms). */
  since: number;
  /** `unreachable`: the IDE refused, did not answer or hung up; the session is being closed. */
  ide: 'connected' | 'unreachable';
}

/**
 * The session's phase, finer than {@link DebugStatus.state}:
 * `connected` (init seen, the IDE negotiates features and breakpoints) is
 * shown as `running`, since the worker is not waiting for a human.
 */
export type DebugPhase = 'connected' | 'running' | 'paused' | 'stopping';

/** Everything the relay knows about one worker's session. */
export interface DebugSessionInfo {
  pid: number;
  phase: DebugPhase;
  /** The script the request started (the init packet's `fileuri`), as a path. */
  script: string | null;
  /** The IDE key Xdebug sent (the trigger's value, or `xdebug.idekey`). */
  idekey: string | null;
  status: DebugStatus;
  /** When the worker's debug connection was accepted (epoch ms). */
  connectedAt: number;
}

function projectState(phase: DebugPhase): DebugStatus['state'] {
  return phase === 'connected' ? 'running' : phase;
}

/**
 * Follows one session from the DBGp traffic. Pure: the relay feeds it the
 * messages it parses and the time, and asks whether the projection changed.
 */
export class DebugStateTracker {
  private phase: DebugPhase = 'connected';
  private file: string | null;
  private line: number | null = null;
  private since: number;
  private ide: DebugStatus['ide'] = 'connected';
  private current: DebugStatus;

  constructor(
    readonly pid: number,
    readonly script: string | null,
    readonly idekey: string | null,
    readonly connectedAt: number,
  ) {
    this.file = script;
    this.since = connectedAt;
    this.current = this.build();
  }

  /** The status JSON value; a new object only when something changed. */
  get status(): DebugStatus {
    return this.current;
  }

  get info(): DebugSessionInfo {
    return { pid: this.pid, phase: this.phase, script: this.script, idekey: this.idekey, status: this.current, connectedAt: this.connectedAt };
  }

  /** An engine packet went to the IDE. Returns true when the status changed. */
  onEngineMessage(message: EngineMessage, now: number): boolean {
    if (message.kind !== 'response' || message.status === null) return false;
    switch (message.status) {
      case 'break':
        // A `status` or `stack_get` while paused repeats the break without a location: keep the one we have.
        if (message.location !== null) {
          this.file = fileUriToPath(message.location.fileUri);
          this.line = message.location.line;
        }
        return this.moveTo('paused', now);
      case 'running':
        return this.moveTo('running', now);
      case 'stopping':
      case 'stopped':
        this.line = null;
        return this.moveTo('stopping', now);
      case 'starting':
        return false;
    }
  }

  /** A command went to the engine. Returns true when the status changed. */
  onIdeCommand(name: string, now: number): boolean {
    if (CONTINUATION_COMMANDS.has(name)) {
      // The stopping engine ends the script on any command; it does not run again.
      if (this.phase === 'stopping') return false;
      this.line = null;
      return this.moveTo('running', now);
    }
    if (ENDING_COMMANDS.has(name)) {
      this.line = null;
      return this.moveTo('stopping', now);
    }
    return false;
  }

  /** The IDE refused, went silent or hung up. Returns true when the status changed. */
  onIdeLost(): boolean {
    if (this.ide === 'unreachable') return false;
    this.ide = 'unreachable';
    this.current = this.build();
    return true;
  }

  /** True while the engine waits for the IDE without a human reason: setting up, or at the end of the script. */
  get waitsForIde(): boolean {
    return this.phase === 'connected' || this.phase === 'stopping';
  }

  get currentPhase(): DebugPhase {
    return this.phase;
  }

  private moveTo(phase: DebugPhase, now: number): boolean {
    const before = this.current;
    if (projectState(phase) !== before.state) this.since = now;
    this.phase = phase;
    const next = this.build();
    if (next.state === before.state && next.file === before.file && next.line === before.line && next.since === before.since) return false;
    this.current = next;
    return true;
  }

  private build(): DebugStatus {
    return { state: projectState(this.phase), file: this.file, line: this.line, since: this.since, ide: this.ide };
  }
}
