import { describe, expect, it } from 'vitest';
import {
  DbgpFramingError,
  EnginePacketDecoder,
  IdeCommandDecoder,
  encodeEnginePacket,
  encodeIdeCommand,
  type EnginePacket,
  type IdeCommand,
} from '../../src/dbgp/framing';
import { prng } from '../support/prng';

const BREAK =
  '<?xml version="1.0" encoding="iso-8859-1"?>\n<response xmlns="urn:debugger_protocol_v1" xmlns:xdebug="https://xdebug.org/dbgp/xdebug" command="run" transaction_id="2" status="break" reason="ok"><xdebug:message filename="file:///srv/app/src/Controller.php" lineno="42"></xdebug:message></response>';

/** Splits `data` at random points (1 to `maxPiece` bytes per piece). */
function randomSplit(data: Buffer, rand: () => number, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < data.length;) {
    const size = 1 + Math.floor(rand() * maxPiece);
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

function decodeEngine(chunks: Buffer[], headBytes?: number): EnginePacket[] {
  const packets: EnginePacket[] = [];
  const decoder = new EnginePacketDecoder(
    (packet) => packets.push({ ...packet, head: Buffer.from(packet.head) }),
    headBytes === undefined ? {} : { headBytes },
  );
  for (const chunk of chunks) decoder.push(chunk);
  expect(decoder.atBoundary).toBe(true);
  return packets;
}

function decodeCommands(chunks: Buffer[]): IdeCommand[] {
  const commands: IdeCommand[] = [];
  const decoder = new IdeCommandDecoder((command) => commands.push(command));
  for (const chunk of chunks) decoder.push(chunk);
  expect(decoder.atBoundary).toBe(true);
  return commands;
}

function engineError(bytes: Buffer | string, limits = {}): DbgpFramingError {
  const decoder = new EnginePacketDecoder(() => undefined, limits);
  try {
    decoder.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'));
  } catch (error) {
    expect(error).toBeInstanceOf(DbgpFramingError);
    // Refuses everything afterwards, with the same error.
    expect(() => decoder.push(Buffer.from('5\0hello\0'))).toThrow(error as Error);
    return error as DbgpFramingError;
  }
  throw new Error('no error');
}

function commandError(bytes: string, limits = {}): DbgpFramingError {
  const decoder = new IdeCommandDecoder(() => undefined, limits);
  try {
    decoder.push(Buffer.from(bytes, 'latin1'));
  } catch (error) {
    expect(error).toBeInstanceOf(DbgpFramingError);
    return error as DbgpFramingError;
  }
  throw new Error('no error');
}

describe('engine → IDE packets', () => {
  it('encodes LENGTH\\0XML\\0 with the length in bytes, not characters', () => {
    expect(encodeEnginePacket('<a/>').toString('latin1')).toBe('4\0<a/>\0');
    expect(encodeEnginePacket('<a b="é"/>')).toEqual(Buffer.from('11\0<a b="é"/>\0', 'utf8'));
  });

  it('decodes a stream of packets the same way under 2 000 random splits (fuzz, seeded)', () => {
    const rand = prng(12);
    const xmls = [BREAK, '<init appid="7"/>', '', 'x'.repeat(3_000), '<response status="stopping"/>', 'ä\0inside'];
    const stream = Buffer.concat(xmls.map((xml) => encodeEnginePacket(xml)));
    // Compared as hex strings: vitest's deep equality walks a Buffer byte by byte.
    const expected = xmls.map((xml) => Buffer.from(xml, 'utf8').toString('hex'));
    for (let run = 0; run < 2_000; run++) {
      const maxPiece = run % 3 === 0 ? 3 : run % 3 === 1 ? 64 : 4_000;
      const packets = decodeEngine(randomSplit(stream, rand, maxPiece), 1 << 20);
      expect(packets.map((packet) => packet.head.toString('hex'))).toEqual(expected);
      expect(packets.every((packet) => packet.complete)).toBe(true);
    }
  });

  it('keeps only the head of a big packet: a 5 MB property_get streams through in bounded memory', () => {
    const value = Buffer.alloc(5_000_000, 0x41);
    const xml = Buffer.concat([
      Buffer.from('<response command="property_get" transaction_id="9"><property><![CDATA['),
      value,
      Buffer.from(']]></property></response>'),
    ]);
    const packets = decodeEngine(randomSplit(encodeEnginePacket(xml), prng(3), 65_536), 1024);
    expect(packets).toHaveLength(1);
    expect(packets[0].length).toBe(xml.length);
    expect(packets[0].complete).toBe(false);
    expect(packets[0].head.equals(xml.subarray(0, 1024))).toBe(true);
  });

  it('rejects garbage with a reason: HTTP, a missing terminator, a huge or endless length', () => {
    expect(engineError('GET / HTTP/1.1\r\n').reason).toBe('bad-length');
    expect(engineError('\0').reason).toBe('bad-length');
    expect(engineError('3\0abcX').reason).toBe('missing-terminator');
    expect(engineError('99999\0', { maxPacketBytes: 1000 }).reason).toBe('packet-too-large');
    expect(engineError('1'.repeat(40)).reason).toBe('bad-length');
    expect(engineError('12a\0').message).toMatch(/non-digit byte 0x61 after "12"/);
  });
});

describe('IDE → engine commands', () => {
  it('encodes name -i TXID args -- base64(data)\\0', () => {
    expect(encodeIdeCommand('run', 3).toString()).toBe('run -i 3\0');
    expect(encodeIdeCommand('breakpoint_set', 4, '-t line -f file:///a.php -n 7').toString()).toBe('breakpoint_set -i 4 -t line -f file:///a.php -n 7\0');
    expect(encodeIdeCommand('eval', 5, '', '1 + 1').toString()).toBe('eval -i 5 -- MSArIDE=\0');
    expect(() => encodeIdeCommand('Run now', 1)).toThrow(/not a DBGp command name/);
    expect(() => encodeIdeCommand('run', 1, 'a\0b')).toThrow(/NUL/);
  });

  it('decodes names and transaction ids the same way under 2 000 random splits (fuzz, seeded)', () => {
    const rand = prng(34);
    const stream = Buffer.concat([
      encodeIdeCommand('feature_set', 1, '-n max_depth -v 1'),
      encodeIdeCommand('breakpoint_set', 2, '-t line -f file:///a%20b.php -n 12'),
      encodeIdeCommand('eval', 3, '', 'x'.repeat(3_000)),
      encodeIdeCommand('step_into', 4),
      Buffer.from('status -i 77\0run\0'),
    ]);
    for (let run = 0; run < 2_000; run++) {
      const commands = decodeCommands(randomSplit(stream, rand, run % 2 === 0 ? 3 : 5_000));
      expect(commands.map((command) => [command.name, command.transactionId])).toEqual([
        ['feature_set', 1],
        ['breakpoint_set', 2],
        ['eval', 3],
        ['step_into', 4],
        ['status', 77],
        ['run', null],
      ]);
    }
  });

  it('does not take a -i inside the base64 data for the transaction id', () => {
    const [command] = decodeCommands([Buffer.from('eval -- LWkgOQ== -i 9\0')]);
    expect(command).toMatchObject({ name: 'eval', transactionId: null });
  });

  it('refuses garbage as soon as the name is wrong, before any NUL comes', () => {
    expect(commandError('GET / HTTP/1.1\r\n').reason).toBe('bad-command');
    expect(commandError('\0').reason).toBe('bad-command');
    expect(commandError('x'.repeat(100)).reason).toBe('bad-command');
    expect(commandError(`eval -i 1 -- ${'A'.repeat(200)}`, { maxCommandBytes: 100 }).reason).toBe('command-too-large');
  });
});
