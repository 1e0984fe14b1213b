/** Default cap on a CGI header block (nginx's fastcgi_buffer_size is 4–8 KiB; PHP apps with many cookies need more). */
const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;

/** The script's response headers were unusable; the gateway answers 502. */
export class CgiHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CgiHeaderError';
  }
}

/** What {@link CgiHeaderParser.push} returns once the header block is complete. */
export interface CgiHeadersDone {
  done: true;
  status: number;
  /** The reason phrase from `Status: 404 Not Found`; undefined for a bare code or no Status. */
  statusText: string | undefined;
  /**
   * In order, repeats kept as separate entries (Set-Cookie), without Status.
   * Values are latin1 strings, one char per byte, so UTF-8 in a header
   * (a Content-Disposition file name) passes through Node unchanged.
   */
  headers: Array<[string, string]>;
  /** The rest of the chunk after the blank line: the first body bytes. */
  bodyStart: Buffer;
}

const EMPTY = Buffer.alloc(0);
const NOT_DONE: { done: false } = Object.freeze({ done: false });

/**
 * Parses the CGI header block at the start of a script's STDOUT, chunk by
 * chunk, like nginx's FastCGI header handling:
 *
 * - lines end in `\r\n` or a bare `\n`; the block ends at the first empty line;
 * - `Status: 404 Not Found` sets the status (and reason); without Status a
 *   `Location` header means 302, else 200;
 * - a line without a colon, an empty or non-token name, a folded
 *   continuation line, or a stray CR or control character in a value is an
 *   error, as is a block longer than `maxHeaderBytes`: the gateway answers
 *   502 instead of passing on something Node would throw on or a client
 *   could misread;
 * - {@link finish} reports a script that ended before its blank line.
 *
 * push() throws {@link CgiHeaderError}; after the block is done it must not
 * be called again (body bytes go straight to the client).
 */
export class CgiHeaderParser {
  private pending: Buffer = EMPTY;
  /** Where the current, unfinished line starts in `pending`. */
  private lineStart = 0;
  /** How far `pending` has been searched for a newline. */
  private scanned = 0;
  /** Header bytes already parsed and dropped from `pending`. */
  private consumed = 0;
  private readonly headers: Array<[string, string]> = [];
  private statusValue: string | undefined;
  private hasLocation = false;
  private done = false;
  private sawBytes = false;

  constructor(private readonly maxHeaderBytes: number = DEFAULT_MAX_HEADER_BYTES) {}

  /** Feeds the next STDOUT chunk. */
  push(chunk: Buffer): { done: false } | CgiHeadersDone {
    if (this.done) throw new CgiHeaderError('push() after the header block was complete');
    if (chunk.length === 0) return NOT_DONE;
    this.sawBytes = true;
    // Keep only the unfinished line; headers nearly always arrive in the
    // first chunk, so the concat is rare.
    const rest = this.pending.subarray(this.lineStart);
    this.consumed += this.lineStart;
    this.scanned -= this.lineStart;
    this.lineStart = 0;
    this.pending = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    const buf = this.pending;
    for (;;) {
      const nl = buf.indexOf(0x0a, this.scanned);
      if (nl < 0) {
        this.scanned = buf.length;
        if (this.consumed + buf.length > this.maxHeaderBytes) throw this.tooLarge();
        return NOT_DONE;
      }
      if (this.consumed + nl + 1 > this.maxHeaderBytes) throw this.tooLarge();
      const end = nl > this.lineStart && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      const start = this.lineStart;
      this.lineStart = this.scanned = nl + 1;
      if (end === start) {
        this.done = true;
        this.pending = EMPTY;
        return this.result(buf.subarray(nl + 1));
      }
      this.parseLine(buf.toString('latin1', start, end));
    }
  }

  /**
   * Call when STDOUT ended. Returns null if the header block was complete,
   * else the error to report (the gateway answers 502).
   */
  finish(): CgiHeaderError | null {
    if (this.done) return null;
    if (!this.sawBytes) return new CgiHeaderError('the script produced no output at all (no CGI headers)');
    return new CgiHeaderError('the script output ended inside its CGI headers (no blank line after them)');
  }

  private tooLarge(): CgiHeaderError {
    return new CgiHeaderError(`the CGI header block is larger than ${this.maxHeaderBytes} bytes`);
  }

  private parseLine(line: string): void {
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      throw new CgiHeaderError(`folded (obsolete) header continuation line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CgiHeaderError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    for (let i = 0; i < name.length; i++) {
      if (!TOKEN[name.charCodeAt(i)]) throw new CgiHeaderError(`invalid header name: ${JSON.stringify(name.slice(0, 80))}`);
    }
    // Optional whitespace around the value is not part of it (RFC 9110 5.5).
    let vs = colon + 1;
    let ve = line.length;
    while (vs < ve && (line.charCodeAt(vs) === 0x20 || line.charCodeAt(vs) === 0x09)) vs++;
    while (ve > vs && (line.charCodeAt(ve - 1) === 0x20 || line.charCodeAt(ve - 1) === 0x09)) ve--;
    for (let i = vs; i < ve; i++) {
      const c = line.charCodeAt(i);
      // Node's own rule for header values: no CR, LF, NUL or other controls but HTAB.
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
        throw new CgiHeaderError(`control character in the value of header ${name}`);
      }
    }
    const value = line.slice(vs, ve);
    const lower = name.length === 6 || name.length === 8 ? name.toLowerCase() : '';
    if (lower === 'status') {
      this.statusValue = value; // the last one wins, as PHP's header() replaces
      return;
    }
    if (lower === 'location') this.hasLocation = true;
    this.headers.push([name, value]);
  }

  private result(bodyStart: Buffer): CgiHeadersDone {
    let status = 200;
    let statusText: string | undefined;
    if (this.statusValue !== undefined) {
      const v = this.statusValue;
      const code = v.length >= 3 ? Number(v.slice(0, 3)) : NaN;
      if (!/^\d{3}$/.test(v.slice(0, 3)) || code < 100 || (v.length > 3 && v.charCodeAt(3) !== 0x20)) {
        throw new CgiHeaderError(`invalid Status header: ${JSON.stringify(v.slice(0, 80))}`);
      }
      status = code;
      const text = v.slice(4).trim();
      statusText = text === '' ? undefined : text;
    } else if (this.hasLocation) {
      // CGI 1.1 6.2.4 / nginx: a redirect without an explicit status is 302.
      status = 302;
    }
    return { done: true, status, statusText, headers: this.headers, bodyStart: bodyStart.length === 0 ? EMPTY : bodyStart };
  }
}

/** RFC 9110 tchar lookup table. */
const TOKEN: readonly boolean[] = (() => {
  const t: boolean[] = new Array<boolean>(128).fill(false);
  for (let c = 0x30; c <= 0x39; c++) t[c] = true;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = true;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = true;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = true;
  return t;
})();
