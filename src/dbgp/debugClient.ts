/** Where the IDE listens for debug sessions: `--debug-client HOST:PORT`, setting `fastcgiPool.debugClient`. */
export interface DebugClientAddress {
  host: string;
  port: number;
}

/** Xdebug 3's own default (`xdebug.client_host`, `xdebug.client_port`), which PHP Debug listens on. */
export const DEFAULT_DEBUG_CLIENT: Readonly<DebugClientAddress> = { host: '127.0.0.1', port: 9003 };

/** A `--debug-client` value that is not `HOST:PORT`; the message says what was expected. */
export class DebugClientSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DebugClientSyntaxError';
  }
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (host 127.0.0.1).
 * Empty text gives the default. Throws {@link DebugClientSyntaxError}.
 */
export function parseDebugClient(text: string): DebugClientAddress {
  const value = text.trim();
  if (value === '') return { ...DEFAULT_DEBUG_CLIENT };
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(value);
  if (bracketed) {
    [, host, portText] = bracketed;
  } else if (/^\d+$/.test(value)) {
    host = DEFAULT_DEBUG_CLIENT.host;
    portText = value;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon <= 0 || value.indexOf(':') !== colon) {
      throw new DebugClientSyntaxError(`debug client "${text}" is not HOST:PORT (e.g. 127.0.0.1:9003; an IPv6 address goes in brackets: [::1]:9003)`);
    }
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new DebugClientSyntaxError(`debug client "${text}": the port must be a number from 1 to 65535`);
  }
  return { host, port };
}

/** `127.0.0.1:9003`, `[::1]:9003`. */
export function formatDebugClient(address: DebugClientAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
