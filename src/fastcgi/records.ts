import {
  BEGIN_REQUEST_BODY_LENGTH,
  END_REQUEST_BODY_LENGTH,
  FCGI_KEEP_CONN,
  FCGI_VERSION_1,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  MAX_RECORD_TYPE,
  RecordType,
} from './protocol';

/** Why a byte stream was rejected; stable strings that tests and logs can match. */
export type ProtocolErrorReason =
  'bad-version' | 'unknown-type' | 'bad-end-request-length' | 'truncated-record' | 'truncated-name-value' | 'buffer-limit' | 'unexpected-record';

/** The peer sent bytes that are not valid FastCGI (or not valid for this conversation). */
export class FastCgiProtocolError extends Error {
  constructor(
    /** Machine-readable cause, e.g. `'bad-version'` or `'truncated-record'`. */
    readonly reason: ProtocolErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'FastCgiProtocolError';
  }
}

/** One decoded record. `content` excludes the padding. */
export interface FastCgiRecord {
  type: number;
  requestId: number;
  content: Buffer;
}

/**
 * Receives what a {@link RecordDecoder} finds. An interface with two methods
 * (rather than callbacks per record or an EventEmitter) keeps the decode loop
 * free of closures and emit() overhead.
 */
export interface RecordSink {
  /**
   * A complete record. `content` is usually a zero-copy slice of a pushed
   * chunk, so it is only valid as long as nobody mutates that chunk (socket
   * chunks are never reused by Node, so keeping it is safe).
   */
  onRecord(type: number, requestId: number, content: Buffer): void;
  /** Called at most once; the decoder ignores all input afterwards. */
  onProtocolError(error: FastCgiProtocolError): void;
}

const EMPTY = Buffer.alloc(0);
/** Shared zero bytes for padding; never written to. */
const ZEROES = Buffer.alloc(8);

/** Padding that brings `contentLength` to a multiple of 8 (the spec's recommendation; php-cgi does the same). */
export function paddingFor(contentLength: number): number {
  return (8 - (contentLength & 7)) & 7;
}

/** Writes an 8-byte record header at `offset`. Low-level helper for encoders that fill one shared buffer. */
export function writeHeader(target: Buffer, offset: number, type: number, requestId: number, contentLength: number, paddingLength: number): void {
  target[offset] = FCGI_VERSION_1;
  target[offset + 1] = type;
  target[offset + 2] = requestId >>> 8;
  target[offset + 3] = requestId & 0xff;
  target[offset + 4] = contentLength >>> 8;
  target[offset + 5] = contentLength & 0xff;
  target[offset + 6] = paddingLength;
  target[offset + 7] = 0;
}

function checkRequestId(requestId: number): void {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffff) {
    throw new RangeError(`FastCGI request id must be an integer in 0..65535, got ${requestId}`);
  }
}

/**
 * Encodes one record: header, content, zero padding to a multiple of 8.
 * Throws RangeError when the content exceeds 65535 bytes, because the length
 * field would silently wrap (the bug we measured in fastcgi-stream).
 */
export function encodeRecord(type: number, requestId: number, content?: Buffer): Buffer {
  checkRequestId(requestId);
  const length = content === undefined ? 0 : content.length;
  if (length > MAX_CONTENT_LENGTH) {
    throw new RangeError(`FastCGI record content is ${length} bytes; the maximum is ${MAX_CONTENT_LENGTH}`);
  }
  const padding = paddingFor(length);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + length + padding);
  writeHeader(out, 0, type, requestId, length, padding);
  if (content !== undefined) content.copy(out, HEADER_LENGTH);
  if (padding > 0) out.fill(0, HEADER_LENGTH + length);
  return out;
}

/** Size of FCGI_BEGIN_REQUEST on the wire (header + 8-byte body, no padding). */
export const BEGIN_REQUEST_WIRE_LENGTH = HEADER_LENGTH + BEGIN_REQUEST_BODY_LENGTH;

/** Encodes FCGI_BEGIN_REQUEST (16 bytes). */
export function encodeBeginRequest(requestId: number, role: number, keepConn: boolean): Buffer {
  const out = Buffer.allocUnsafe(BEGIN_REQUEST_WIRE_LENGTH);
  writeBeginRequest(out, 0, requestId, role, keepConn);
  return out;
}

/** Writes a 16-byte FCGI_BEGIN_REQUEST at `offset`; returns the offset after it. */
export function writeBeginRequest(target: Buffer, offset: number, requestId: number, role: number, keepConn: boolean): number {
  checkRequestId(requestId);
  writeHeader(target, offset, RecordType.BeginRequest, requestId, BEGIN_REQUEST_BODY_LENGTH, 0);
  const body = offset + HEADER_LENGTH;
  target[body] = role >>> 8;
  target[body + 1] = role & 0xff;
  target[body + 2] = keepConn ? FCGI_KEEP_CONN : 0;
  target.fill(0, body + 3, body + BEGIN_REQUEST_BODY_LENGTH);
  return body + BEGIN_REQUEST_BODY_LENGTH;
}

/** Size of a full 65535-byte stream record on the wire (65535 needs 1 byte of padding). */
const FULL_RECORD_WIRE_LENGTH = HEADER_LENGTH + MAX_CONTENT_LENGTH + paddingFor(MAX_CONTENT_LENGTH);

/**
 * Bytes needed to carry `dataLength` bytes of a stream (STDIN, DATA) as
 * records of at most 65535 bytes each, not counting the empty end record.
 */
export function streamRecordsLength(dataLength: number): number {
  const full = Math.floor(dataLength / MAX_CONTENT_LENGTH);
  const rest = dataLength - full * MAX_CONTENT_LENGTH;
  return full * FULL_RECORD_WIRE_LENGTH + (rest > 0 ? HEADER_LENGTH + rest + paddingFor(rest) : 0);
}

/**
 * Writes `data` as stream records of at most 65535 bytes at `offset` (the
 * target must have {@link streamRecordsLength} bytes free there); returns the
 * offset after them. Writes nothing for empty data: an empty record would end
 * the stream, which only {@link encodeRecord} with no content should do.
 */
export function writeStreamRecords(target: Buffer, offset: number, type: number, requestId: number, data: Buffer): number {
  let pos = offset;
  for (let start = 0; start < data.length; start += MAX_CONTENT_LENGTH) {
    const length = Math.min(MAX_CONTENT_LENGTH, data.length - start);
    const padding = paddingFor(length);
    writeHeader(target, pos, type, requestId, length, padding);
    data.copy(target, pos + HEADER_LENGTH, start, start + length);
    pos += HEADER_LENGTH + length;
    if (padding > 0) {
      target.fill(0, pos, pos + padding);
      pos += padding;
    }
  }
  return pos;
}

/**
 * Encodes `data` as stream records in ONE contiguous buffer, so a caller can
 * hand any amount of body to the socket with a single write.
 */
export function encodeStreamRecords(type: number, requestId: number, data: Buffer): Buffer {
  checkRequestId(requestId);
  const out = Buffer.allocUnsafe(streamRecordsLength(data.length));
  writeStreamRecords(out, 0, type, requestId, data);
  return out;
}

/**
 * Encodes STDIN data as records of at most 65535 bytes each. Empty data gives
 * the single empty end-of-stream record. The records are slices of one
 * allocation (no per-record buffers, no second copy when written with writev).
 */
export function encodeStdin(requestId: number, data: Buffer): Buffer[] {
  if (data.length === 0) return [encodeRecord(RecordType.Stdin, requestId)];
  const all = encodeStreamRecords(RecordType.Stdin, requestId, data);
  const records: Buffer[] = [];
  for (let pos = 0; pos < all.length;) {
    const length = (all[pos + 4] << 8) | all[pos + 5];
    const end = pos + HEADER_LENGTH + length + all[pos + 6];
    records.push(all.subarray(pos, end));
    pos = end;
  }
  return records;
}

/**
 * Default cap on bytes pushed while the decoder is paused. A socket that is
 * paused stops reading after its highWaterMark, so a well-behaved owner stays
 * far below this; it only stops a caller that keeps pushing regardless from
 * growing memory without bound.
 */
const DEFAULT_MAX_HELD_BYTES = 8 * 1024 * 1024;

/** Options for {@link RecordDecoder}. */
export interface RecordDecoderOptions {
  /** Cap on bytes accepted by push() while paused; exceeding it is a 'buffer-limit' protocol error. */
  maxHeldBytes?: number;
  /**
   * Deliver the content of stream records (STDIN, STDOUT, STDERR, DATA) as it
   * arrives, in several zero-copy pieces if the record straddles chunks,
   * instead of concatenating it into one buffer. php-cgi writes 65536-byte
   * records after a 56-byte first one, so against 64 KiB socket reads nearly
   * every large STDOUT record straddles; this avoids a 64 KiB copy for each.
   * Pieces are never empty; an empty record is still delivered once as empty.
   * Other record types are always delivered whole. Default false.
   */
  splitStreamRecords?: boolean;
}

/** Stream record types: their content is a byte stream, so record boundaries carry no meaning. */
function isStreamType(type: number): boolean {
  return type === RecordType.Stdout || type === RecordType.Stderr || type === RecordType.Stdin || type === RecordType.Data;
}

/**
 * Incremental FastCGI record decoder for a byte stream cut at arbitrary
 * points (the socket may split a header or content anywhere, or deliver many
 * records in one chunk).
 *
 * Memory: only the record in progress is kept; its padding is skipped, not
 * stored. A record's content is at most 65535 bytes (16-bit length), so the
 * partial-record state is bounded by the format itself; the only other
 * buffering is input pushed while paused, capped by `maxHeldBytes`.
 *
 * Speed: a record that lies inside one chunk is delivered as a zero-copy
 * `subarray` of that chunk; only a record whose content straddles chunks is
 * concatenated, once, when it completes (or, with `splitStreamRecords`, a
 * stream record is delivered piece by piece with no copy at all).
 *
 * Malformed input never throws: the sink's onProtocolError is called once and
 * the decoder ignores everything after.
 */
export class RecordDecoder {
  private readonly sink: RecordSink;
  private readonly maxHeldBytes: number;
  private readonly splitStreams: boolean;

  /** Scratch space for a header split across chunks. */
  private readonly header = Buffer.allocUnsafe(HEADER_LENGTH);
  /** Bytes of a split header copied into `header` so far (0 = none pending). */
  private headerFilled = 0;

  /** True between a parsed header and the end of that record's padding. */
  private inRecord = false;
  private recordType = 0;
  private recordId = 0;
  private contentLength = 0;
  private paddingRemaining = 0;
  /** Content bytes of the current record received so far. */
  private contentReceived = 0;
  /** True when the current record's content is delivered piece by piece. */
  private piecewise = false;
  /** Zero-copy slices of the current record's content kept for one concat (not piecewise). */
  private parts: Buffer[] = [];
  private partsLength = 0;

  /** Input pushed while paused (or left over when a pause hit mid-chunk). */
  private held: Buffer[] = [];
  private heldLength = 0;
  private paused = false;
  private stopped = false;
  private endPending = false;

  constructor(sink: RecordSink, options?: RecordDecoderOptions) {
    this.sink = sink;
    this.maxHeldBytes = options?.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES;
    this.splitStreams = options?.splitStreamRecords ?? false;
  }

  /** Bytes received but not yet delivered: a partial record plus any input held while paused. */
  get bufferedBytes(): number {
    return this.headerFilled + this.partsLength + this.heldLength;
  }

  /** True once a protocol error was reported or stop() was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** True while {@link pause} is in effect. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    if (this.paused || this.heldLength > 0) {
      this.hold(chunk);
      return;
    }
    this.consume(chunk, 0);
  }

  /**
   * Signals the end of the stream. A partial record still buffered is
   * reported as a 'truncated-record' protocol error (if paused, once the held
   * input has been decoded).
   */
  end(): void {
    if (this.stopped) return;
    if (this.paused || this.heldLength > 0) {
      this.endPending = true;
      return;
    }
    this.finishEnd();
  }

  /**
   * Stops delivering records, also in the middle of a chunk: the rest is held
   * until resume(). Lets the owner apply exact backpressure (no record is
   * delivered after pause() returns).
   */
  pause(): void {
    this.paused = true;
  }

  /** Delivers held input synchronously (until paused again), then accepts input directly. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (this.held.length > 0 && !this.paused && !this.stopped) {
      const chunk = this.held.shift() as Buffer;
      this.heldLength -= chunk.length;
      this.consume(chunk, 0);
    }
    if (this.endPending && !this.paused && !this.stopped && this.heldLength === 0) {
      this.endPending = false;
      this.finishEnd();
    }
  }

  /** Ignores all further input without reporting anything (the owner gave up on the stream). */
  stop(): void {
    this.stopped = true;
    this.release();
  }

  private hold(chunk: Buffer): void {
    this.held.push(chunk);
    this.heldLength += chunk.length;
    if (this.heldLength > this.maxHeldBytes) {
      this.fail('buffer-limit', `more than ${this.maxHeldBytes} bytes pushed while the decoder was paused`);
    }
  }

  private finishEnd(): void {
    if (this.headerFilled > 0 || this.inRecord) {
      const detail = this.inRecord
        ? `record type ${this.recordType} needs ${this.contentLength - this.contentReceived + this.paddingRemaining} more bytes`
        : `${this.headerFilled} of ${HEADER_LENGTH} header bytes received`;
      this.fail('truncated-record', `stream ended inside a record (${detail})`);
    }
  }

  private fail(reason: ProtocolErrorReason, message: string): void {
    this.stopped = true;
    this.release();
    this.sink.onProtocolError(new FastCgiProtocolError(reason, message));
  }

  private release(): void {
    this.parts = [];
    this.partsLength = 0;
    this.contentReceived = 0;
    this.held = [];
    this.heldLength = 0;
    this.headerFilled = 0;
    this.inRecord = false;
  }

  /**
   * Validates a header; returns false (after reporting) when it is malformed.
   * END_REQUEST's length is checked here because a wrong one means we would
   * read appStatus/protocolStatus from the wrong bytes.
   */
  private checkHeader(version: number, type: number, contentLength: number): boolean {
    if (version !== FCGI_VERSION_1) {
      this.fail('bad-version', `record header has version ${version}, expected ${FCGI_VERSION_1}`);
      return false;
    }
    if (type === 0 || type > MAX_RECORD_TYPE) {
      this.fail('unknown-type', `record header has unknown type ${type}`);
      return false;
    }
    if (type === RecordType.EndRequest && contentLength !== END_REQUEST_BODY_LENGTH) {
      this.fail('bad-end-request-length', `END_REQUEST content is ${contentLength} bytes, expected ${END_REQUEST_BODY_LENGTH}`);
      return false;
    }
    return true;
  }

  /** Decodes `chunk` from `offset`; holds the rest if a pause happens mid-chunk. */
  private consume(chunk: Buffer, offset: number): void {
    const end = chunk.length;
    let pos = offset;
    // Finish a record that an earlier chunk started.
    if (this.headerFilled > 0 || this.inRecord) {
      pos = this.continuePartial(chunk, pos);
      if (pos < 0) return;
    }
    while (pos < end) {
      if (this.paused || this.stopped) break;
      const available = end - pos;
      if (available < HEADER_LENGTH) {
        chunk.copy(this.header, 0, pos, end);
        this.headerFilled = available;
        return;
      }
      const type = chunk[pos + 1];
      const contentLength = (chunk[pos + 4] << 8) | chunk[pos + 5];
      if (!this.checkHeader(chunk[pos], type, contentLength)) return;
      const requestId = (chunk[pos + 2] << 8) | chunk[pos + 3];
      const paddingLength = chunk[pos + 6];
      const contentStart = pos + HEADER_LENGTH;
      const recordEnd = contentStart + contentLength + paddingLength;
      if (recordEnd <= end) {
        // Fast path: the whole record is here. Advance before calling out so
        // a re-entrant pause()/stop() from the sink sees a consistent state.
        pos = recordEnd;
        this.sink.onRecord(type, requestId, chunk.subarray(contentStart, contentStart + contentLength));
        continue;
      }
      this.startRecord(type, requestId, contentLength, paddingLength);
      pos = this.continuePartial(chunk, contentStart);
      if (pos < 0) return;
    }
    if (pos < end && !this.stopped) {
      // Paused mid-chunk: keep the rest (a zero-copy slice) in front of anything held.
      const rest = chunk.subarray(pos);
      this.held.unshift(rest);
      this.heldLength += rest.length;
    }
  }

  private startRecord(type: number, requestId: number, contentLength: number, paddingLength: number): void {
    this.inRecord = true;
    this.recordType = type;
    this.recordId = requestId;
    this.contentLength = contentLength;
    this.paddingRemaining = paddingLength;
    this.contentReceived = 0;
    this.piecewise = this.splitStreams && isStreamType(type);
  }

  /**
   * Feeds bytes to the record in progress (completing a split header first).
   * Returns the position after what it used, or -1 if the decoder stopped.
   */
  private continuePartial(chunk: Buffer, offset: number): number {
    const end = chunk.length;
    let pos = offset;
    if (this.headerFilled > 0) {
      const take = Math.min(HEADER_LENGTH - this.headerFilled, end - pos);
      chunk.copy(this.header, this.headerFilled, pos, pos + take);
      this.headerFilled += take;
      pos += take;
      if (this.headerFilled < HEADER_LENGTH) return pos;
      this.headerFilled = 0;
      const h = this.header;
      const contentLength = (h[4] << 8) | h[5];
      if (!this.checkHeader(h[0], h[1], contentLength)) return -1;
      this.startRecord(h[1], (h[2] << 8) | h[3], contentLength, h[6]);
    }
    if (!this.inRecord) return pos;
    const contentMissing = this.contentLength - this.contentReceived;
    if (contentMissing > 0) {
      const take = Math.min(contentMissing, end - pos);
      if (take > 0) {
        const piece = chunk.subarray(pos, pos + take);
        this.contentReceived += take;
        pos += take;
        if (this.piecewise) {
          this.sink.onRecord(this.recordType, this.recordId, piece);
          // A pause needs no check here: the piece used all bytes up to the
          // content's end, and consume() checks for a pause before the next record.
          if (this.stopped) return -1;
        } else {
          this.parts.push(piece);
          this.partsLength += take;
        }
      }
      if (this.contentReceived < this.contentLength) return pos;
    }
    if (this.paddingRemaining > 0) {
      const skip = Math.min(this.paddingRemaining, end - pos);
      this.paddingRemaining -= skip;
      pos += skip;
      if (this.paddingRemaining > 0) return pos;
    }
    this.inRecord = false;
    // Piecewise content was already delivered; only an empty record is still owed.
    if (this.piecewise && this.contentLength > 0) return pos;
    const parts = this.parts;
    // One part means the content itself lay inside one chunk: still zero-copy.
    const content = parts.length === 1 ? parts[0] : parts.length === 0 ? EMPTY : Buffer.concat(parts, this.partsLength);
    this.parts = [];
    this.partsLength = 0;
    this.sink.onRecord(this.recordType, this.recordId, content);
    return this.stopped ? -1 : pos;
  }
}

/** Parses FCGI_END_REQUEST's body (the decoder already checked it is 8 bytes). */
export function decodeEndRequest(content: Buffer): { appStatus: number; protocolStatus: number } {
  return {
    appStatus: ((content[0] << 24) >>> 0) + ((content[1] << 16) | (content[2] << 8) | content[3]),
    protocolStatus: content[4],
  };
}

/** Shared zero padding of `length` (0–7) bytes, for writers that send header, content and padding as separate buffers. */
export function paddingBytes(length: number): Buffer {
  return ZEROES.subarray(0, length);
}
