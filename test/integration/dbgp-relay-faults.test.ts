/**
 * The relay against faults real Xdebug cannot show: a fake engine (a Node
 * socket speaking DBGp as Xdebug would) sends garbage, splits its bytes
 * anywhere, reconnects under the same pid. The IDE side is a raw socket too,
 * so the test sees exactly the bytes the relay forwards.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DebugRelay, encodeEnginePacket, encodeIdeCommand, type DebugRelayEvent, type DebugRelayOptions, type DebugStatus } from '../../src/dbgp';
import { prng } from '../support/prng';
import { waitFor } from '../support/helpers';

const NS = 'xmlns="urn:debugger_protocol_v1" xmlns:xdebug="https://xdebug.org/dbgp/xdebug"';
const init = (pid: number): Buffer =>
  encodeEnginePacket(
    `<?xml version="1.0" encoding="iso-8859-1"?>\n<init ${NS} fileuri="file:///srv/app/index.php" language="PHP" appid="${pid}" idekey="1"></init>`,
  );
const breakAt = (line: number, id: number): Buffer =>
  encodeEnginePacket(
    `<?xml version="1.0" encoding="iso-8859-1"?>\n<response ${NS} command="run" transaction_id="${id}" status="break" reason="ok"><xdebug:message filename="file:///srv/app/src/A.php" lineno="${line}"></xdebug:message></response>`,
  );

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A raw IDE: collects every byte and every socket it gets. */
async function rawIde(): Promise<{ port: number; sockets: Socket[]; received: () => Buffer; server: Server }> {
  const sockets: Socket[] = [];
  const chunks: Buffer[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, sockets, received: () => Buffer.concat(chunks), server };
}

async function relayTo(
  port: number,
  options: Partial<DebugRelayOptions> = {},
): Promise<{ relay: DebugRelay; events: DebugRelayEvent[]; changes: Array<[number, DebugStatus | null]> }> {
  const relay = await DebugRelay.listen({ ide: { host: '127.0.0.1', port }, ...options });
  cleanups.push(() => relay.dispose());
  const events: DebugRelayEvent[] = [];
  const changes: Array<[number, DebugStatus | null]> = [];
  relay.onEvent((event) => events.push(event));
  relay.onChange((pid, status) => changes.push([pid, status]));
  return { relay, events, changes };
}

/** A fake engine connected to the relay. */
async function engine(relay: DebugRelay): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port: relay.port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  cleanups.push(() => socket.destroy());
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/** Writes `data` in random pieces, letting each go out on its own. */
async function writeSplit(socket: Socket, data: Buffer, rand: () => number): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    const size = 1 + Math.floor(rand() * 40);
    socket.write(data.subarray(offset, offset + size));
    offset += size;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('DBGp relay faults (fake engine)', () => {
  it('forwards bytes unchanged both ways however they are split, and follows the session through the splits', async () => {
    const ide = await rawIde();
    const { relay } = await relayTo(ide.port);
    const fake = await engine(relay);
    const rand = prng(99);
    const fromEngine = Buffer.concat([init(4242), breakAt(17, 1), encodeEnginePacket('<stream type="stdout">é</stream>')]);
    await writeSplit(fake.socket, fromEngine.subarray(0, init(4242).length), rand);
    await waitFor(() => ide.sockets.length === 1 && relay.state(4242) !== null, 'the IDE connection');
    await writeSplit(fake.socket, fromEngine.subarray(init(4242).length), rand);
    await waitFor(() => ide.received().length === fromEngine.length, 'every engine byte at the IDE');
    expect(ide.received().equals(fromEngine)).toBe(true);
    expect(relay.state(4242)).toMatchObject({ state: 'paused', file: '/srv/app/src/A.php', line: 17 });

    const fromIde = Buffer.concat([
      encodeIdeCommand('context_get', 2, '-d 0'),
      encodeIdeCommand('step_over', 3),
      encodeIdeCommand('eval', 4, '', 'x'.repeat(500)),
    ]);
    await writeSplit(ide.sockets[0], fromIde, rand);
    await waitFor(() => fake.received().length === fromIde.length, 'every IDE byte at the engine');
    expect(fake.received().equals(fromIde)).toBe(true);
    expect(relay.state(4242)).toMatchObject({ state: 'running', line: null });
    expect(relay.stats).toEqual({ accepted: 1, sessions: 1, bytesToIde: fromEngine.length, bytesToEngine: fromIde.length });
  });

  it('refuses what is not a DBGp engine: HTTP, a first packet that is not init, an init without a pid, silence', async () => {
    const ide = await rawIde();
    const { relay, events } = await relayTo(ide.port, { initTimeoutMs: 200 });
    const attempts = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      encodeEnginePacket('<response status="break"/>'),
      encodeEnginePacket('<init appid="abc"/>'),
      Buffer.alloc(0),
    ];
    for (const bytes of attempts) {
      const fake = await engine(relay);
      fake.socket.write(bytes);
      await fake.closed;
    }
    expect(events).toEqual([
      { type: 'rejected', pid: null, reason: 'not DBGp: DBGp packet length has a non-digit byte 0x47 after ""' },
      { type: 'rejected', pid: null, reason: 'the first DBGp packet is <response>, not <init>' },
      { type: 'rejected', pid: null, reason: 'the init packet has no numeric appid (the worker pid)' },
      { type: 'rejected', pid: null, reason: 'no DBGp init packet within 200 ms' },
    ]);
    expect(ide.sockets).toHaveLength(0);
    expect(relay.stats.accepted).toBe(4);
  });

  it('an IDE that sends garbage: both sides are closed with a protocol-error', async () => {
    const ide = await rawIde();
    const { relay, events } = await relayTo(ide.port);
    const fake = await engine(relay);
    fake.socket.write(init(7));
    await waitFor(() => ide.sockets.length === 1, 'the IDE connection');
    ide.sockets[0].write('HELLO?\r\n');
    await fake.closed;
    await waitFor(() => relay.state(7) === null, 'the session to end');
    expect(events.map((event) => event.type)).toEqual(['session-started', 'protocol-error', 'session-ended']);
    expect(events[1]).toEqual({ type: 'protocol-error', pid: 7, side: 'ide', error: 'not a DBGp command: "HELLO?\\x0d\\x0a"' });
    expect(fake.received().length).toBe(0); // the garbage never reached the engine
  });

  it('the same pid connecting again replaces its old session (the worker moved on to its next request)', async () => {
    const ide = await rawIde();
    const { relay, changes, events } = await relayTo(ide.port);
    const first = await engine(relay);
    first.socket.write(Buffer.concat([init(7)]));
    await waitFor(() => relay.state(7) !== null, 'the first session');
    const second = await engine(relay);
    second.socket.write(init(7));
    await first.closed;
    await waitFor(() => ide.sockets.length === 2 && relay.state(7) !== null, 'the second session');
    second.socket.write(breakAt(3, 1));
    await waitFor(() => relay.state(7)?.state === 'paused', 'the second session paused');
    expect(changes.map(([, status]) => status?.state ?? null)).toEqual(['running', null, 'running', 'paused']);
    expect(events.filter((event) => event.type === 'session-ended')).toEqual([expect.objectContaining({ pid: 7, reason: 'replaced' })]);
  });

  it('endSession and endAll close both sides and keep the relay listening', async () => {
    const ide = await rawIde();
    const { relay, events } = await relayTo(ide.port);
    const fakes = [await engine(relay), await engine(relay)];
    fakes[0].socket.write(init(11));
    fakes[1].socket.write(init(12));
    await waitFor(() => relay.states().size === 2, 'two sessions');
    expect(relay.endSession(11)).toBe(true);
    expect(relay.endSession(99)).toBe(false);
    await fakes[0].closed;
    relay.endAll();
    await fakes[1].closed;
    await waitFor(() => relay.states().size === 0, 'no sessions');
    expect(events.filter((event) => event.type === 'session-ended').map((event) => event.type === 'session-ended' && event.reason)).toEqual([
      'ended-by-pool',
      'ended-by-pool',
    ]);
    const third = await engine(relay);
    third.socket.write(init(13));
    await waitFor(() => relay.state(13) !== null, 'a new session after endAll');
  });
});
