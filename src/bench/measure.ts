/**
 * A bounded load generator: `total` operations by `concurrency` workers, stopping early at
 * `timeMaxMs`, with per-operation latency. Only loopback targets are measured.
 */
export interface Measurement {
  readonly name: string;
  readonly operations: number;
  readonly eventsPerOperation: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Every operation's latency, sorted: what parts of one scenario are combined from. */
  readonly latenciesMs: readonly number[];
}

export interface Scenario {
  readonly name: string;
  readonly total: number;
  readonly concurrency: number;
  readonly eventsPerOperation: number;
  readonly timeMaxMs: number;
  /** Runs operation number `index`. */
  readonly operation: (index: number) => Promise<void>;
}

export async function measure(scenario: Scenario): Promise<Measurement> {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(scenario.timeMaxMs) * 1_000_000n;
  async function worker(): Promise<void> {
    while (next < scenario.total && process.hrtime.bigint() < deadline) {
      const index = next;
      next += 1;
      const begin = process.hrtime.bigint();
      await scenario.operation(index);
      latencies.push(Number(process.hrtime.bigint() - begin) / 1e6);
    }
  }
  await Promise.all(Array.from({ length: scenario.concurrency }, () => worker()));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const operations = latencies.length;
  return {
    name: scenario.name,
    operations,
    eventsPerOperation: scenario.eventsPerOperation,
    seconds,
    opsPerSecond: operations / seconds,
    eventsPerSecond: (operations * scenario.eventsPerOperation) / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    latenciesMs: latencies,
  };
}

/** One measurement of a scenario run in parts (at different times): rates over their summed time. */
export function combine(name: string, parts: readonly Measurement[]): Measurement {
  const latencies = parts.flatMap((part) => part.latenciesMs).sort((a, b) => a - b);
  const seconds = parts.reduce((sum, part) => sum + part.seconds, 0);
  const events = parts.reduce((sum, part) => sum + part.operations * part.eventsPerOperation, 0);
  return {
    name,
    operations: latencies.length,
    eventsPerOperation: parts[0]?.eventsPerOperation ?? 1,
    seconds,
    opsPerSecond: latencies.length / seconds,
    eventsPerSecond: events / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    latenciesMs: latencies,
  };
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join('  '),
    )
    .join('\n');
}
