import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultGatewayOptions } from '../../src/gateway/gateway';
import type { HttpIo, HttpIoClient } from '../../src/gateway/httpIo';
import { LiveReload, type LiveReloadNotice } from '../../src/gateway/liveReload';
import { Router } from '../../src/gateway/router';

/** An HttpIo that records what is written to it, for one event stream. */
class RecordingIo implements HttpIo {
  readonly url = '/.fastcgi-pool/live';
  readonly httpVersion = '1.1';
  readonly rawHeaders: readonly string[] = [];
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  readonly declaresBody = false;
  headersSent = false;
  statusCode = 0;
  completed = false;
  headers: readonly string[] = [];
  readonly written: string[] = [];
  client: HttpIoClient | null = null;
  constructor(readonly method = 'GET') {}
  bodyIfReady(): null {
    return null;
  }
  receiveBody(): never {
    throw new Error('no body');
  }
  attach(client: HttpIoClient): void {
    this.client = client;
  }
  writeHead(status: number, _text: string | undefined, headers: readonly string[]): void {
    this.statusCode = status;
    this.headers = headers;
    this.headersSent = true;
  }
  write(chunk: Buffer): boolean {
    this.written.push(chunk.toString('utf8'));
    return true;
  }
  end(last?: Buffer | string): void {
    if (last !== undefined) this.written.push(last.toString());
    this.completed = true;
    this.client?.onClientClose();
  }
  cut(): void {
    this.completed = true;
  }
  /** The events received, as `name data` lines. */
  events(): string[] {
    return this.written
      .join('')
      .split('\n\n')
      .filter((block) => block.includes('event: '))
      .map((block) => `${/event: (\S+)/.exec(block)?.[1]} ${/data: (.*)/.exec(block)?.[1]}`);
  }
}

describe('LiveReload: coalesced events to the listening pages', () => {
  const notices: LiveReloadNotice[] = [];
  let live: LiveReload;

  beforeAll(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    live?.close();
    notices.length = 0;
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  function open(): RecordingIo {
    const io = new RecordingIo();
    live.openStream(io);
    return io;
  }

  it('opens an event stream that names the server’s run, and counts the page as a client until it leaves', () => {
    live = new LiveReload((n) => notices.push(n), { quietMs: 80, maxDelayMs: 1_000 });
    const io = open();
    expect(io.statusCode).toBe(200);
    expect(io.headers).toContain('text/event-stream; charset=utf-8');
    expect(io.events()).toEqual([`hello {"run":"${live.run}"}`]);
    expect(live.status().clients).toBe(1);
    io.client?.onClientClose();
    expect(live.status().clients).toBe(0);
  });

  it('turns 20 saves in 100 ms into one reload, sent once the burst is quiet', () => {
    live = new LiveReload((n) => notices.push(n), { quietMs: 80, maxDelayMs: 1_000 });
    const pages = [open(), open()];
    for (let i = 0; i < 20; i++) {
      live.changed([i % 2 === 0 ? 'index.php' : 'src/handlers.php']);
      vi.advanceTimersByTime(5);
    }
    expect(pages[0]?.events()).toHaveLength(1); // just hello: the burst is still going
    // The last save came at 95 ms: the reload goes 80 ms (this test's quiet period) later, at 175 ms.
    vi.advanceTimersByTime(74);
    expect(pages[0]?.events()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    for (const page of pages) expect(page.events().slice(1)).toEqual(['reload {"files":["index.php","src/handlers.php"]}']);
    expect(live.status()).toMatchObject({ reloads: 1, stylesheetSwaps: 0 });
    expect(notices).toEqual([{ type: 'broadcast', action: 'reload', files: ['index.php', 'src/handlers.php'], clients: 2 }]);
  });

  it('sends css when only stylesheets changed, and reload when a stylesheet came with anything else', () => {
    live = new LiveReload((n) => notices.push(n), { quietMs: 80, maxDelayMs: 1_000 });
    const page = open();
    live.changed(['assets/style.css']);
    vi.advanceTimersByTime(80);
    live.changed(['assets/style.css', 'index.php']);
    vi.advanceTimersByTime(80);
    expect(page.events().slice(1)).toEqual(['css {"files":["assets/style.css"]}', 'reload {"files":["assets/style.css","index.php"]}']);
    expect(live.status()).toMatchObject({ reloads: 1, stylesheetSwaps: 1 });
  });

  it('does not wait for ever: a change that never goes quiet still reloads after maxDelayMs', () => {
    live = new LiveReload((n) => notices.push(n), { quietMs: 80, maxDelayMs: 1_000 });
    const page = open();
    for (let t = 0; t < 1_500; t += 50) {
      live.changed(['storage/log.php']);
      vi.advanceTimersByTime(50);
    }
    expect(page.events().filter((e) => e.startsWith('reload'))).toHaveLength(1);
  });

  it('remembers pages blocked by CSP per path for the status JSON, tells once per policy, and forgets a path that is injected again', () => {
    live = new LiveReload((n) => notices.push(n));
    live.blockedByCsp('/secure.php', 'script-src', "script-src 'nonce-a'");
    live.blockedByCsp('/secure.php', 'script-src', "script-src 'nonce-a'");
    expect(live.status().blockedByCsp).toEqual([
      { path: '/secure.php', directive: 'script-src', policy: "script-src 'nonce-a'", at: expect.any(Number) as number },
    ]);
    expect(notices).toHaveLength(1);
    live.notBlocked('/secure.php');
    expect(live.status().blockedByCsp).toEqual([]);
  });

  it('ends every stream at close, so the server can stop without waiting for them', () => {
    live = new LiveReload();
    const pages = [open(), open()];
    live.changed(['index.php']);
    live.close();
    for (const page of pages) expect(page.completed).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(pages[0]?.events()).toHaveLength(1); // the pending change went with it
    const late = open();
    expect(late.completed).toBe(true);
  });

  it('answers HEAD on the stream with its headers only', () => {
    live = new LiveReload();
    const io = new RecordingIo('HEAD');
    live.openStream(io);
    expect([io.statusCode, io.completed, io.written]).toEqual([200, true, []]);
  });
});

describe('the router: live reload’s paths', () => {
  let root: string;
  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'gw-live-')));
    writeFileSync(join(root, 'index.php'), '<?php');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('routes the script and the event stream when it is on (with or without a query), and 404s them when it is off, never to the front controller', () => {
    const on = new Router({ ...defaultGatewayOptions, documentRoot: root, liveReload: true });
    const off = new Router({ ...defaultGatewayOptions, documentRoot: root, liveReload: false });
    expect(on.route('GET', '/.fastcgi-pool/live.js', 'localhost', false)).toEqual({ kind: 'live-script' });
    expect(on.route('GET', '/.fastcgi-pool/live?x=1', 'localhost', false)).toEqual({ kind: 'live-events' });
    expect(on.route('HEAD', '/.fastcgi-pool/live', 'localhost', false)).toEqual({ kind: 'live-events' });
    expect(on.route('POST', '/.fastcgi-pool/live', 'localhost', false)).toMatchObject({ kind: 'refused', status: 405 });
    expect(off.route('GET', '/.fastcgi-pool/live.js', 'localhost', false)).toEqual({ kind: 'not-found' });
    expect(off.route('GET', '/.fastcgi-pool/live', 'localhost', false)).toEqual({ kind: 'not-found' });
    // Neighbours are not live reload's: the usual rules (a dot segment is forbidden).
    expect(on.route('GET', '/.fastcgi-pool/lively', 'localhost', false)).toMatchObject({ kind: 'forbidden' });
    // Admission still comes first.
    expect(on.route('GET', '/.fastcgi-pool/live.js', 'evil.example', false)).toMatchObject({ kind: 'refused', status: 421 });
  });
});
