import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEvent } from '../../src/gateway/gateway';
import { startPoolServer, type PoolServer } from '../../src/gateway/poolServer';
import { phpCgi, sleep, waitFor } from '../support/helpers';

// Every request gets one access-log line (and, for a PHP request that got a
// worker, one history entry): its real status when the response head went
// out, even if the client closed right after a complete answer while the
// script ran on (MediaWiki's deferred updates); 499 when the client left
// before, as nginx logs it. Through both HTTP fronts.

type RequestEvent = Extract<GatewayEvent, { type: 'request' }>;

let docroot: string;
let server: PoolServer;
const lines: RequestEvent[] = [];
/** For each line, whether a script was still running when it was written. */
const scriptRunning = new Map<RequestEvent, boolean>();

beforeAll(async () => {
  docroot = realpathSync(mkdtempSync(join(tmpdir(), 'access-log-')));
  writeFileSync(join(docroot, 'hello.php'), '<?php echo "hello";');
  writeFileSync(join(docroot, 'note.php'), '<?php error_log("a note from PHP"); echo "noted";');
  writeFileSync(join(docroot, 'slow.php'), '<?php usleep(400000); echo "late";');
  // Sends its whole answer (with its length) first, then goes on working, as MediaWiki does.
  writeFileSync(
    join(docroot, 'deferred.php'),
    `<?php
ignore_user_abort(true);
$body = str_repeat('a', 1000);
header('Content-Length: ' . strlen($body));
echo $body;
while (ob_get_level() > 0) ob_end_flush();
flush();
usleep(300000);
`,
  );
  server = await startPoolServer({
    documentRoot: docroot,
    pool: { phpCgi, minWorkers: 2, maxWorkers: 2 },
    gateway: { port: 0 },
    onGatewayEvent: (event) => {
      if (event.type !== 'request') return;
      lines.push(event);
      const counts = server.pool.snapshot().counts;
      scriptRunning.set(event, counts.busy + counts.finishing > 0);
    },
  });
});

afterAll(async () => {
  await server.stop(1_000);
  rmSync(docroot, { recursive: true, force: true });
});

/** Sends `head` on a raw socket; resolves with what came back once `done` says so (then hangs up), or when the server closes. */
function exchange(head: string, done: (received: string) => boolean, hangUpAfterMs?: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    let received = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (done(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => resolve(received));
    socket.write(head);
    if (hangUpAfterMs !== undefined) setTimeout(() => socket.destroy(), hangUpAfterMs);
  });
}

const linesFor = (uri: string): RequestEvent[] => lines.filter((line) => line.uri === uri);

/** Waits for the line of `uri`, then a little longer, to be sure no second line comes. */
async function onlyLine(uri: string): Promise<RequestEvent> {
  await waitFor(() => linesFor(uri).length > 0, `the access-log line of ${uri}`);
  await sleep(500);
  expect(linesFor(uri)).toHaveLength(1);
  return linesFor(uri)[0] as RequestEvent;
}

describe('the access log', () => {
  it('200 and 404, one line each', async () => {
    expect((await fetch(new URL('hello.php?a=1', server.url))).status).toBe(200);
    expect((await fetch(new URL('missing.php', server.url))).status).toBe(404);
    expect(await onlyLine('/hello.php?a=1')).toMatchObject({ method: 'GET', status: 200, bytes: 5, workerId: expect.stringMatching(/^w\d+$/) });
    expect(await onlyLine('/missing.php')).toMatchObject({ status: 404, workerId: null });
  });

  for (const [front, connection] of [
    ['the lean front', 'keep-alive'],
    ["Node's front", 'close'],
  ] as const) {
    it(`499 for a client that leaves before the response begins (${front}), and the lease ends as client-abort`, async () => {
      const uri = `/slow.php?front=${connection}`;
      await exchange(`GET ${uri} HTTP/1.1\r\nHost: localhost\r\nConnection: ${connection}\r\n\r\n`, () => false, 100);
      const line = await onlyLine(uri);
      expect(line).toMatchObject({ status: 499, bytes: 0 });
      // Written when the client left, while the script still ran, not when it ended.
      expect(scriptRunning.get(line)).toBe(true);
      const entries = server.pool.snapshot().history.filter((entry) => entry.uri === uri);
      expect(entries.map((entry) => entry.outcome)).toEqual(['client-abort']);
    });

    it(`the real status for a response delivered in full to a client that closed right after, while the script ran on (${front})`, async () => {
      const uri = `/deferred.php?front=${connection}`;
      const received = await exchange(`GET ${uri} HTTP/1.1\r\nHost: localhost\r\nConnection: ${connection}\r\n\r\n`, (text) => {
        const headEnd = text.indexOf('\r\n\r\n');
        return headEnd > 0 && text.length - headEnd - 4 >= 1000;
      });
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
      const line = await onlyLine(uri);
      expect(line).toMatchObject({ status: 200 });
      expect(server.pool.snapshot().history.filter((entry) => entry.uri === uri)).toHaveLength(1);
    });
  }

  it("a listener that asked for no request events gets PHP's stderr but no access-log line (as the CLI without an access log listens)", async () => {
    const seen: GatewayEvent[] = [];
    const subscription = server.gateway.onEvent((event) => seen.push(event), { requests: false });
    try {
      const received = await exchange('GET /note.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', () => false);
      expect(received).toMatch(/^HTTP\/1\.1 200 [^]*\r\nnoted\r\n/);
      await waitFor(() => seen.some((event) => event.type === 'php-stderr' && event.text.includes('a note from PHP')), 'the php-stderr event');
      // The other listener wants request events: its line is written, this one gets none.
      await onlyLine('/note.php');
      expect(seen.filter((event) => event.type === 'request')).toEqual([]);
    } finally {
      subscription.dispose();
    }
  });
});
