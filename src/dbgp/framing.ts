/**
 * DBGp framing, both directions, incremental and safe against any chunk split.
 *
 * Engine → IDE: `LENGTH \0 XML \0`, LENGTH the XML's size in decimal bytes.
 * IDE → engine: `name -i TXID [args] [-- base64data] \0`.
 *
 * The relay forwards bytes unchanged and only needs the start of each packet
 * (the root element and its first child) to follow the session, so the
 * decoders keep a bounded *head* of every packet and count past the rest: a
 * 50 MB `property_get` streams through without being held in memory. The
 * limits exist against garbage (a port scanner, a stray HTTP client), not
 * against big but valid packets.
 */

/** Why bytes were rejected; stable strings for logs and tests. */
export type DbgpFramingErrorReason = 'bad-length' | 'packet-too-large' | 'missing-terminator' | 'command-too-large' | 'bad-command';

/** The peer sent bytes that are not DBGp framing. The decoder refuses all input afterwards. */
export class DbgpFramingError extends Error {
  constructor(
    readonly reason: DbgpFramingErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'DbgpFramingError';
  }
}

/** One engine → IDE packet as the decoder saw it. */
export interface EnginePacket {
  /** The declared XML length in bytes. */
  length: number;
  /** The XML's first `min(length, headBytes)` bytes. */
  head: Buffer;
  /** True when `head` is the whole XML. */
  complete: boolean;
}

/** One IDE → engine command as the decoder saw it. */
export interface IdeCommand {
  /** The command name, e.g. `run`, `step_into`, `breakpoint_set`. */
  name: string;
  /** The `-i` argument; null when absent or not a number (the engine answers such commands with an error). */
  transactionId: number | null;
  /** The command's first `headBytes` bytes (latin1), without the terminating NUL. */
  head: string;
  /** The whole command's length in bytes, without the NUL. */
  length: number;
  /** True when `head` is the whole command. */
  complete: boolean;
}

/** Bounds of the decoders. */
export interface DbgpLimits {
  /** Largest engine packet accepted (declared length). Xdebug sends what the IDE's `max_data` allows. */
  maxPacketBytes: number;
  /** Longest IDE command accepted (`eval` and `property_set` carry base64 data). */
  maxCommandBytes: number;
  /** How much of each packet or command is kept for parsing. */
  headBytes: number;
}

export const DEFAULT_DBGP_LIMITS: Readonly<DbgpLimits> = {
  maxPacketBytes: 512 * 1024 * 1024,
  maxCommandBytes: 64 * 1024 * 1024,
  // A break response's root tag is ~200 bytes; its <xdebug:message> carries
  // a percent-encoded path (PATH_MAX 4096, up to 3 bytes per character).
  headBytes: 16 * 1024,
};

/** Decimal digits of the largest length we could ever accept (2^53 has 16). */
const MAX_LENGTH_DIGITS = 16;
const NUL = 0;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Collects up to `limit` bytes from successive chunks, zero-copy when they come from one chunk. */
class HeadCollector {
  private pieces: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  /** Offers bytes; keeps what fits under the limit. */
  add(bytes: Buffer): void {
    if (this.size >= this.limit || bytes.length === 0) return;
    const take = Math.min(bytes.length, this.limit - this.size);
    this.pieces.push(take === bytes.length ? bytes : bytes.subarray(0, take));
    this.size += take;
  }

  /** Returns what was kept and starts over. */
  take(): Buffer {
    const pieces = this.pieces;
    this.pieces = [];
    this.size = 0;
    if (pieces.length === 1) return pieces[0];
    return Buffer.concat(pieces);
  }

  get bytes(): number {
    return this.size;
  }
}

type EngineDecoderState = 'length' | 'body' | 'terminator';

/**
 * Decodes engine → IDE packets. `push()` calls `onPacket` for each complete
 * packet, in order, and throws {@link DbgpFramingError} on bytes that are not
 * DBGp (then every later push throws the same error).
 */
export class EnginePacketDecoder {
  private state: EngineDecoderState = 'length';
  private lengthText = '';
  private declared = 0;
  private remaining = 0;
  private readonly head: HeadCollector;
  private readonly limits: DbgpLimits;
  private failure: DbgpFramingError | null = null;

  constructor(
    private readonly onPacket: (packet: EnginePacket) => void,
    limits: Partial<DbgpLimits> = {},
  ) {
    this.limits = { ...DEFAULT_DBGP_LIMITS, ...limits };
    this.head = new HeadCollector(this.limits.headBytes);
  }

  /** True while the decoder sits between packets (nothing partial held). */
  get atBoundary(): boolean {
    return this.state === 'length' && this.lengthText === '';
  }

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'length') {
        offset = this.readLength(chunk, offset);
      } else if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.head.add(chunk.subarray(offset, offset + take));
        this.remaining -= take;
        offset += take;
        if (this.remaining === 0) this.state = 'terminator';
      } else {
        if (chunk[offset] !== NUL) {
          this.fail('missing-terminator', `DBGp packet of ${this.declared} bytes is not followed by NUL (byte 0x${chunk[offset].toString(16)})`);
        }
        offset++;
        const complete = this.declared <= this.limits.headBytes;
        const packet: EnginePacket = { length: this.declared, head: this.head.take(), complete };
        this.state = 'length';
        this.lengthText = '';
        this.onPacket(packet);
        // onPacket may have failed us from outside; stop reading if so.
        if (this.failure) throw this.failure;
      }
    }
  }

  /** Reads length digits up to the NUL; returns the new offset. */
  private readLength(chunk: Buffer, offset: number): number {
    while (offset < chunk.length) {
      const byte = chunk[offset++];
      if (byte === NUL) {
        if (this.lengthText === '') this.fail('bad-length', 'DBGp packet starts with NUL instead of a length');
        const length = Number(this.lengthText);
        if (length > this.limits.maxPacketBytes) {
          this.fail('packet-too-large', `DBGp packet declares ${length} bytes (limit ${this.limits.maxPacketBytes})`);
        }
        this.declared = length;
        this.remaining = length;
        this.state = length === 0 ? 'terminator' : 'body';
        return offset;
      }
      if (byte < DIGIT_0 || byte > DIGIT_9) {
        this.fail('bad-length', `DBGp packet length has a non-digit byte 0x${byte.toString(16)} after "${this.lengthText}"`);
      }
      if (this.lengthText.length >= MAX_LENGTH_DIGITS) this.fail('bad-length', `DBGp packet length "${this.lengthText}…" is too long`);
      this.lengthText += String.fromCharCode(byte);
    }
    return offset;
  }

  private fail(reason: DbgpFramingErrorReason, message: string): never {
    this.failure = new DbgpFramingError(reason, message);
    throw this.failure;
  }
}

/** A command name as DBGp defines them: lower-case words joined by underscores. */
const COMMAND_NAME = /^[a-z][a-z0-9_]*$/;
/** The longest command name we accept (DBGp's longest is `breakpoint_remove`, 17). */
const MAX_NAME_LENGTH = 64;
/** `-i` followed by the transaction id, anywhere before the data separator. */
const TRANSACTION_ID = /(?:^|\s)-i\s+(\d{1,15})(?=\s|$)/;

/**
 * Decodes IDE → engine commands. Same contract as {@link EnginePacketDecoder}:
 * `onCommand` per complete command, a {@link DbgpFramingError} thrown on garbage.
 */
export class IdeCommandDecoder {
  private readonly head: HeadCollector;
  private readonly limits: DbgpLimits;
  private length = 0;
  private nameProbe = '';
  private nameChecked = false;
  private failure: DbgpFramingError | null = null;

  constructor(
    private readonly onCommand: (command: IdeCommand) => void,
    limits: Partial<DbgpLimits> = {},
  ) {
    this.limits = { ...DEFAULT_DBGP_LIMITS, ...limits };
    this.head = new HeadCollector(this.limits.headBytes);
  }

  get atBoundary(): boolean {
    return this.length === 0;
  }

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    let offset = 0;
    while (offset < chunk.length) {
      const end = chunk.indexOf(NUL, offset);
      const stop = end < 0 ? chunk.length : end;
      const piece = chunk.subarray(offset, stop);
      this.length += piece.length;
      if (this.length > this.limits.maxCommandBytes) {
        this.fail('command-too-large', `DBGp command longer than ${this.limits.maxCommandBytes} bytes`);
      }
      if (!this.nameChecked) this.probeName(piece);
      this.head.add(piece);
      if (end < 0) return;
      offset = end + 1;
      this.finishCommand();
      if (this.failure) throw this.failure;
    }
  }

  /** Checks the name as soon as its bytes arrive, so garbage is refused before its NUL (which may never come). */
  private probeName(piece: Buffer): void {
    this.nameProbe += piece.subarray(0, MAX_NAME_LENGTH + 1 - this.nameProbe.length).toString('latin1');
    const space = this.nameProbe.indexOf(' ');
    const name = space < 0 ? this.nameProbe : this.nameProbe.slice(0, space);
    // Every prefix of a valid name is itself valid, so a partial name can be judged already.
    if (name.length > 0 && !COMMAND_NAME.test(name)) this.fail('bad-command', `not a DBGp command: "${printable(this.nameProbe.slice(0, 40))}"`);
    if (name.length > MAX_NAME_LENGTH) this.fail('bad-command', `DBGp command name too long: "${printable(name.slice(0, 40))}…"`);
    if (space >= 0) this.nameChecked = true;
  }

  private finishCommand(): void {
    const length = this.length;
    const headBuffer = this.head.take();
    this.length = 0;
    this.nameProbe = '';
    this.nameChecked = false;
    const head = headBuffer.toString('latin1');
    const space = head.indexOf(' ');
    const name = space < 0 ? head : head.slice(0, space);
    if (!COMMAND_NAME.test(name)) this.fail('bad-command', `not a DBGp command: "${printable(head.slice(0, 40))}"`);
    const separator = head.indexOf(' -- ');
    const args = separator < 0 ? head : head.slice(0, separator);
    const match = TRANSACTION_ID.exec(args);
    this.onCommand({
      name,
      transactionId: match ? Number(match[1]) : null,
      head,
      length,
      complete: length <= this.limits.headBytes,
    });
  }

  private fail(reason: DbgpFramingErrorReason, message: string): never {
    this.failure = new DbgpFramingError(reason, message);
    throw this.failure;
  }
}

/** Control characters shown as `\xNN` in error messages. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Frames an engine → IDE packet: `LENGTH\0XML\0`. */
export function encodeEnginePacket(xml: string | Buffer): Buffer {
  const body = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml;
  const prefix = Buffer.from(`${body.length}\0`, 'latin1');
  return Buffer.concat([prefix, body, Buffer.from([NUL])]);
}

/**
 * Frames an IDE → engine command: `name -i TXID [args] [-- base64(data)]\0`.
 * `args` is passed as written (e.g. `-t line -f file:///a.php -n 3`).
 */
export function encodeIdeCommand(name: string, transactionId: number, args = '', data?: string | Buffer): Buffer {
  if (!COMMAND_NAME.test(name)) throw new Error(`not a DBGp command name: ${name}`);
  if (args.includes('\0')) throw new Error('DBGp command arguments cannot contain NUL');
  let text = `${name} -i ${transactionId}`;
  if (args !== '') text += ` ${args}`;
  if (data !== undefined) text += ` -- ${Buffer.from(data).toString('base64')}`;
  return Buffer.from(`${text}\0`, 'utf8');
}
