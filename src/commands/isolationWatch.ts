/**
 * SPEC §1: a request for another organization's object answers exactly as if it did not
 * exist — and the attempt is logged. When an answer is NOT_FOUND, the ids the request named
 * are looked up across organizations; one that belongs elsewhere is logged as an attempt.
 * Nothing about it reaches the caller.
 */
import { isLedgerlineError } from '../domain/errors.js';
import { parseStreamName, PLATFORM_SCOPE } from '../domain/streamName.js';
import type { Services } from './context.js';
import type { Principal } from './principal.js';

/**
 * Where each kind of id lives. Ledger addresses and transfer ids are chosen by clients, so the
 * same one may exist in several organizations: what counts is one the caller does not have.
 */
const OWNER_LOOKUPS: readonly { field: string; sql: string }[] = [
  { field: 'memberId', sql: 'SELECT org_id FROM rm_members WHERE member_id = $1 AND org_id <> $2 LIMIT 1' },
  { field: 'keyId', sql: 'SELECT org_id FROM rm_api_keys WHERE key_id = $1 AND org_id <> $2 LIMIT 1' },
  {
    field: 'address',
    sql: 'SELECT org_id FROM rm_ledger_accounts WHERE address = $1 AND org_id <> $2 LIMIT 1',
  },
  {
    field: 'transferId',
    sql: 'SELECT org_id FROM rm_ledger_transfers WHERE transfer_id = $1 AND org_id <> $2 LIMIT 1',
  },
];

async function ownerOf(
  services: Services,
  input: Record<string, unknown>,
  callerOrgId: string,
): Promise<{ id: string; orgId: string } | null> {
  const stream = input['stream'];
  if (typeof stream === 'string') {
    const scope = parseStreamName(stream)?.scope;
    if (scope !== undefined && scope !== PLATFORM_SCOPE) return { id: stream, orgId: scope };
  }
  for (const lookup of OWNER_LOOKUPS) {
    const id = input[lookup.field];
    if (typeof id !== 'string') continue;
    const { rows } = await services.db.query<{ org_id: string }>(lookup.sql, [id, callerOrgId]);
    if (rows[0]) return { id, orgId: rows[0].org_id };
  }
  return null;
}

/** Logs a cross-organization attempt when `error` is a NOT_FOUND for another organization's object. */
export async function watchIsolation(
  services: Services,
  principal: Principal | null,
  operation: string,
  input: unknown,
  error: unknown,
): Promise<void> {
  if (!principal || !isLedgerlineError(error) || error.code !== 'NOT_FOUND') return;
  if (typeof input !== 'object' || input === null) return;
  try {
    const owner = await ownerOf(services, input as Record<string, unknown>, principal.orgId);
    if (!owner || owner.orgId === principal.orgId) return;
    services.log.warn(
      {
        event: 'cross_organization_attempt',
        operation,
        callerOrgId: principal.orgId,
        actor: principal.actor,
        targetOrgId: owner.orgId,
        objectId: owner.id,
        requestId: principal.requestId,
      },
      'a request named another organization’s object; it was answered as missing',
    );
  } catch (lookupError) {
    services.log.error(
      { err: lookupError },
      'could not check a NOT_FOUND answer for a cross-organization attempt',
    );
  }
}
