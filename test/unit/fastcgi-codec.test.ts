import { describe, expect, it } from 'vitest';
import {
  FastCgiProtocolError,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  ParamTooLargeError,
  RecordDecoder,
  RecordType,
  Role,
  decodeNameValuePairs,
  encodeBeginRequest,
  encodeNameValuePair,
  encodeParams,
  encodeRecord,
  encodeRequest,
  encodeStdin,
  type FastCgiRecord,
  type ParamList,
  type RecordSink,
} from '../../src/fastcgi';
import { prng } from '../support/prng';

function randomBytes(length: number, seed: number): Buffer {
  const rand = prng(seed);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** Builds a record by hand with any padding (the encoder always pads to 8; peers may not). */
function rawRecord(type: number, requestId: number, content: Buffer, padding: number, version = 1): Buffer {
  const header = Buffer.from([version, type, requestId >> 8, requestId & 0xff, content.length >> 8, content.length & 0xff, padding, 0]);
  return Buffer.concat([header, content, Buffer.alloc(padding, 0xee)]);
}

function endRequestBody(appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return body;
}

class CollectingSink implements RecordSink {
  records: FastCgiRecord[] = [];
  errors: FastCgiProtocolError[] = [];
  onRecord(type: number, requestId: number, content: Buffer): void {
    this.records.push({ type, requestId, content });
  }
  onProtocolError(error: FastCgiProtocolError): void {
    this.errors.push(error);
  }
}

/** Decodes a complete byte stream in one push; fails the test on a protocol error. */
function decodeAll(stream: Buffer): FastCgiRecord[] {
  const sink = new CollectingSink();
  const decoder = new RecordDecoder(sink);
  decoder.push(stream);
  decoder.end();
  expect(sink.errors).toEqual([]);
  return sink.records;
}

function pairSize(name: string, value: string): number {
  const n = Buffer.byteLength(name);
  const v = Buffer.byteLength(value);
  return (n < 128 ? 1 : 4) + (v < 128 ? 1 : 4) + n + v;
}

describe('encodeRecord', () => {
  it('pads every content length to a multiple of 8 with zero bytes and writes the header', () => {
    for (let length = 0; length <= 17; length++) {
      const content = Buffer.alloc(length, 0x41);
      const record = encodeRecord(RecordType.Stdout, 0x1234, content);
      const padding = (8 - (length % 8)) % 8;
      expect(record.length).toBe(HEADER_LENGTH + length + padding);
      expect(record.length % 8).toBe(0);
      expect([...record.subarray(0, 8)]).toEqual([1, 6, 0x12, 0x34, length >> 8, length & 0xff, padding, 0]);
      expect(record.subarray(8, 8 + length).equals(content)).toBe(true);
      expect([...record.subarray(8 + length)]).toEqual(new Array<number>(padding).fill(0));
    }
  });

  it('accepts 65535 bytes of content and refuses 65536 (the length field is 16 bits)', () => {
    const max = encodeRecord(RecordType.Stdin, 1, Buffer.alloc(MAX_CONTENT_LENGTH));
    expect(max.readUInt16BE(4)).toBe(65535);
    expect(max[6]).toBe(1);
    expect(max.length).toBe(8 + 65535 + 1);
    expect(() => encodeRecord(RecordType.Stdin, 1, Buffer.alloc(MAX_CONTENT_LENGTH + 1))).toThrow(RangeError);
  });

  it('refuses request ids outside 0..65535', () => {
    expect(() => encodeRecord(RecordType.Stdin, 65536)).toThrow(RangeError);
    expect(() => encodeRecord(RecordType.Stdin, -1)).toThrow(RangeError);
  });

  it('encodes BEGIN_REQUEST with role and the KEEP_CONN flag', () => {
    expect([...encodeBeginRequest(1, Role.Responder, true)]).toEqual([1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    expect([...encodeBeginRequest(258, Role.Responder, false)]).toEqual([1, 1, 1, 2, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('name-value pairs', () => {
  it('uses a 1-byte length up to 127 and a 4-byte length with the high bit from 128', () => {
    const short = encodeNameValuePair('n'.repeat(127), 'v'.repeat(127));
    expect(short[0]).toBe(127);
    expect(short[1]).toBe(127);
    expect(short.length).toBe(2 + 254);

    const long = encodeNameValuePair('n'.repeat(128), 'v'.repeat(127));
    expect([...long.subarray(0, 5)]).toEqual([0x80, 0, 0, 128, 127]);
    expect(long.length).toBe(5 + 255);

    const longValue = encodeNameValuePair('n', 'v'.repeat(128));
    expect([...longValue.subarray(0, 5)]).toEqual([1, 0x80, 0, 0, 128]);

    const big = encodeNameValuePair('N', 'v'.repeat(70000));
    expect([...big.subarray(0, 5)]).toEqual([1, 0x80, 0x01, 0x11, 0x70]);

    for (const [name, value] of [
      ['n'.repeat(127), 'v'.repeat(128)],
      ['n'.repeat(128), 'v'.repeat(127)],
      ['', ''],
      ['N', 'v'.repeat(70000)],
    ] as const) {
      expect(decodeNameValuePairs(encodeNameValuePair(name, value))).toEqual([[name, value]]);
    }
  });

  it('counts UTF-8 bytes, not characters, and round-trips any text', () => {
    const value = 'é'.repeat(64); // 64 chars, 128 bytes: needs the 4-byte form
    const pair = encodeNameValuePair('X', value);
    expect([...pair.subarray(0, 5)]).toEqual([1, 0x80, 0, 0, 128]);
    expect(decodeNameValuePairs(pair)).toEqual([['X', value]]);
    const text = 'Grüße 🐘 \u0000 null';
    expect(decodeNameValuePairs(encodeNameValuePair(text, text))).toEqual([[text, text]]);
  });

  it('with latin1 sends each char code as one raw byte (Node hands header values over as latin1)', () => {
    const raw = Buffer.from('café ✓', 'utf8');
    const asNodeSeesIt = raw.toString('latin1');
    const pair = encodeNameValuePair('HTTP_X', asNodeSeesIt, 'latin1');
    expect(pair.subarray(2 + 6).equals(raw)).toBe(true);
    expect(decodeNameValuePairs(pair)).toEqual([['HTTP_X', 'café ✓']]);
  });

  it('writes the same bytes as Buffer.from for short and long, ASCII and non-ASCII strings', () => {
    const samples: string[] = [];
    for (const length of [0, 1, 255, 256, 257, 1000]) {
      samples.push('a'.repeat(length), 'ä'.repeat(length), `${'b'.repeat(length)}€`, `\u0141${'c'.repeat(length)}`, `🐘${'d'.repeat(length)}`);
    }
    for (const encoding of ['utf8', 'latin1'] as const) {
      for (const text of samples) {
        const pair = encodeNameValuePair(text, text, encoding);
        const bytes = Buffer.from(text, encoding);
        const prefix = bytes.length < 128 ? 1 : 4;
        expect(pair.length).toBe(2 * (prefix + bytes.length));
        expect(pair.subarray(2 * prefix, 2 * prefix + bytes.length).equals(bytes), `${encoding} ${text.length}`).toBe(true);
        expect(pair.subarray(2 * prefix + bytes.length).equals(bytes)).toBe(true);
        const params = encodeParams(1, [[text, text]], encoding);
        expect(params[0].subarray(8, 8 + pair.length).equals(pair)).toBe(true);
      }
    }
  });

  it('throws a protocol error for every truncation inside a pair, and parses whole-pair prefixes', () => {
    const pairs: Array<[string, string]> = [
      ['SHORT', 'value'],
      ['L'.repeat(130), 'x'.repeat(300)],
      ['EMPTY', ''],
    ];
    const encoded = pairs.map(([n, v]) => encodeNameValuePair(n, v));
    const all = Buffer.concat(encoded);
    const boundaries = new Set<number>([0]);
    let at = 0;
    for (const e of encoded) boundaries.add((at += e.length));
    let truncations = 0;
    for (let cut = 0; cut <= all.length; cut++) {
      const prefix = all.subarray(0, cut);
      if (boundaries.has(cut)) {
        const count = [...boundaries].filter((b) => b > 0 && b <= cut).length;
        expect(decodeNameValuePairs(prefix)).toEqual(pairs.slice(0, count));
      } else {
        let error: unknown;
        try {
          decodeNameValuePairs(prefix);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(FastCgiProtocolError);
        expect((error as FastCgiProtocolError).reason).toBe('truncated-name-value');
        truncations++;
      }
    }
    expect(truncations).toBe(all.length + 1 - boundaries.size);
  });
});

describe('encodeParams', () => {
  it('ends with the empty PARAMS record, even for no params', () => {
    const records = encodeParams(1, []);
    expect(records.map((r) => [...r])).toEqual([[1, 4, 0, 1, 0, 0, 0, 0]]);
    const one = encodeParams(1, [['A', 'b']]);
    expect(one).toHaveLength(2);
    expect(decodeAll(Buffer.concat(one)).map((r) => [r.type, r.content.length])).toEqual([
      [RecordType.Params, 4],
      [RecordType.Params, 0],
    ]);
  });

  it('sends a pair of exactly 65535 bytes and refuses 65536 with ParamTooLargeError', () => {
    // 'X' + 1-byte name length + 4-byte value length = 6 bytes of overhead.
    const fits = 'v'.repeat(65535 - 6);
    expect(pairSize('X', fits)).toBe(65535);
    const records = encodeParams(1, [['X', fits]]);
    expect(records).toHaveLength(2);
    expect(records[0].readUInt16BE(4)).toBe(65535);
    expect(decodeNameValuePairs(decodeAll(records[0])[0].content)).toEqual([['X', fits]]);

    const tooBig = fits + 'v';
    let error: unknown;
    try {
      encodeParams(1, [
        ['FIRST', 'ok'],
        ['HTTP_COOKIE', tooBig.slice(20)], // 65526 bytes: fits
        ['X', tooBig],
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ParamTooLargeError);
    expect((error as ParamTooLargeError).paramName).toBe('X');
    expect((error as ParamTooLargeError).size).toBe(65536);
    expect(() => encodeParams(1, [['HTTP_BIG', 'x'.repeat(100_000)]])).toThrow(ParamTooLargeError);
    // Multi-byte characters count as bytes: 21845 × 3 bytes + 6 = 65541.
    expect(() => encodeParams(1, [['X', '€'.repeat(21845)]])).toThrow(ParamTooLargeError);
  });

  it('splits 400 × 250-byte pairs only at pair boundaries; each record decodes on its own', () => {
    const params: Array<[string, string]> = [];
    for (let i = 0; i < 400; i++) {
      const name = `HTTP_X_PARAM_${String(i).padStart(3, '0')}`; // 16 bytes
      const value = String.fromCharCode(97 + (i % 26)).repeat(229); // 1 + 4 + 16 + 229 = 250
      expect(pairSize(name, value)).toBe(250);
      params.push([name, value]);
    }
    const records = encodeParams(7, params);
    const decoded = records.map((r) => decodeAll(r));
    // Each buffer is exactly one record.
    for (const d of decoded) expect(d).toHaveLength(1);
    const contents = decoded.map((d) => d[0]);
    expect(contents.map((r) => [r.type, r.requestId, r.content.length])).toEqual([
      [RecordType.Params, 7, 262 * 250], // 65500: a 263rd pair would need 65750
      [RecordType.Params, 7, 138 * 250],
      [RecordType.Params, 7, 0],
    ]);
    // php-cgi parses each record alone: decoding each separately must give back every pair in order.
    const back = contents.flatMap((r) => decodeNameValuePairs(r.content));
    expect(back).toEqual(params);
  });

  it('packs random pairs greedily, never splitting one, and round-trips them', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = prng(seed);
      const params: Array<[string, string]> = [];
      const count = 50 + Math.floor(rand() * 200);
      for (let i = 0; i < count; i++) {
        const big = rand() < 0.05;
        const valueLength = big ? 20000 + Math.floor(rand() * 45000) : Math.floor(rand() * 3000);
        const char = rand() < 0.2 ? 'ü' : 'z';
        const value = char.repeat(char === 'ü' ? Math.floor(valueLength / 2) : valueLength);
        params.push([`N${i}_${'k'.repeat(Math.floor(rand() * 140))}`, value]);
      }
      const fitting = params.filter(([n, v]) => pairSize(n, v) <= 65535);
      const records = encodeParams(1, fitting);
      const contents = records.map((r) => {
        const d = decodeAll(r);
        expect(d).toHaveLength(1);
        expect(d[0].content.length).toBeLessThanOrEqual(65535);
        return d[0].content;
      });
      expect(contents[contents.length - 1].length).toBe(0);
      const perRecord = contents.map((c) => decodeNameValuePairs(c));
      expect(perRecord.flat()).toEqual(fitting);
      // Greedy: the next record's first pair would not have fitted into the previous record.
      for (let i = 0; i + 2 < contents.length; i++) {
        const [n, v] = perRecord[i + 1][0];
        expect(contents[i].length + pairSize(n, v)).toBeGreaterThan(65535);
      }
    }
  });
});

describe('encodeStdin', () => {
  it('gives the empty end-of-stream record for empty data', () => {
    expect(encodeStdin(1, Buffer.alloc(0)).map((r) => [...r])).toEqual([[1, 5, 0, 1, 0, 0, 0, 0]]);
  });

  it('splits at 65535 bytes; each buffer is one record; contents concatenate to the data', () => {
    for (const length of [1, 7, 8, 65535, 65536, 65535 * 2, 200_000]) {
      const data = randomBytes(length, length);
      const records = encodeStdin(3, data);
      expect(records).toHaveLength(Math.ceil(length / 65535));
      const decoded = records.map((r) => {
        const d = decodeAll(r);
        expect(d).toHaveLength(1);
        expect(d[0].type).toBe(RecordType.Stdin);
        expect(d[0].requestId).toBe(3);
        expect(r.length % 8).toBe(0);
        return d[0].content;
      });
      expect(decoded.every((c, i) => c.length === (i < decoded.length - 1 ? 65535 : length - 65535 * i))).toBe(true);
      expect(Buffer.concat(decoded).equals(data)).toBe(true);
    }
  });
});

describe('encodeRequest', () => {
  it('is byte-identical to BEGIN_REQUEST + PARAMS + STDIN encoded separately', () => {
    const params: ParamList = [
      ['SCRIPT_FILENAME', '/srv/www/index.php'],
      ['REQUEST_METHOD', 'POST'],
      ['HTTP_X_LONG', 'y'.repeat(40_000)],
      ['HTTP_X_LONG2', 'z'.repeat(40_000)],
    ];
    const body = randomBytes(70_000, 9);
    const expected = Buffer.concat([
      encodeBeginRequest(1, Role.Responder, true),
      ...encodeParams(1, params),
      ...encodeStdin(1, body),
      ...encodeStdin(1, Buffer.alloc(0)),
    ]);
    expect(encodeRequest(1, params, { keepConn: true, stdin: body }).equals(expected)).toBe(true);

    const headOnly = Buffer.concat([encodeBeginRequest(1, Role.Responder, false), ...encodeParams(1, params)]);
    expect(encodeRequest(1, params, { keepConn: false }).equals(headOnly)).toBe(true);

    const bodiless = encodeRequest(1, params, { keepConn: true, stdin: Buffer.alloc(0) });
    expect(bodiless.subarray(bodiless.length - 8).equals(encodeStdin(1, Buffer.alloc(0))[0])).toBe(true);
    expect(bodiless.length).toBe(headOnly.length + 8);
  });

  it('throws ParamTooLargeError for an oversized param', () => {
    expect(() => encodeRequest(1, [['HTTP_COOKIE', 'c'.repeat(65536)]], { keepConn: true })).toThrow(ParamTooLargeError);
  });
});

/** A stream like php-cgi's, plus odd paddings a different peer might use. */
function buildStream(): { stream: Buffer; expected: FastCgiRecord[] } {
  const expected: FastCgiRecord[] = [];
  const parts: Buffer[] = [];
  const add = (type: number, requestId: number, content: Buffer, padding?: number): void => {
    expected.push({ type, requestId, content });
    parts.push(padding === undefined ? encodeRecord(type, requestId, content) : rawRecord(type, requestId, content, padding));
  };
  add(RecordType.GetValuesResult, 0, Buffer.concat([encodeNameValuePair('FCGI_MPXS_CONNS', '0'), encodeNameValuePair('FCGI_MAX_CONNS', '1')]));
  add(RecordType.Stderr, 1, Buffer.from('PHP Warning:  Undefined variable $x in /srv/a.php on line 3\n'));
  const stdout = randomBytes(100 * 1024, 42);
  add(RecordType.Stdout, 1, Buffer.from('Status: 200 OK\r\nContent-type: text/html\r\n\r\n'), 6);
  for (let at = 0; at < stdout.length; at += 65528) add(RecordType.Stdout, 1, stdout.subarray(at, Math.min(at + 65528, stdout.length)));
  const stderr = randomBytes(100 * 1024, 43);
  for (let at = 0, i = 0; at < stderr.length; i++) {
    const size = Math.min(1 + ((i * 7919) % 40000), stderr.length - at);
    add(RecordType.Stderr, 1, stderr.subarray(at, at + size), i % 3 === 0 ? 255 : i % 3 === 1 ? 0 : undefined);
    at += size;
  }
  add(RecordType.Stdout, 1, Buffer.alloc(0), 255);
  add(RecordType.Stdout, 1, Buffer.alloc(65535, 0x5a), 0);
  add(RecordType.Stdout, 1, Buffer.alloc(0));
  add(RecordType.EndRequest, 1, endRequestBody(0xfedcba98, 0));
  add(RecordType.Stdout, 2, Buffer.from('second'));
  add(RecordType.EndRequest, 2, endRequestBody(0, 3), 200);
  return { stream: Buffer.concat(parts), expected };
}

function sameRecords(actual: FastCgiRecord[], expected: FastCgiRecord[]): boolean {
  if (actual.length !== expected.length) return false;
  return actual.every((r, i) => r.type === expected[i].type && r.requestId === expected[i].requestId && r.content.equals(expected[i].content));
}

function isStream(type: number): boolean {
  return type === RecordType.Stdout || type === RecordType.Stderr || type === RecordType.Stdin || type === RecordType.Data;
}

/** Joins consecutive stream deliveries of the same type and id: what a stream consumer sees. */
function mergeStreams(records: FastCgiRecord[]): FastCgiRecord[] {
  const runs: Array<{ type: number; requestId: number; parts: Buffer[] }> = [];
  for (const r of records) {
    const last = runs[runs.length - 1];
    if (last && isStream(r.type) && last.type === r.type && last.requestId === r.requestId) last.parts.push(r.content);
    else runs.push({ type: r.type, requestId: r.requestId, parts: [r.content] });
  }
  return runs.map((run) => ({ type: run.type, requestId: run.requestId, content: Buffer.concat(run.parts) }));
}

describe('RecordDecoder', () => {
  const { stream, expected } = buildStream();

  it('decodes the whole stream in one chunk as zero-copy slices', () => {
    const sink = new CollectingSink();
    const decoder = new RecordDecoder(sink);
    decoder.push(stream);
    decoder.end();
    expect(sink.errors).toEqual([]);
    expect(sameRecords(sink.records, expected)).toBe(true);
    for (const record of sink.records) expect(record.content.buffer).toBe(stream.buffer);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('gives identical records for 200 random splits (1–50 byte chunks, and some large ones)', () => {
    const maxPartial = 65535 + 7;
    // Fresh copies, as a socket hands out fresh buffers (and so no record can alias `stream`).
    const copy = Buffer.from(stream);
    for (let seed = 1; seed <= 200; seed++) {
      const rand = prng(seed);
      const large = seed > 150;
      const sink = new CollectingSink();
      const decoder = new RecordDecoder(sink);
      let chunks = 0;
      let maxBuffered = 0;
      for (let at = 0; at < copy.length; chunks++) {
        const size = large ? 1 + Math.floor(rand() * 70_000) : 1 + Math.floor(rand() * 50);
        decoder.push(copy.subarray(at, at + size));
        at += size;
        if (decoder.bufferedBytes > maxBuffered) maxBuffered = decoder.bufferedBytes;
      }
      decoder.end();
      expect(maxBuffered).toBeLessThanOrEqual(maxPartial);
      expect(sink.errors, `seed ${seed}`).toEqual([]);
      expect(sameRecords(sink.records, expected), `seed ${seed}, ${chunks} chunks`).toBe(true);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('with splitStreamRecords, delivers stream content in zero-copy pieces and other records whole (200 splits)', () => {
    const want = mergeStreams(expected);
    const copy = Buffer.from(stream);
    let piecesSeen = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const rand = prng(5000 + seed);
      const sink = new CollectingSink();
      const decoder = new RecordDecoder(sink, { splitStreamRecords: true });
      for (let at = 0; at < copy.length;) {
        const size = seed > 150 ? 1 + Math.floor(rand() * 70_000) : 1 + Math.floor(rand() * 50);
        decoder.push(copy.subarray(at, at + size));
        at += size;
      }
      decoder.end();
      expect(sink.errors).toEqual([]);
      expect(sameRecords(mergeStreams(sink.records), want), `seed ${seed}`).toBe(true);
      // Never a copy: every non-empty stream piece is a view of the pushed bytes.
      const copies = sink.records.filter((r) => isStream(r.type) && r.content.length > 0 && r.content.buffer !== copy.buffer);
      expect(copies).toHaveLength(0);
      // Non-stream records are whole, and only empty stream records are empty.
      expect(sink.records.filter((r) => !isStream(r.type)).length).toBe(expected.filter((r) => !isStream(r.type)).length);
      expect(sink.records.filter((r) => r.content.length === 0).length).toBe(expected.filter((r) => r.content.length === 0).length);
      piecesSeen += sink.records.length - expected.length;
    }
    // The splits really did cut records into pieces.
    expect(piecesSeen).toBeGreaterThan(1000);
  });

  it('concatenates only records whose content straddles chunks', () => {
    const a = encodeRecord(RecordType.Stdout, 1, Buffer.from('aaaaaaaaaaa'));
    const b = encodeRecord(RecordType.Stdout, 1, Buffer.from('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'));
    const sink = new CollectingSink();
    const decoder = new RecordDecoder(sink);
    // Chunk 1: all of a, and b's header minus one byte.
    const chunk1 = Buffer.concat([a, b.subarray(0, 7)]);
    // Chunk 2: the header's last byte, all of b's content, part of its padding.
    const chunk2 = Buffer.from(b.subarray(7, b.length - 2));
    const chunk3 = Buffer.from(b.subarray(b.length - 2));
    decoder.push(chunk1);
    decoder.push(chunk2);
    expect(sink.records).toHaveLength(1);
    decoder.push(chunk3);
    expect(sink.records.map((r) => r.content.toString())).toEqual(['aaaaaaaaaaa', 'b'.repeat(43)]);
    expect(sink.records[0].content.buffer).toBe(chunk1.buffer);
    // b's content lay inside chunk 2 even though its header did not: still a slice.
    expect(sink.records[1].content.buffer).toBe(chunk2.buffer);
  });

  it('pause() stops delivery mid-chunk and resume() continues in order', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = prng(1000 + seed);
      const records: FastCgiRecord[] = [];
      let paused = false;
      const piecewise = seed % 2 === 0;
      const decoder: RecordDecoder = new RecordDecoder(
        {
          onRecord(type, requestId, content) {
            expect(paused).toBe(false);
            records.push({ type, requestId, content });
            if (rand() < 0.3) {
              decoder.pause();
              paused = true;
            }
          },
          onProtocolError(error) {
            throw error;
          },
        },
        { splitStreamRecords: piecewise },
      );
      for (let at = 0; at < stream.length;) {
        const size = 1 + Math.floor(rand() * 30_000);
        decoder.push(stream.subarray(at, at + size));
        at += size;
        while (paused && rand() < 0.5) {
          paused = false;
          decoder.resume();
        }
      }
      decoder.end();
      while (paused) {
        paused = false;
        decoder.resume();
      }
      if (piecewise) expect(sameRecords(mergeStreams(records), mergeStreams(expected)), `seed ${seed}`).toBe(true);
      else expect(sameRecords(records, expected), `seed ${seed}`).toBe(true);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('reports truncation at end() also when the end arrived while paused', () => {
    const sink = new CollectingSink();
    const decoder = new RecordDecoder(sink);
    decoder.pause();
    decoder.push(stream.subarray(0, 100));
    decoder.end();
    expect(sink.errors).toEqual([]);
    decoder.resume();
    expect(sink.errors.map((e) => e.reason)).toEqual(['truncated-record']);
    // Only the first record (GET_VALUES_RESULT, 48 bytes) lies inside the first 100 bytes.
    expect(sink.records.map((r) => r.type)).toEqual([RecordType.GetValuesResult]);
  });

  it('refuses to hold more than maxHeldBytes while paused', () => {
    const sink = new CollectingSink();
    const decoder = new RecordDecoder(sink, { maxHeldBytes: 1000 });
    decoder.pause();
    decoder.push(Buffer.alloc(600));
    expect(sink.errors).toEqual([]);
    decoder.push(Buffer.alloc(600));
    expect(sink.errors.map((e) => e.reason)).toEqual(['buffer-limit']);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.resume();
    decoder.push(Buffer.alloc(600));
    expect(sink.errors).toHaveLength(1);
    expect(sink.records).toHaveLength(0);
  });

  describe('malformed input: exactly one protocol error, no throw, nothing after', () => {
    const good = encodeRecord(RecordType.Stdout, 1, Buffer.from('before'));
    const after = encodeRecord(RecordType.Stdout, 1, Buffer.from('after'));
    const cases: Array<[string, Buffer, FastCgiProtocolError['reason']]> = [
      ['version 0', rawRecord(RecordType.Stdout, 1, Buffer.from('x'), 7, 0), 'bad-version'],
      ['version 2', rawRecord(RecordType.Stdout, 1, Buffer.from('x'), 7, 2), 'bad-version'],
      ['HTTP instead of FastCGI', Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), 'bad-version'],
      ['type 0', rawRecord(0, 1, Buffer.alloc(0), 0), 'unknown-type'],
      ['type 12', rawRecord(12, 1, Buffer.alloc(0), 0), 'unknown-type'],
      ['type 99', rawRecord(99, 1, Buffer.alloc(8), 0), 'unknown-type'],
      ['END_REQUEST of 7 bytes', rawRecord(RecordType.EndRequest, 1, Buffer.alloc(7), 1), 'bad-end-request-length'],
      ['END_REQUEST of 9 bytes', rawRecord(RecordType.EndRequest, 1, Buffer.alloc(9), 7), 'bad-end-request-length'],
      ['END_REQUEST of 0 bytes', rawRecord(RecordType.EndRequest, 1, Buffer.alloc(0), 0), 'bad-end-request-length'],
    ];
    for (const [name, bad, reason] of cases) {
      it(`${name} (whole, and fed byte by byte)`, () => {
        const input = Buffer.concat([good, bad, after, after]);
        for (const chunkSize of [input.length, 1, 3]) {
          const sink = new CollectingSink();
          const decoder = new RecordDecoder(sink);
          for (let at = 0; at < input.length; at += chunkSize) {
            expect(() => decoder.push(input.subarray(at, at + chunkSize))).not.toThrow();
          }
          decoder.push(after);
          decoder.end();
          expect(sink.records.map((r) => r.content.toString())).toEqual(['before']);
          expect(sink.errors).toHaveLength(1);
          expect(sink.errors[0]).toBeInstanceOf(FastCgiProtocolError);
          expect(sink.errors[0].reason).toBe(reason);
          expect(decoder.isStopped).toBe(true);
          expect(decoder.bufferedBytes).toBe(0);
        }
      });
    }

    it('truncated record: end() inside a header, the content or the padding', () => {
      const record = rawRecord(RecordType.Stdout, 1, Buffer.from('0123456789'), 6);
      for (const cut of [1, 7, 8, 12, 18, 19, record.length - 1]) {
        const sink = new CollectingSink();
        const decoder = new RecordDecoder(sink);
        decoder.push(Buffer.concat([good, record.subarray(0, cut)]));
        expect(sink.errors).toHaveLength(0);
        decoder.end();
        decoder.end();
        expect(sink.records).toHaveLength(1);
        expect(sink.errors.map((e) => e.reason)).toEqual(['truncated-record']);
      }
      const clean = new CollectingSink();
      const decoder = new RecordDecoder(clean);
      decoder.push(Buffer.concat([good, record]));
      decoder.end();
      expect(clean.errors).toHaveLength(0);
      expect(clean.records).toHaveLength(2);
    });
  });

  it('a sink that stops the decoder gets nothing more from the same chunk', () => {
    const records: string[] = [];
    const decoder: RecordDecoder = new RecordDecoder({
      onRecord(_type, _id, content) {
        records.push(content.toString());
        if (records.length === 2) decoder.stop();
      },
      onProtocolError(error) {
        throw error;
      },
    });
    const chunk = Buffer.concat(['a', 'b', 'c', 'd'].map((s) => encodeRecord(RecordType.Stdout, 1, Buffer.from(s))));
    decoder.push(chunk);
    decoder.push(chunk);
    expect(records).toEqual(['a', 'b']);
  });
});
