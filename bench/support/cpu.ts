/**
 * CPU seconds per process group (engine, PostgreSQL, RabbitMQ) over a stretch of the benchmark,
 * read from /proc (Linux). Exited children count through their parent's cutime/cstime, so the
 * PostgreSQL backends of closed connections are included. Where the time goes on a machine whose
 * cores the engine, the database and the broker share is the figure that explains the wall time.
 */
import fs from 'node:fs';

export type CpuGroups = Record<'engine' | 'postgres' | 'rabbitmq' | 'other', number>;

const TICKS = 100; // USER_HZ: 100 on Linux x86_64

function classify(cmdline: string, comm: string): keyof CpuGroups {
  if (cmdline.includes('dist/engine/main.js')) return 'engine';
  if (comm === 'postgres') return 'postgres';
  if (comm === 'beam.smp' || comm.startsWith('erl_')) return 'rabbitmq';
  return 'other';
}

export function cpuSnapshot(): CpuGroups | undefined {
  if (!fs.existsSync('/proc/self/stat')) return undefined;
  const out: CpuGroups = { engine: 0, postgres: 0, rabbitmq: 0, other: 0 };
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after the comm.
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out[classify(cmdline, comm)] += ticks / TICKS;
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

/** CPU seconds spent between two snapshots, by group. */
export function cpuSpent(a: CpuGroups | undefined, b: CpuGroups | undefined): CpuGroups | undefined {
  if (!a || !b) return undefined;
  const r = (k: keyof CpuGroups) => Math.round((b[k] - a[k]) * 100) / 100;
  return { engine: r('engine'), postgres: r('postgres'), rabbitmq: r('rabbitmq'), other: r('other') };
}
