import { connect } from 'node:net';

/** One HTTP/1.1 response as it came off the wire. */
export interface RawReply {
  status: number;
  /** Lower-cased names, in arrival order. */
  headers: Array<[string, string]>;
  /** The body, de-chunked. */
  body: Buffer;
  /** The body's HTTP chunks as sent (empty without Transfer-Encoding: chunked). */
  chunks: Buffer[];
}

export const headerOf = (reply: RawReply, name: string): string | undefined => reply.headers.find(([n]) => n === name)?.[1];

/**
 * Sends one request on a fresh connection (`Connection: close`, unless the
 * request says otherwise; then it is read until its framing is complete) and
 * parses the reply, keeping the chunk boundaries.
 */
export function rawRequest(port: number, method: string, target: string, headers: ReadonlyArray<[string, string]> = []): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const lines = [`${method} ${target} HTTP/1.1`, `Host: localhost:${port}`, ...headers.map(([n, v]) => `${n}: ${v}`)];
    if (!headers.some(([n]) => n.toLowerCase() === 'connection')) lines.push('Connection: close');
    const done = (): void => {
      const reply = parseRawReply(Buffer.concat(received), method === 'HEAD');
      if (reply === null) return;
      socket.destroy();
      resolve(reply);
    };
    socket.on('data', (data: Buffer) => {
      received.push(data);
      done();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const reply = parseRawReply(Buffer.concat(received), method === 'HEAD', true);
      if (reply) resolve(reply);
      else reject(new Error(`incomplete reply to ${method} ${target}: ${Buffer.concat(received).toString('latin1').slice(0, 200)}`));
    });
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}

/** The reply, or null while it is not complete by its framing (`ended`: the connection closed, so the body is what came). */
export function parseRawReply(data: Buffer, isHead: boolean, ended = false): RawReply | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  const rest = data.subarray(end + 4);
  const reply: RawReply = { status, headers, body: Buffer.alloc(0), chunks: [] };
  if (isHead || status === 204 || status === 304) return reply;
  if (/chunked/i.test(headerOf(reply, 'transfer-encoding') ?? '')) {
    for (let p = 0; ;) {
      const lineEnd = rest.indexOf('\r\n', p);
      if (lineEnd < 0) return null;
      const size = parseInt(rest.subarray(p, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        reply.body = Buffer.concat(reply.chunks);
        return reply;
      }
      if (rest.length < lineEnd + 2 + size + 2) return null;
      reply.chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      p = lineEnd + 2 + size + 2;
    }
  }
  const length = headerOf(reply, 'content-length');
  if (length !== undefined) {
    if (rest.length < Number(length)) return null;
    reply.body = rest.subarray(0, Number(length));
    return reply;
  }
  if (!ended) return null;
  reply.body = rest;
  return reply;
}
