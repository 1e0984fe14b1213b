import type { ProcessReading, ProcessTruthReader } from './platform';
import { judge, type ProcessTruth } from './processState';
import { listDescendants, readProcessStat, type ProcessStat } from './processTable';

/**
 * The process truth on Linux: /proc, read at the moment of asking (22 µs a
 * pid, 81 µs a tree), so one "reading" is simply the live table; start
 * times are clock ticks since boot.
 */
export class ProcTruthReader implements ProcessTruthReader, ProcessReading {
  readonly kind = 'proc' as const;

  read(): Promise<ProcessReading> {
    return Promise.resolve(this);
  }

  inspect(pid: number, startTime: number | null): ProcessTruth {
    return judge(readProcessStat(pid), startTime);
  }

  descendants(pid: number): ProcessStat[] {
    return listDescendants(pid);
  }

  inspectNow(pid: number, startTime: number | null): ProcessTruth {
    return this.inspect(pid, startTime);
  }

  startTimeOf(pid: number): Promise<number | null> {
    return Promise.resolve(readProcessStat(pid)?.startTime ?? null);
  }

  ownStartTime(): number | null {
    return readProcessStat(process.pid)?.startTime ?? null;
  }
}
