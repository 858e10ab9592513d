/**
 * CPU time spent per unit of work, by process: the figure that does not depend on what else
 * the machine is running (throughput on a shared two-core machine does). Read from Linux's
 * /proc; where that is not readable (another OS, another host's PostgreSQL) it is unknown.
 */
import { readFile } from 'node:fs/promises';
import type { Database } from '../adapters/db/database.js';

/** /proc counts CPU time in clock ticks; Linux's USER_HZ is 100 on every common platform. */
const TICKS_PER_SECOND = 100;

/** Milliseconds of CPU (user + system) `pid` has used, or null when /proc cannot say. */
export async function processCpuMs(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]);
    const system = Number(fields[12]);
    if (!Number.isFinite(user) || !Number.isFinite(system)) return null;
    return ((user + system) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * CPU of each PostgreSQL backend connected to this database (the asking one too: it may be
 * the one that did the work), in ms by process id, or null when the server is not on this
 * machine. Background processes (WAL writer, checkpointer) and parallel workers are not
 * counted, nor a backend that exits before the second reading.
 */
export async function backendsCpuMs(db: Database): Promise<Map<number, number> | null> {
  const { rows } = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  const byPid = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = await processCpuMs(pid);
    if (ms === null) return null;
    byPid.set(pid, ms);
  }
  return byPid;
}

export function backendsSpent(
  before: Map<number, number> | null,
  after: Map<number, number> | null,
): number | null {
  if (before === null || after === null) return null;
  let spent = 0;
  for (const [pid, ms] of after) spent += ms - (before.get(pid) ?? 0);
  return spent;
}

export interface CpuSplit {
  /** Microseconds of CPU per unit of work, null where unknown. */
  readonly serverUs: number | null;
  /** The projector worker's share, where the projector runs apart (null: in the server, or unknown). */
  readonly workerUs: number | null;
  readonly postgresUs: number | null;
  readonly generatorUs: number;
}

/** The processes serving the load: a server, and a projector worker beside it if there is one. */
export interface ServingPids {
  readonly server: number | undefined;
  readonly worker?: number | undefined;
}

/**
 * Runs `work`, measuring the CPU it costs the server process (and the projector worker), the
 * database's backends and this process.
 */
export async function cpuSplit<T>(
  pids: ServingPids,
  db: Database,
  work: () => Promise<T>,
  units: (result: T) => number,
): Promise<{ result: T; cpu: CpuSplit }> {
  const server = await processCpuMs(pids.server);
  const worker = pids.worker === undefined ? null : await processCpuMs(pids.worker);
  const postgres = await backendsCpuMs(db);
  const generator = process.cpuUsage();
  const result = await work();
  const spent = process.cpuUsage(generator);
  const serverAfter = await processCpuMs(pids.server);
  const workerAfter = pids.worker === undefined ? null : await processCpuMs(pids.worker);
  const postgresAfter = await backendsCpuMs(db);
  const n = Math.max(1, units(result));
  const postgresSpent = backendsSpent(postgres, postgresAfter);
  const perUnit = (before: number | null, after: number | null): number | null =>
    before === null || after === null ? null : ((after - before) * 1000) / n;
  return {
    result,
    cpu: {
      serverUs: perUnit(server, serverAfter),
      workerUs: perUnit(worker, workerAfter),
      postgresUs: postgresSpent === null ? null : (postgresSpent * 1000) / n,
      generatorUs: (spent.user + spent.system) / n,
    },
  };
}

/** The CPU split of a scenario run in parts, each part weighted by its units of work. */
export function combineCpu(parts: readonly { readonly cpu: CpuSplit; readonly units: number }[]): CpuSplit {
  const total = Math.max(
    1,
    parts.reduce((sum, part) => sum + part.units, 0),
  );
  const weighted = (pick: (cpu: CpuSplit) => number | null): number | null => {
    let sum = 0;
    for (const part of parts) {
      const value = pick(part.cpu);
      if (value === null) return null;
      sum += value * part.units;
    }
    return sum / total;
  };
  return {
    serverUs: weighted((cpu) => cpu.serverUs),
    workerUs: weighted((cpu) => cpu.workerUs),
    postgresUs: weighted((cpu) => cpu.postgresUs),
    generatorUs: weighted((cpu) => cpu.generatorUs) ?? 0,
  };
}
