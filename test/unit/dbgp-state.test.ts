/** Reading Xdebug's packets (captured from Xdebug 3.2) and following a session's state from them. */
import { describe, expect, it } from 'vitest';
import { DebugStateTracker } from '../../src/dbgp/debugState';
import { fileUriToPath, parseEngineMessage, type EngineMessage } from '../../src/dbgp/packets';

const NS = 'xmlns="urn:debugger_protocol_v1" xmlns:xdebug="https://xdebug.org/dbgp/xdebug"';
const PROLOG = '<?xml version="1.0" encoding="iso-8859-1"?>\n';
const INIT = `${PROLOG}<init ${NS} fileuri="file:///srv/app/public/index.php" language="PHP" xdebug:language_version="8.2.36" protocol_version="1.0" appid="20495" idekey="1"><engine version="3.2.0"><![CDATA[Xdebug]]></engine></init>`;
const breakAt = (uri: string, line: number, id = 2): string =>
  `${PROLOG}<response ${NS} command="run" transaction_id="${id}" status="break" reason="ok"><xdebug:message filename="${uri}" lineno="${line}"></xdebug:message></response>`;
const STOPPING = `${PROLOG}<response ${NS} command="run" transaction_id="3" status="stopping" reason="ok"></response>`;

describe('parseEngineMessage', () => {
  it('reads init: the worker pid, the script, the IDE key', () => {
    expect(parseEngineMessage(Buffer.from(INIT, 'latin1'))).toEqual({
      kind: 'init',
      appid: 20495,
      fileUri: 'file:///srv/app/public/index.php',
      idekey: '1',
      language: 'PHP',
    });
  });

  it('reads a break with its location, and responses without one', () => {
    expect(parseEngineMessage(breakAt('file:///srv/app/src/Controller.php', 42))).toEqual({
      kind: 'response',
      command: 'run',
      transactionId: 2,
      status: 'break',
      reason: 'ok',
      location: { fileUri: 'file:///srv/app/src/Controller.php', line: 42 },
    });
    expect(parseEngineMessage(STOPPING)).toMatchObject({ status: 'stopping', location: null });
    expect(parseEngineMessage(`${PROLOG}<response ${NS} command="breakpoint_set" transaction_id="1" id="204950001"></response>`)).toMatchObject({
      command: 'breakpoint_set',
      status: null,
    });
  });

  it('reads stream and notify packets, and says "other" for anything else without throwing', () => {
    expect(parseEngineMessage(`${PROLOG}<stream ${NS} type="stdout" encoding="base64"><![CDATA[aGk=]]></stream>`)).toEqual({ kind: 'stream', type: 'stdout' });
    expect(parseEngineMessage(`${PROLOG}<notify ${NS} name="breakpoint_resolved"></notify>`)).toEqual({ kind: 'notify', name: 'breakpoint_resolved' });
    const garbage: EngineMessage[] = ['', 'hello', '<', '<init appid="1', '<!-- only a comment', '<?xml', '<a b=c>'].map((text) => parseEngineMessage(text));
    expect(garbage.every((message) => message.kind === 'other')).toBe(true);
  });

  it('decodes entities in attributes; a status it does not know is null; a cut-off head still gives the root', () => {
    const message = parseEngineMessage(`<response command="x" status="weird" reason="a &amp; b &#x41;&#66;&quot;"/>`);
    expect(message).toMatchObject({ status: null, reason: 'a & b AB"' });
    expect(parseEngineMessage(breakAt('file:///a.php', 3).slice(0, 200))).toMatchObject({ kind: 'response', status: 'break', location: null });
  });

  it('turns file URIs into paths, percent-decoded; leaves other URIs alone', () => {
    expect(fileUriToPath('file:///srv/my%20app/%C3%BCn%C3%AF.php')).toBe('/srv/my app/ünï.php');
    expect(fileUriToPath('dbgp://3')).toBe('dbgp://3');
  });
});

describe('DebugStateTracker', () => {
  const message = (xml: string): EngineMessage => parseEngineMessage(xml);

  it('connected (shown as running) → paused at file:line → running → stopping; `since` moves only with the state', () => {
    const tracker = new DebugStateTracker(7, '/srv/app/public/index.php', '1', 1_000);
    expect(tracker.status).toEqual({ state: 'running', file: '/srv/app/public/index.php', line: null, since: 1_000, ide: 'connected' });
    expect(tracker.waitsForIde).toBe(true);

    expect(tracker.onIdeCommand('feature_set', 1_001)).toBe(false);
    expect(tracker.onIdeCommand('run', 1_002)).toBe(false); // still 'running' to the outside
    expect(tracker.currentPhase).toBe('running');
    expect(tracker.waitsForIde).toBe(false);

    expect(tracker.onEngineMessage(message(breakAt('file:///srv/app/src/Controller.php', 42)), 1_010)).toBe(true);
    expect(tracker.status).toEqual({ state: 'paused', file: '/srv/app/src/Controller.php', line: 42, since: 1_010, ide: 'connected' });
    // Inspection while paused changes nothing, and a break without a location keeps the one we had.
    const paused = tracker.status;
    expect(tracker.onIdeCommand('context_get', 1_020)).toBe(false);
    expect(tracker.onEngineMessage(message(`<response command="status" transaction_id="5" status="break" reason="ok"></response>`), 1_021)).toBe(false);
    expect(tracker.status).toBe(paused);

    expect(tracker.onIdeCommand('step_over', 1_030)).toBe(true);
    expect(tracker.status).toMatchObject({ state: 'running', line: null, since: 1_030 });
    expect(tracker.onEngineMessage(message(breakAt('file:///srv/app/src/Controller.php', 43)), 1_031)).toBe(true);
    expect(tracker.status).toMatchObject({ state: 'paused', line: 43, since: 1_031 });

    expect(tracker.onIdeCommand('run', 1_040)).toBe(true);
    expect(tracker.onEngineMessage(message(STOPPING), 1_050)).toBe(true);
    expect(tracker.status).toMatchObject({ state: 'stopping', line: null, since: 1_050 });
    expect(tracker.waitsForIde).toBe(true);
    // The stopping engine ends on any command; it does not run again.
    expect(tracker.onIdeCommand('run', 1_060)).toBe(false);
    expect(tracker.status.state).toBe('stopping');
  });

  it('stop and detach from the IDE mean stopping; losing the IDE flips `ide` once', () => {
    const tracker = new DebugStateTracker(7, null, null, 0);
    tracker.onEngineMessage(message(breakAt('file:///a.php', 3)), 5);
    expect(tracker.onIdeCommand('detach', 9)).toBe(true);
    expect(tracker.status).toMatchObject({ state: 'stopping', since: 9 });
    expect(tracker.onIdeLost()).toBe(true);
    expect(tracker.status.ide).toBe('unreachable');
    expect(tracker.onIdeLost()).toBe(false);
    expect(tracker.info).toMatchObject({ pid: 7, phase: 'stopping', script: null, idekey: null, connectedAt: 0 });
  });

  it('ignores init, stream and notify packets and starting responses', () => {
    const tracker = new DebugStateTracker(7, '/a.php', null, 0);
    const before = tracker.status;
    for (const xml of [INIT, '<stream type="stdout"/>', '<notify name="x"/>', '<response command="status" status="starting"/>']) {
      expect(tracker.onEngineMessage(message(xml), 10)).toBe(false);
    }
    expect(tracker.status).toBe(before);
  });
});
