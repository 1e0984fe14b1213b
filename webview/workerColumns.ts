/** The dashboard's worker table: its columns, their cells and actions (app.ts draws the rest of the page). */
import type { DashboardIntentRequest } from '../src/shared/dashboardProtocol';
import type { WorkerRow } from './derive';
import { h, setText } from './dom';
import { formatDuration, formatRequest, pausedAt, plural } from '../src/shared/text';
import { button, chip, link, setFlag, setLabel, type GridColumn } from './ui';

/**
 * Widths (px) of the worker table at which it leaves columns out. At
 * 1400 px every column shows; a half-width editor beside the sidebar (about
 * 480 px of table) keeps Worker, State, Current request and the Recycle,
 * Kill and Release buttons. Every value a cell cannot fit ends in an
 * ellipsis, with the whole of it on hover.
 */
const WIDE_GRID_PX = 960;
export const MEDIUM_GRID_PX = 720;
const NARROW_GRID_PX = 560;

/**
 * The worker table's columns. Rich cells are built once per row and
 * updated in place; their buttons look the worker up when clicked, so a
 * new lease on the row changes text, not elements.
 */
export function workerColumns(workers: ReadonlyMap<string, WorkerRow>, send: (request: DashboardIntentRequest) => void): GridColumn<WorkerRow>[] {
  const current = (cell: HTMLElement): WorkerRow | undefined => {
    const key = cell.closest<HTMLElement>('[data-key]')?.dataset.key;
    return key === undefined ? undefined : workers.get(key);
  };
  const stopping = (row: WorkerRow) => row.state === 'error' && !row.defunct;
  return [
    {
      title: 'Worker',
      width: 'minmax(72px, 1fr)',
      update: (cell, row, first) => {
        if (first) {
          // The spaces keep the words apart for screen readers and copy-paste.
          cell.append(
            h('span', { class: 'worker-id', text: row.id }),
            ' ',
            chip('defunct', 'error', 'The OS says this process is gone or a zombie; the pool keeps it (leak policy keep)'),
            ' ',
            chip('leaked', 'error', 'An open finding names this lease: its holder is gone'),
          );
        }
        const [, defunct, leaked] = Array.from(cell.children);
        setFlag(defunct!, 'hidden', !row.defunct);
        setFlag(leaked!, 'hidden', !(row.leaseStuck && !row.defunct));
        // What a narrow table leaves out (pid, requests served, age) is on hover here.
        const marks = `${row.defunct ? ' defunct' : row.leaseStuck ? ' leaked' : ''}`;
        const title = `${row.id}${marks} · pid ${row.pid ?? '…'} · ${plural(row.accesses, 'request')} · up ${formatDuration(row.ageMs)}`;
        if (cell.title !== title) cell.title = title;
      },
    },
    {
      title: 'PID',
      width: '72px',
      numeric: true,
      hideBelow: NARROW_GRID_PX,
      text: (row) => (row.pid === null ? '…' : row.servingPid ? `${row.pid} → ${row.servingPid}` : String(row.pid)),
    },
    {
      title: 'State',
      width: 'minmax(72px, 1.2fr)',
      update: (cell, row, first) => {
        if (first) {
          // A paused worker's breakpoint is a link to its line; every other state is text.
          cell.append(
            h('span', { class: 'state-text' }),
            link(
              '',
              () => {
                const debug = current(cell)?.debug;
                if (debug?.file) send({ type: 'openScript', path: debug.file, ...(debug.line !== null ? { line: debug.line } : {}) });
              },
              undefined,
              'breakpoint-link',
            ),
          );
        }
        const [text, anchor] = Array.from(cell.children) as HTMLElement[];
        const paused = row.state === 'paused' && row.debug !== null;
        setFlag(text!, 'hidden', paused);
        setFlag(anchor!, 'hidden', !paused);
        // A cut state ends in an ellipsis (dashboard.css); the cell's hover shows all of it.
        const shown = paused && row.debug ? pausedAt(row.debug) : stateText(row);
        if (paused && row.debug) setLabel(anchor!, shown, `Open ${row.debug.file ?? '?'} at line ${row.debug.line ?? '?'}`);
        else setText(text!, shown);
        const title = paused && row.debug ? `${shown}\nClick to open ${row.debug.file ?? '?'} at line ${row.debug.line ?? '?'}` : shown;
        if (cell.title !== title) cell.title = title;
      },
    },
    { title: 'Accesses', width: '112px', numeric: true, hideBelow: WIDE_GRID_PX, text: (row) => String(row.accesses) },
    { title: 'Age', width: '104px', numeric: true, hideBelow: WIDE_GRID_PX, text: (row) => formatDuration(row.ageMs) },
    {
      title: 'Current request',
      width: 'minmax(112px, 3fr)',
      update: (cell, row, first) => {
        if (first) {
          cell.append(
            link(
              '',
              () => {
                const row = current(cell);
                const lease = row?.lease ?? row?.abandoned;
                if (lease) send({ type: 'openScript', path: lease.scriptFilename });
              },
              undefined,
              'request-link',
            ),
          );
        }
        const anchor = cell.firstElementChild as HTMLElement;
        // A finishing worker's request is shown too: its client left, the script still runs.
        const shown = row.lease ?? row.abandoned;
        setFlag(anchor, 'hidden', shown === null);
        // The cell ends a long request in an ellipsis; the hover shows all of it, then what a click opens.
        if (shown) {
          const text = row.lease ? formatRequest(shown, 400) : `${formatRequest(shown, 400)} (client left)`;
          setLabel(anchor, text, `${row.lease ? formatRequest(shown) : `${formatRequest(shown)} (client left)`}\nClick to open ${shown.scriptFilename}`);
        }
      },
    },
    {
      title: 'Lease age',
      width: '112px',
      numeric: true,
      hideBelow: MEDIUM_GRID_PX,
      text: (row) => (row.leaseAgeMs === null ? '' : formatDuration(row.leaseAgeMs)),
    },
    {
      title: 'Actions',
      // Reveal, Recycle, Kill and Release side by side, with the cell's padding; a narrow grid drops Reveal (the tree has it).
      width: (gridWidth) => (gridWidth < MEDIUM_GRID_PX ? '216px' : '290px'),
      update: (cell, row, first) => {
        const id = row.id;
        if (first) {
          cell.append(
            h(
              'span',
              { class: 'actions' },
              button('Reveal', () => send({ type: 'revealWorker', workerId: id }), {
                ariaLabel: `Reveal worker ${id} in the tree`,
                title: 'Reveal in the Workers view',
                className: 'reveal',
              }),
              button('Recycle', () => send({ type: 'recycle', workerId: id }), {
                ariaLabel: `Recycle worker ${id}`,
                title: 'Replace it after its current request',
              }),
              button('Kill', () => send({ type: 'kill', workerId: id }), { ariaLabel: `Kill worker ${id}`, title: 'SIGKILL its process group now' }),
              button(
                'Release',
                () => {
                  const lease = current(cell)?.lease;
                  if (lease) send({ type: 'releaseLease', leaseId: lease.id });
                },
                { title: 'Release the lease: it ends, and the worker is recycled' },
              ),
            ),
          );
        }
        const [, recycle, kill, release] = Array.from(cell.firstElementChild!.children) as HTMLElement[];
        setFlag(recycle!, 'disabled', stopping(row));
        setFlag(kill!, 'disabled', stopping(row));
        setFlag(release!, 'hidden', row.lease === null);
        const label = row.lease ? `Release lease ${row.lease.id} on worker ${id}` : '';
        if (release!.getAttribute('aria-label') !== label) release!.setAttribute('aria-label', label);
      },
    },
  ];
}

export function rowClasses(row: WorkerRow): string[] {
  const classes: string[] = [];
  if (row.defunct) classes.push('defunct');
  if (row.leaseStuck) classes.push('stuck');
  if (row.state === 'paused') classes.push('paused');
  return classes;
}

/** The State column: the state, why it is leaving, that its client left, or that it runs under the debugger. */
function stateText(row: WorkerRow): string {
  if (row.exitReason && (row.state === 'error' || row.state === 'draining')) return `${row.state} (${row.exitReason})`;
  if (row.state === 'finishing') return 'finishing (client left)';
  if (row.state === 'busy' && row.debug !== null && row.debug.ide === 'connected') return 'busy (debugging)';
  return row.state;
}
