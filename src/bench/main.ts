/**
 * `npm run bench` / `ledgerline bench`: creates a scratch database on the PostgreSQL server
 * (DATABASE_URL, or the local one), measures, prints, drops it. Bounded in count and time.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import type { Config } from '../config.js';
import { print, say } from '../cli/output.js';
import { appendBench, CONCURRENCY } from './appendBench.js';
import { esdbEmulatorBench } from './esdbBench.js';
import { ledgerBench, type LedgerBenchResult } from './ledgerBench.js';
import { MCP_SESSIONS } from './mcpBench.js';
import { formatTable, type Measurement } from './measure.js';

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';
const DROP_ATTEMPTS_MAX = 50;
const DROP_WAIT_MS = 100;

export type BenchPart = 'all' | 'appends' | 'ledger';

export async function runBench(config: Config, part: BenchPart = 'all'): Promise<void> {
  const serverUrl = config.databaseUrl ?? LOCAL_POSTGRES;
  const scratch = `ledgerline_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const scratchUrl = new URL(serverUrl);
  scratchUrl.pathname = `/${scratch}`;
  await admin.query(`CREATE DATABASE ${scratch}`);
  try {
    say(`bench: scratch database ${scratch}; each scenario bounded by count and 30 s`);
    if (part !== 'ledger') {
      const appends = await appendBench(scratchUrl.toString());
      print('\nEvent-store appends on PostgreSQL, 16 concurrent writers, same server, same run\n');
      print(table('single-event appends', appends.single));
      print('');
      print(table('100-event appends', appends.batch));
      await printEsdbEmulatorBench();
    }
    if (part !== 'appends') printLedgerBench(await ledgerBench(scratchUrl.toString()));
  } finally {
    await dropWhenIdle(admin, scratch);
    await admin.end();
  }
}

/** A section of its own, headed so nobody reads it as a figure for EventStoreDB. */
async function printEsdbEmulatorBench(): Promise<void> {
  const title =
    'EventStoreDB adapter against the in-process emulator (NOT EventStoreDB performance: an in-memory ' +
    `gRPC stand-in sharing this process's CPU), ${CONCURRENCY} concurrent writers`;
  const result = await esdbEmulatorBench();
  if (result.kind === 'skipped') {
    print(`\n${title}: skipped: ${result.reason}`);
    return;
  }
  print(`\n${title}\n`);
  print(plainTable('single-event appends', [result.single]));
  print('');
  print(plainTable('100-event appends', [result.batch]));
}

function printLedgerBench(result: LedgerBenchResult): void {
  const fixed = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  print(
    '\nThe ledger end to end: a server in its own process on PostgreSQL (its projector in-process, or in a `ledgerline project` worker beside it), loaded over HTTP, one organization\n',
  );
  print(
    formatTable([
      ['scenario', 'calls', 'transfers/s', 'p50 ms', 'p99 ms', 'goal'],
      [
        result.single.name,
        String(result.single.operations),
        fixed(result.single.eventsPerSecond),
        fixed(result.single.p50Ms, 2),
        fixed(result.single.p99Ms, 2),
        '≥ 5,000/s, p99 ≤ 50 ms',
      ],
      [
        result.singleWithWorker.measured.name,
        String(result.singleWithWorker.measured.operations),
        fixed(result.singleWithWorker.measured.eventsPerSecond),
        fixed(result.singleWithWorker.measured.p50Ms, 2),
        fixed(result.singleWithWorker.measured.p99Ms, 2),
        '≥ 5,000/s, p99 ≤ 50 ms',
      ],
      [
        result.batch.name,
        String(result.batch.operations),
        fixed(result.batch.eventsPerSecond),
        fixed(result.batch.p50Ms, 2),
        fixed(result.batch.p99Ms, 2),
        '≥ 50,000/s',
      ],
    ]),
  );
  print(
    result.batchProjected === null
      ? '\nbatch endpoint: the read models did not catch up within the scenario bound'
      : `\nbatch endpoint, answered and projected: the read models had every batch ${fixed(result.batchProjected.catchUpMs)} ms after the last answer; ${fixed(result.batchProjected.transfersPerSecond)} transfers/s answered and projected`,
  );
  for (const [where, lag] of [
    ['', result.lag],
    [', projector worker process', result.singleWithWorker.lag],
  ] as const) {
    print(
      `projection lag under the single-transfer load${where} (${lag.samples} samples): p50 ${fixed(lag.p50Ms, 1)} ms, p99 ${fixed(lag.p99Ms, 1)} ms, max ${fixed(lag.maxMs, 1)} ms`,
    );
  }
  print(
    `replay (rebuild of the ledger read models): ${result.replay.events.toLocaleString('en')} events in ${fixed(result.replay.seconds, 1)} s = ${fixed(result.replay.eventsPerSecond)} events/s (goal ≥ 100,000/s)`,
  );
  print(
    `\nMCP tool calls against the same operations over REST (both through fetch, ${MCP_SESSIONS} at a time)\n`,
  );
  print(
    formatTable([
      ['operation', 'calls', 'calls/s', 'p50 ms', 'p99 ms'],
      ...[result.mcp.transferMcp, result.mcp.transferRest, result.mcp.balanceMcp, result.mcp.balanceRest].map(
        (m) => [m.name, String(m.operations), fixed(m.opsPerSecond), fixed(m.p50Ms, 2), fixed(m.p99Ms, 2)],
      ),
    ]),
  );
  print(
    '\nCPU per transfer, by process (µs; far less distorted than the rates above by whatever else the machine runs):',
  );
  // The ceiling the CPU figures imply for this machine, were nothing else running on it.
  const cores = availableParallelism();
  for (const [name, cpu] of [
    ['single-transfer commands', result.cpu.single],
    ['single-transfer commands, projector worker process', result.singleWithWorker.cpu],
    ['batch endpoint', result.cpu.batch],
  ] as const) {
    const known = cpu.serverUs !== null && cpu.postgresUs !== null;
    const total = (cpu.serverUs ?? 0) + (cpu.workerUs ?? 0) + (cpu.postgresUs ?? 0) + cpu.generatorUs;
    print(
      `  ${name}: server ${fixed(cpu.serverUs ?? Number.NaN, 1)}` +
        (cpu.workerUs === null ? '' : `, projector worker ${fixed(cpu.workerUs, 1)}`) +
        `, PostgreSQL backends ${fixed(cpu.postgresUs ?? Number.NaN, 1)}, load generator ${fixed(cpu.generatorUs, 1)}` +
        (known
          ? ` = ${fixed(total, 1)}: ${cores} idle cores would carry at most ~${fixed((cores * 1e6) / total)}/s`
          : ''),
    );
  }
  if (result.replay.postgresUsPerEvent !== null) {
    print(
      `  replay: the rebuilding PostgreSQL backend ${fixed(result.replay.postgresUsPerEvent, 1)} µs per event (parallel index-build workers not counted)`,
    );
  }
}

/** Waits for every pool to let go of the scratch database before dropping it. */
async function dropWhenIdle(admin: pg.Client, database: string): Promise<void> {
  for (let attempt = 0; attempt < DROP_ATTEMPTS_MAX; attempt += 1) {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1',
      [database],
    );
    if (rows[0]?.n === '0') {
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, DROP_WAIT_MS));
  }
  say(
    `bench: connections to ${database} are still open; drop it by hand with DROP DATABASE ${database} WITH (FORCE)`,
  );
}

function table(title: string, rows: readonly Measurement[]): string {
  const raw = rows[0];
  const emmett = rows[2];
  const fixed = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  return formatTable([
    [title, 'appends', 'appends/s', 'events/s', 'p50 ms', 'p99 ms', 'vs raw', 'vs Emmett'],
    ...rows.map((row) => [
      row.name,
      String(row.operations),
      fixed(row.opsPerSecond),
      fixed(row.eventsPerSecond),
      fixed(row.p50Ms, 2),
      fixed(row.p99Ms, 2),
      raw ? `${fixed(row.eventsPerSecond / raw.eventsPerSecond, 2)}x` : '-',
      emmett ? `${fixed(row.eventsPerSecond / emmett.eventsPerSecond, 2)}x` : '-',
    ]),
  ]);
}

function plainTable(title: string, rows: readonly Measurement[]): string {
  const fixed = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  return formatTable([
    [title, 'appends', 'appends/s', 'events/s', 'p50 ms', 'p99 ms'],
    ...rows.map((row) => [
      row.name,
      String(row.operations),
      fixed(row.opsPerSecond),
      fixed(row.eventsPerSecond),
      fixed(row.p50Ms, 2),
      fixed(row.p99Ms, 2),
    ]),
  ]);
}
