/**
 * A fake IDE for the DBGp tests: listens like PHP Debug does, reads the
 * engine's packets with the product's own framing decoder, and sends
 * commands. About as much DBGp as a test needs, and no more.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { EnginePacketDecoder, encodeIdeCommand } from '../../src/dbgp/framing';

export class FakeIdeConnection {
  private readonly packets: string[] = [];
  private readonly waiters: Array<(xml: string) => void> = [];
  private nextId = 1;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    const decoder = new EnginePacketDecoder((packet) => this.onPacket(packet.head.toString('latin1')), { headBytes: 64 * 1024 * 1024 });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  private onPacket(xml: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(xml);
    else this.packets.push(xml);
  }

  /** The next packet from the engine (the first is `<init>`). */
  nextPacket(): Promise<string> {
    const queued = this.packets.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends `name -i N args` and resolves with the engine's response to it. */
  async command(name: string, args = ''): Promise<string> {
    const id = this.nextId++;
    this.socket.write(encodeIdeCommand(name, id, args));
    for (;;) {
      const xml = await this.nextPacket();
      if (xml.includes(`transaction_id="${id}"`)) return xml;
    }
  }

  /** Sends a command without waiting for an answer (the engine may never give one). */
  send(name: string, args = ''): void {
    this.socket.write(encodeIdeCommand(name, this.nextId++, args));
  }

  hangUp(): void {
    this.socket.destroy();
  }
}

export class FakeIde {
  private readonly waiting: Array<(connection: FakeIdeConnection) => void> = [];
  private readonly queued: FakeIdeConnection[] = [];
  readonly connections: FakeIdeConnection[] = [];

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      const connection = new FakeIdeConnection(socket);
      this.connections.push(connection);
      const waiter = this.waiting.shift();
      if (waiter) waiter(connection);
      else this.queued.push(connection);
    });
  }

  static async listen(): Promise<FakeIde> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    return new FakeIde(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The next debug connection (already made, or the next to come). */
  nextConnection(): Promise<FakeIdeConnection> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.hangUp();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port with nothing listening on it (bound, then closed). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
