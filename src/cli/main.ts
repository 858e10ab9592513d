#!/usr/bin/env node
/**
 * `ledgerline <command>`. Exit code 0 on success, 1 on a failure (with one line saying what
 * went wrong), 2 on a usage error. Results go to stdout, messages to stderr.
 */
import { parseArgs } from 'node:util';
import { loadConfig, parseMode, type Config } from '../config.js';
import { API_KEY_VARIABLE, bridgeStdio, serveStdio } from '../mcp/stdio.js';
import { isLedgerlineError } from '../domain/errors.js';
import { PLANS, type Plan } from '../domain/tenancy/events.js';
import { migrate } from '../adapters/db/migrate.js';
import { PROJECTIONS } from '../projections/registry.js';
import { rebuildProjections, selectProjections } from '../projections/rebuild.js';
import { AUDIT_USAGE, runAudit } from './audit.js';
import { createApiKey, createOrganizationWithAdmin, parseScopes } from './admin.js';
import { shredOrganizationKey } from './vaultAdmin.js';
import { print, say } from './output.js';
import { progressLine } from './progress.js';
import { openDatabase, openRuntime } from './runtime.js';
import { serve } from './serve.js';

const USAGE = `Usage: ledgerline <command> [options]

Commands:
  serve                          Run the API server (embedded PGlite unless DATABASE_URL is set)
      --port <n> --host <addr> --data-dir <dir> --mode hybrid|rest|mcp
                                 (hybrid, the default, serves REST and MCP)
  mcp [--url <http://host:port/mcp>]
                                 MCP over stdio for local clients, with the API key in
                                 LEDGERLINE_API_KEY; opens the configured stores itself, or
                                 with --url relays to a running server's /mcp
  migrate                        Apply pending schema migrations and exit
  project                        Run the projector alone (a worker beside servers started with
                                 LEDGERLINE_PROJECTOR=external)
  projections rebuild [name]     Empty a projection (or all) and replay every event into it
  admin create-org --name <n> [--plan free|pro|enterprise] [--admin-email <e>] [--admin-name <n>]
                                 Create an organization with its first admin; prints an admin API key
  admin create-key --org <orgId> [--name <n>] [--scopes a,b]
                                 Create an API key for an organization; prints it (shown once)
  admin shred-org-key --org <orgId>
                                 Destroy the organization's data key (crypto-shredding): its stored
                                 provider credentials can never be decrypted again; events stay
${AUDIT_USAGE}
  bench [appends|ledger]         Measure appends against baselines, and the ledger end to end
                                 (needs PostgreSQL; both parts by default)
  help                           Show this text

Configuration comes from the environment; see README.md.`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${flag} is required`);
  return value;
}

async function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      name: { type: 'string' },
      plan: { type: 'string' },
      'admin-email': { type: 'string' },
      'admin-name': { type: 'string' },
      org: { type: 'string' },
      scopes: { type: 'string' },
      stream: { type: 'string' },
      projection: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
      grant: { type: 'string' },
      'public-key': { type: 'string' },
      'auditor-org': { type: 'string' },
      expires: { type: 'string' },
      reason: { type: 'string' },
      as: { type: 'string' },
      mode: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || command === undefined || command === 'help') {
    print(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const overrides: Record<string, string> = {};
  if (values.port !== undefined) overrides['PORT'] = values.port;
  if (values.host !== undefined) overrides['HOST'] = values.host;
  if (values['data-dir'] !== undefined) overrides['LEDGERLINE_DATA_DIR'] = values['data-dir'];
  if (values.mode !== undefined) overrides['LEDGERLINE_MODE'] = parseMode(values.mode, '--mode');
  const config: Config = loadConfig({ ...process.env, ...overrides });

  switch (command) {
    case 'serve':
      await serve(config);
      return 0;
    case 'mcp': {
      const apiKey = process.env[API_KEY_VARIABLE]?.trim();
      if (!apiKey) throw new UsageError(`set ${API_KEY_VARIABLE} to an API key`);
      if (values.url !== undefined) {
        let url: URL;
        try {
          url = new URL(values.url);
        } catch {
          throw new UsageError('--url must be a URL such as http://127.0.0.1:3000/mcp');
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:')
          throw new UsageError('--url must be http(s)');
        await bridgeStdio(url.toString(), apiKey);
      } else {
        await serveStdio(config, apiKey);
      }
      return 0;
    }
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
    case 'project': {
      const runtime = await openRuntime(config, {
        startProjector: true,
        startPublisher: config.natsUrl !== null,
      });
      say(`ledgerline projector: ${runtime.store.description} → ${runtime.db.description}`);
      const signal = await untilSignal();
      say(`ledgerline projector: ${signal} received, stopping after the current batch`);
      await runtime.close();
      return 0;
    }
    case 'projections': {
      if (sub !== 'rebuild') throw new UsageError(`unknown projections command "${sub ?? ''}"`);
      // The rebuild is the remedy for stale ledger keys, so it opens a database that has them.
      const runtime = await openRuntime(config, { startProjector: false, allowStaleKeys: true });
      try {
        const chosen = selectProjections(PROJECTIONS, arg);
        const total = (await runtime.store.countEvents?.()) ?? null;
        const bar = progressLine(`rebuild ${chosen.map((projection) => projection.name).join(', ')}`, total);
        const result = await rebuildProjections(runtime.db, runtime.store, chosen, (progress) => {
          bar.update(progress.eventsRead);
        });
        bar.finish(result.eventsRead);
        print(
          `Rebuilt ${chosen.map((projection) => projection.name).join(', ')}: ${result.eventsApplied} events applied.`,
        );
      } finally {
        await runtime.close();
      }
      return 0;
    }
    case 'admin':
      return admin(sub, values, config);
    case 'audit':
      return runAudit(sub, arg, values, config);
    case 'bench': {
      const { runBench } = await import('../bench/main.js');
      if (sub !== undefined && sub !== 'appends' && sub !== 'ledger')
        throw new UsageError(`bench takes appends or ledger, not "${sub}"`);
      await runBench(config, sub ?? 'all');
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function admin(
  sub: string | undefined,
  values: Record<string, string | boolean | undefined>,
  config: Config,
): Promise<number> {
  const text = (key: string): string | undefined => {
    const value = values[key];
    return typeof value === 'string' ? value : undefined;
  };
  if (sub !== 'create-org' && sub !== 'create-key' && sub !== 'shred-org-key')
    throw new UsageError(`unknown admin command "${sub ?? ''}"`);
  const runtime = await openRuntime(config, { startProjector: false });
  try {
    if (sub === 'shred-org-key') {
      const shred = await shredOrganizationKey(runtime.services, required(text('org'), '--org'));
      print(JSON.stringify(shred));
      say(
        shred.shreddedNow.length > 0
          ? `Destroyed data key ${shred.shreddedNow.join(', ')}: what it sealed can never be decrypted again.`
          : 'The organization had no active data key; nothing was destroyed now.',
      );
      return 0;
    }
    if (sub === 'create-org') {
      const plan = text('plan') ?? 'free';
      if (!(PLANS as readonly string[]).includes(plan))
        throw new UsageError(`--plan must be one of ${PLANS.join(', ')}`);
      const created = await createOrganizationWithAdmin(runtime.services, {
        name: required(text('name'), '--name'),
        plan: plan as Plan,
        adminEmail: text('admin-email') ?? 'admin@example.invalid',
        adminName: text('admin-name') ?? 'Organization admin',
        channel: 'cli',
      });
      print(
        JSON.stringify({
          orgId: created.orgId,
          adminMemberId: created.adminMemberId,
          keyId: created.keyId,
          apiKey: created.apiKey,
        }),
      );
      say('The API key is shown once; store it now.');
      return 0;
    }
    const key = await createApiKey(runtime.services, {
      orgId: required(text('org'), '--org'),
      name: text('name') ?? 'cli key',
      scopes: parseScopes(text('scopes')),
    });
    print(JSON.stringify(key));
    say('The API key is shown once; store it now.');
    return 0;
  } finally {
    await runtime.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      say(`ledgerline: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    say(
      `ledgerline: ${isLedgerlineError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exitCode = 1;
  },
);
