/**
 * The pool's real {@link DebuggerHost}: asks php-cgi whether it has Xdebug
 * (with the workers' environment and ini overrides, which decide what it
 * loads) and starts the {@link DebugRelay} between the workers and the IDE.
 */
import { workerEnvironment } from '../platform/workerEnvironment';
import type { DebuggerHost, DebugRelayPort } from '../pool/debugging';
import type { DebugClientAddress } from './debugClient';
import { DebugRelay } from './relay';
import { detectXdebug, type XdebugAvailability } from './xdebugDetect';

export class XdebugHost implements DebuggerHost {
  constructor(
    private readonly phpCgi: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly ini: Readonly<Record<string, string>>,
  ) {}

  /** For a pool: its php-cgi, with the environment and ini overrides its workers get. */
  static forPool(options: { phpCgi: string; env: Readonly<Record<string, string | undefined>>; ini: Readonly<Record<string, string>> }): XdebugHost {
    return new XdebugHost(options.phpCgi, workerEnvironment(process.env, options.env), options.ini);
  }

  detect(): Promise<XdebugAvailability> {
    return detectXdebug(this.phpCgi, { env: this.env, ini: this.ini });
  }

  listen(ide: DebugClientAddress, acceptPid: (pid: number) => boolean): Promise<DebugRelayPort> {
    return DebugRelay.listen({ ide, acceptPid });
  }
}
