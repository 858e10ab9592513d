/**
 * `ledgerline audit …`: verify, replay, export and verify-export, and audit grants, from the
 * command line. Two ways to run:
 *
 * - as the platform operator (no credential; whoever can reach the database): `--org` names the
 *   organization, and grant commands act for it as the system actor on the cli channel;
 * - with an API key in LEDGERLINE_API_KEY (never on the command line, where `ps` shows it): the
 *   key's organization is the caller, exactly as over REST. `--org` may then name another
 *   organization that gave the caller's organization a live audit grant (or `--grant` names the
 *   grant), and every read is recorded in that organization's access log; without such a grant
 *   the organization answers as missing.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { auditSigningKey, verifyingKey } from '../adapters/crypto/auditSigningKey.js';
import { authenticate } from '../adapters/http/authenticate.js';
import { auditGrantAccess, auditRevokeGrant } from '../commands/audit/grantCommands.js';
import { auditListAccessLog, auditListGrants } from '../commands/audit/grantQueries.js';
import { resolveAuditTarget, type AuditTarget } from '../commands/audit/access.js';
import { parseBound, verifyExport, writeExport } from '../commands/audit/exportFile.js';
import { verifyOrganization } from '../commands/audit/verifyOrganization.js';
import type { AnyQuery } from '../commands/catalog.js';
import type { CommandContext, Services } from '../commands/context.js';
import { executeCommand, runQuery } from '../commands/pipeline.js';
import type { Principal } from '../commands/principal.js';
import type { Config } from '../config.js';
import { SCOPES } from '../domain/access.js';
import type { GrantScope } from '../domain/audit/grants.js';
import { LedgerlineError, ValidationError } from '../domain/errors.js';
import { orgStreamPrefix, parseStreamName } from '../domain/streamName.js';
import { PROJECTIONS } from '../projections/registry.js';
import { selectProjections } from '../projections/rebuild.js';
import { replayOrganization } from '../projections/replay.js';
import { print, say } from './output.js';
import { progressLine } from './progress.js';
import { openRuntime } from './runtime.js';

/** Pages a CLI listing follows before it stops (each at most PAGE_SIZE_MAX rows). */
const LIST_PAGES_MAX = 1_000;
const LIST_PAGE_SIZE = 200;
/** How long the CLI waits for the read models to catch up before it reads them. */
const CLI_CATCH_UP_MS = 30_000;
/** The environment variable holding the caller's API key. */
export const API_KEY_VARIABLE = 'LEDGERLINE_API_KEY';

export const AUDIT_USAGE = `  audit verify --org <id> [--stream <name>]
                                 Recompute the hash chains of one stream or of the whole organization;
                                 exit 1 on a broken link
  audit replay --org <id> [--projection <name>]
                                 Rebuild the organization's read models in a scratch schema and diff
                                 them with the live rows; exit 1 on any difference
  audit export --org <id> [--from <pos|time>] [--to <pos|time>] [--out <file>]
                                 The organization's events as JSON lines with a signed manifest
  audit verify-export <file> [--public-key <pem file>]
                                 Check an export's count, hash, signature and hash chains; exit 1 if not intact
  audit grant --org <id> --auditor-org <id> --scopes audit:read,ledger:read[,payments:read,fraud:read] --expires <time> [--reason <r>]
  audit revoke --org <id> --grant <grantId> [--reason <r>]
  audit grants --org <id> [--as granter|grantee]
  audit access-log --org <id> [--grant <grantId>]
                                 Audit grants: give, revoke, list, and the log of reads under them
                                 (with ${API_KEY_VARIABLE} set, as that key's organization)`;

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

function text(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function required(flags: Flags, name: string): string {
  const value = text(flags, name);
  if (value === undefined) throw new ValidationError(`--${name}`, 'is required');
  return value;
}

interface Caller {
  readonly principal: Principal;
  /** True for the platform operator (no credential). */
  readonly operator: boolean;
}

async function callerFor(services: Services, flags: Flags, env: NodeJS.ProcessEnv): Promise<Caller> {
  const requestId = services.newId('req');
  const key = env[API_KEY_VARIABLE];
  if (key !== undefined && key !== '') {
    const principal = await authenticate(`Bearer ${key}`, services, { kind: 'cli' }, requestId);
    if (!principal) throw new LedgerlineError('UNAUTHENTICATED', 'The API key is not valid.');
    // As over REST: reading the audit trail, one's own included, needs audit:read.
    if (!principal.scopes.includes('audit:read')) {
      throw new LedgerlineError(
        'FORBIDDEN',
        'The audit commands need an API key with the audit:read scope.',
        {
          requiredScope: 'audit:read',
        },
      );
    }
    return { principal, operator: false };
  }
  const orgId = required(flags, 'org');
  if ((await services.credentials.organizationStatus(orgId)) === undefined)
    throw new LedgerlineError('NOT_FOUND', `No organization ${orgId}.`);
  return {
    operator: true,
    principal: {
      orgId,
      actor: { kind: 'system', id: 'ledgerline-cli' },
      memberId: 'ledgerline-cli',
      role: 'org_admin',
      scopes: SCOPES,
      channel: { kind: 'cli' },
      sessionId: null,
      requestId,
    },
  };
}

/** The organization to read: the caller's own, or one that gave it a live grant (logged). */
async function targetFor(
  services: Services,
  caller: Caller,
  flags: Flags,
  scope: GrantScope,
  operation: string,
  what: string,
): Promise<AuditTarget> {
  const orgId = text(flags, 'org');
  let grantId = text(flags, 'grant');
  if (!caller.operator && grantId === undefined && orgId !== undefined && orgId !== caller.principal.orgId) {
    const { rows } = await services.db.query<{ grant_id: string }>(
      `SELECT grant_id FROM rm_audit_grants
        WHERE org_id = $1 AND grantee_org_id = $2 AND status = 'active' AND expires_at > $3
        ORDER BY expires_at DESC LIMIT 1`,
      [orgId, caller.principal.orgId, services.clock()],
    );
    grantId = rows[0]?.grant_id;
    if (grantId === undefined) throw new LedgerlineError('NOT_FOUND', `No organization ${orgId}.`);
  }
  if (caller.operator) return { orgId: caller.principal.orgId, grantId: null };
  const target = await resolveAuditTarget(
    services,
    caller.principal,
    grantId,
    scope,
    operation,
    what,
    services.clock(),
  );
  if (orgId !== undefined && target.orgId !== orgId)
    throw new LedgerlineError('NOT_FOUND', `No organization ${orgId}.`);
  return target;
}

function commandContext(services: Services, principal: Principal): CommandContext {
  return {
    principal,
    services,
    now: services.clock(),
    requestId: principal.requestId,
    idempotencyKey: null,
    clientAddress: 'local',
    channel: { kind: 'cli' },
  };
}

async function listAll(
  services: Services,
  principal: Principal,
  query: AnyQuery,
  params: Record<string, unknown>,
): Promise<void> {
  let cursor: string | null = null;
  for (let page = 0; page < LIST_PAGES_MAX; page += 1) {
    const answer = (await runQuery(
      query,
      { ...params, limit: LIST_PAGE_SIZE, ...(cursor === null ? {} : { cursor }) },
      principal,
      { services, now: services.clock() },
      null,
    )) as { items: unknown[]; nextCursor: string | null };
    for (const item of answer.items) print(JSON.stringify(item));
    cursor = answer.nextCursor;
    if (cursor === null) return;
  }
  say(`Stopped after ${LIST_PAGES_MAX} pages.`);
}

async function writeTo(out: WriteStream | NodeJS.WriteStream, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** verify-export needs no database: only the file and the public key. */
async function verifyExportFile(file: string | undefined, flags: Flags, config: Config): Promise<number> {
  if (file === undefined)
    throw new ValidationError('file', 'name the export file: audit verify-export <file>');
  const keyFile = text(flags, 'public-key');
  const key = keyFile
    ? verifyingKey(await readFile(keyFile, 'utf8'), '--public-key')
    : verifyingKey((await auditSigningKey(config)).publicKeyPem);
  const result = await verifyExport(createReadStream(file), key);
  print(
    JSON.stringify({
      ok: result.ok,
      eventsChecked: result.eventsChecked,
      streams: result.streams,
      manifest: result.manifest,
      problems: result.problems,
    }),
  );
  say(
    result.ok
      ? `${file}: intact (${result.eventsChecked} events).`
      : `${file}: NOT intact: ${result.problems[0] ?? ''}`,
  );
  return result.ok ? 0 : 1;
}

export async function runAudit(
  sub: string | undefined,
  arg: string | undefined,
  flags: Flags,
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const verbs = ['verify', 'replay', 'export', 'verify-export', 'grant', 'revoke', 'grants', 'access-log'];
  if (sub === undefined || !verbs.includes(sub))
    throw new ValidationError('audit', `takes one of ${verbs.join(', ')}, not "${sub ?? ''}"`);
  if (sub === 'verify-export') return verifyExportFile(arg, flags, config);
  // The CLI projects too: on the embedded default nothing else would bring the read models (grants,
  // access log) up to date; beside a server, two projectors never apply a batch twice.
  const runtime = await openRuntime(config, { startProjector: true });
  try {
    const services = runtime.services;
    if (!(await services.consistency.waitForCaughtUp(CLI_CATCH_UP_MS)))
      say(`The read models are still catching up after ${CLI_CATCH_UP_MS / 1000} s; going on.`);
    const caller = await callerFor(services, flags, env);
    switch (sub) {
      case 'verify':
        return await verify(services, caller, flags);
      case 'replay': {
        const target = await targetFor(services, caller, flags, 'ledger:read', 'audit_replay', 'read models');
        const chosen = selectProjections(PROJECTIONS, text(flags, 'projection'));
        const total =
          (await services.store.countEvents?.({ streamPrefix: orgStreamPrefix(target.orgId) })) ?? null;
        const bar = progressLine(`replay ${chosen.map((projection) => projection.name).join(', ')}`, total);
        const report = await replayOrganization(services.db, services.store, target.orgId, chosen, (done) => {
          bar.update(done);
        });
        bar.finish(report.eventsReplayed);
        for (const difference of report.differences) print(JSON.stringify({ difference }));
        const { differences: _shown, ...summary } = report;
        print(JSON.stringify({ summary: { ...summary, ok: report.differingRows === 0 } }));
        say(
          report.differingRows === 0
            ? `Replayed ${report.eventsReplayed} events: the read models of ${target.orgId} match.`
            : `Replayed ${report.eventsReplayed} events: ${report.differingRows} row(s) differ${report.liveMoved ? ' (the organization changed during the replay; run it again to be sure)' : ''}.`,
        );
        return report.differingRows === 0 ? 0 : 1;
      }
      case 'export': {
        const window = {
          from: parseBound(text(flags, 'from'), '--from'),
          to: parseBound(text(flags, 'to'), '--to'),
        };
        const target = await targetFor(
          services,
          caller,
          flags,
          'audit:read',
          'audit_export',
          `export ${text(flags, 'from') ?? 'start'}..${text(flags, 'to') ?? 'now'}`,
        );
        const outFile = text(flags, 'out');
        const out = outFile === undefined ? process.stdout : createWriteStream(outFile, { flags: 'wx' });
        const total =
          (await services.store.countEvents?.({ streamPrefix: orgStreamPrefix(target.orgId) })) ?? null;
        const bar = progressLine(`export ${target.orgId}`, total);
        const result = await writeExport(
          services.store,
          target.orgId,
          window,
          services.auditSigning,
          (chunk) => writeTo(out, chunk),
          {
            now: services.clock(),
            onProgress: (done) => {
              bar.update(done);
            },
          },
        );
        bar.finish(result.manifest.count);
        if (out !== process.stdout) {
          const closed = once(out, 'close');
          out.end();
          await closed;
        }
        say(
          `Exported ${result.manifest.count} events of ${target.orgId}, signed with key ${result.manifest.keyId}.`,
        );
        return 0;
      }
      case 'grant': {
        const answer = await executeCommand(
          auditGrantAccess,
          {
            granteeOrgId: required(flags, 'auditor-org'),
            scopes: required(flags, 'scopes')
              .split(',')
              .map((scope) => scope.trim()),
            expiresAt: required(flags, 'expires'),
            ...(text(flags, 'reason') === undefined ? {} : { reason: text(flags, 'reason') }),
          },
          commandContext(services, caller.principal),
        );
        print(JSON.stringify(answer.body));
        return 0;
      }
      case 'revoke': {
        const answer = await executeCommand(
          auditRevokeGrant,
          {
            grantId: required(flags, 'grant'),
            ...(text(flags, 'reason') === undefined ? {} : { reason: text(flags, 'reason') }),
          },
          commandContext(services, caller.principal),
        );
        print(JSON.stringify(answer.body));
        return 0;
      }
      case 'grants':
        await listAll(services, caller.principal, auditListGrants, { as: text(flags, 'as') ?? 'granter' });
        return 0;
      default:
        await listAll(services, caller.principal, auditListAccessLog, {
          ...(text(flags, 'grant') === undefined ? {} : { grantId: text(flags, 'grant') }),
        });
        return 0;
    }
  } finally {
    await runtime.close();
  }
}

async function verify(services: Services, caller: Caller, flags: Flags): Promise<number> {
  const stream = text(flags, 'stream');
  const target = await targetFor(
    services,
    caller,
    flags,
    'audit:read',
    'audit_verify_stream',
    stream ?? 'organization',
  );
  if (stream !== undefined) {
    if (parseStreamName(stream)?.scope !== target.orgId)
      throw new LedgerlineError('NOT_FOUND', 'No such stream.');
    const result = await services.store.verifyStream(stream);
    if (result.ok && result.eventsChecked === 0) throw new LedgerlineError('NOT_FOUND', 'No such stream.');
    print(
      JSON.stringify({
        orgId: target.orgId,
        ok: result.ok,
        streamsChecked: 1,
        eventsChecked: result.eventsChecked,
        brokenLink: result.ok
          ? null
          : { ...result.brokenLink, revision: result.brokenLink.revision.toString() },
      }),
    );
    return result.ok ? 0 : 1;
  }
  const total = (await services.store.countEvents?.({ streamPrefix: orgStreamPrefix(target.orgId) })) ?? null;
  const bar = progressLine(`verify ${target.orgId}`, total);
  const result = await verifyOrganization(services.store, target.orgId, {
    onProgress: (progress) => {
      bar.update(progress.eventsChecked);
    },
  });
  bar.finish(result.eventsChecked);
  print(
    JSON.stringify({
      orgId: target.orgId,
      ok: result.ok,
      streamsChecked: result.streamsChecked,
      eventsChecked: result.eventsChecked,
      brokenLink: result.brokenLink
        ? { ...result.brokenLink, revision: result.brokenLink.revision.toString() }
        : null,
    }),
  );
  say(
    result.ok
      ? `${target.orgId}: ${result.eventsChecked} events in ${result.streamsChecked} streams, every hash chain intact.`
      : `${target.orgId}: BROKEN at ${result.brokenLink?.stream ?? ''} revision ${String(result.brokenLink?.revision)} (${result.brokenLink?.reason ?? ''}).`,
  );
  return result.ok ? 0 : 1;
}
