#!/usr/bin/env node
/**
 * `ledgerline <command>`: serve, migrate, bench. Exit code 0 on success, 1 on a failure
 * (with one line saying what went wrong), 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { isLedgerlineError } from '../domain/errors.js';
import { migrate } from '../adapters/db/migrate.js';
import { print, say } from './output.js';
import { openDatabase } from './runtime.js';
import { serve } from './serve.js';

const USAGE = `Usage: ledgerline <command> [options]

Commands:
  serve     Run the API server (embedded PGlite unless DATABASE_URL is set)
            --port <n>        listen on this port (env PORT, default 3000)
            --host <addr>     listen on this address (env HOST, default 127.0.0.1)
            --data-dir <dir>  PGlite data folder (env LEDGERLINE_DATA_DIR, default .ledgerline-data)
  migrate   Apply pending schema migrations and exit
  bench     Measure event-store appends against baselines (needs DATABASE_URL or local PostgreSQL)
  help      Show this text

Configuration comes from the environment; see README.md.`;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || command === undefined || command === 'help') {
    print(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const overrides: Record<string, string> = {};
  if (values.port !== undefined) overrides['PORT'] = values.port;
  if (values.host !== undefined) overrides['HOST'] = values.host;
  if (values['data-dir'] !== undefined) overrides['LEDGERLINE_DATA_DIR'] = values['data-dir'];
  const config: Config = loadConfig({ ...process.env, ...overrides });

  switch (command) {
    case 'serve':
      await serve(config);
      return 0;
    case 'migrate': {
      const db = await openDatabase(config);
      try {
        const report = await migrate(db);
        print(
          report.applied.length > 0
            ? `Applied migrations ${report.applied.join(', ')} on ${db.description}; schema at version ${report.current}.`
            : `Nothing to apply on ${db.description}; schema at version ${report.current}.`,
        );
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'bench': {
      const { runBench } = await import('../bench/main.js');
      await runBench(config);
      return 0;
    }
    default:
      say(`ledgerline: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isLedgerlineError(error)) {
      say(`ledgerline: ${error.message}`);
    } else if (error instanceof Error && 'code' in error && error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      say(`ledgerline: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    } else {
      say(`ledgerline: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    process.exitCode = 1;
  },
);
