/**
 * What the relay reads inside DBGp packets: the root element of an engine
 * packet (init, response, stream, notify) with its attributes, and for a
 * response the `<xdebug:message filename lineno>` that says where the engine
 * stopped. Only the packet's head is needed (see framing.ts), so this is a
 * small scanner for the start tags Xdebug writes, not a general XML parser.
 */
import { fileURLToPath } from 'node:url';

/** DBGp's engine statuses (spec §7.1). */
export type EngineStatus = 'starting' | 'stopping' | 'stopped' | 'running' | 'break';

const ENGINE_STATUSES: ReadonlySet<string> = new Set<EngineStatus>(['starting', 'stopping', 'stopped', 'running', 'break']);

/** An engine packet, reduced to what the relay follows. */
export type EngineMessage =
  | {
      kind: 'init';
      /** The engine's process id (Xdebug: the php-cgi worker's pid); null if missing or not a number. */
      appid: number | null;
      /** The script the request started, e.g. `file:///srv/app/public/index.php`. */
      fileUri: string | null;
      idekey: string | null;
      language: string | null;
    }
  | {
      kind: 'response';
      command: string | null;
      transactionId: number | null;
      /** Present on responses to continuation and `status` commands. */
      status: EngineStatus | null;
      reason: string | null;
      /** Where a break happened (the `<xdebug:message>` child), if the packet says. */
      location: { fileUri: string; line: number } | null;
    }
  | { kind: 'stream'; type: string | null }
  | { kind: 'notify'; name: string | null }
  | { kind: 'other'; element: string | null };

/** A start tag: its name and attributes (entities decoded). */
interface StartTag {
  name: string;
  attributes: Map<string, string>;
  /** Index just past the tag's `>`. */
  end: number;
}

/**
 * Reads the packet's root element (and, for a response, its first child).
 * Never throws: text that is not the XML Xdebug writes gives `kind: 'other'`.
 */
export function parseEngineMessage(head: Buffer | string): EngineMessage {
  // Xdebug declares iso-8859-1; the attributes we read are ASCII (URIs are percent-encoded).
  const text = typeof head === 'string' ? head : head.toString('latin1');
  const root = readStartTag(text, skipProlog(text));
  if (root === null) return { kind: 'other', element: null };
  const attr = (name: string): string | null => root.attributes.get(name) ?? null;
  switch (root.name) {
    case 'init':
      return { kind: 'init', appid: toInteger(attr('appid')), fileUri: attr('fileuri'), idekey: attr('idekey'), language: attr('language') };
    case 'response': {
      const status = attr('status');
      return {
        kind: 'response',
        command: attr('command'),
        transactionId: toInteger(attr('transaction_id')),
        status: status !== null && ENGINE_STATUSES.has(status) ? (status as EngineStatus) : null,
        reason: attr('reason'),
        location: readLocation(text, root.end),
      };
    }
    case 'stream':
      return { kind: 'stream', type: attr('type') };
    case 'notify':
      return { kind: 'notify', name: attr('name') };
    default:
      return { kind: 'other', element: root.name };
  }
}

/** The `<xdebug:message filename="…" lineno="…">` right after the root tag, if any. */
function readLocation(text: string, from: number): { fileUri: string; line: number } | null {
  const child = readStartTag(text, skipWhitespace(text, from));
  if (child === null || child.name !== 'xdebug:message') return null;
  const fileUri = child.attributes.get('filename');
  const line = toInteger(child.attributes.get('lineno') ?? null);
  if (fileUri === undefined || line === null) return null;
  return { fileUri, line };
}

/** Skips the XML declaration, comments and whitespace before the root element. */
function skipProlog(text: string): number {
  let index = skipWhitespace(text, 0);
  for (;;) {
    if (text.startsWith('<?', index)) {
      const end = text.indexOf('?>', index + 2);
      if (end < 0) return text.length;
      index = skipWhitespace(text, end + 2);
    } else if (text.startsWith('<!--', index)) {
      const end = text.indexOf('-->', index + 4);
      if (end < 0) return text.length;
      index = skipWhitespace(text, end + 3);
    } else {
      return index;
    }
  }
}

function skipWhitespace(text: string, index: number): number {
  while (index < text.length && (text[index] === ' ' || text[index] === '\n' || text[index] === '\r' || text[index] === '\t')) index++;
  return index;
}

const NAME = /[A-Za-z_][\w.:-]*/y;

/** Reads `<name attr="v" …>` (or `/>`) at `index`; null if there is none or it is cut off. */
function readStartTag(text: string, index: number): StartTag | null {
  if (text[index] !== '<') return null;
  NAME.lastIndex = index + 1;
  const nameMatch = NAME.exec(text);
  if (nameMatch === null) return null;
  const attributes = new Map<string, string>();
  let i = NAME.lastIndex;
  for (;;) {
    i = skipWhitespace(text, i);
    if (i >= text.length) return null;
    if (text[i] === '>') return { name: nameMatch[0], attributes, end: i + 1 };
    if (text.startsWith('/>', i)) return { name: nameMatch[0], attributes, end: i + 2 };
    NAME.lastIndex = i;
    const attrName = NAME.exec(text);
    if (attrName === null) return null;
    i = skipWhitespace(text, NAME.lastIndex);
    if (text[i] !== '=') return null;
    i = skipWhitespace(text, i + 1);
    const quote = text[i];
    if (quote !== '"' && quote !== "'") return null;
    const close = text.indexOf(quote, i + 1);
    if (close < 0) return null;
    attributes.set(attrName[0], decodeEntities(text.slice(i + 1, close)));
    i = close + 1;
  }
}

const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#(\d{1,7})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(ENTITY, (whole, hex: string | undefined, dec: string | undefined, named: string | undefined) => {
    if (named !== undefined) return NAMED[named];
    const code = hex !== undefined ? parseInt(hex, 16) : Number(dec);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function toInteger(value: string | null): number | null {
  if (value === null || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/**
 * A DBGp file URI as a path for people and editors: `file:///srv/a%20b.php`
 * → `/srv/a b.php`. Other URIs (`dbgp://1` for eval'd code) stay as they are.
 */
export function fileUriToPath(uri: string): string {
  if (!uri.startsWith('file://')) return uri;
  try {
    return fileURLToPath(uri);
  } catch {
    return uri;
  }
}

/**
 * IDE commands that let the engine run until its next break (spec §7.5).
 * After one of these the worker executes PHP again: `running`, not `paused`.
 */
export const CONTINUATION_COMMANDS: ReadonlySet<string> = new Set(['run', 'step_into', 'step_over', 'step_out']);

/** IDE commands that end the session: the script is stopped, or runs on without the debugger. */
export const ENDING_COMMANDS: ReadonlySet<string> = new Set(['stop', 'detach']);
