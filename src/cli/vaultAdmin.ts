/**
 * Crypto-shredding (`ledgerline admin shred-org-key`): destroy an organization's data key so
 * that every credential it sealed is unreadable for good, without touching a single event.
 *
 * The key is destroyed first and the shred recorded second: a crash in between leaves a key
 * that is gone but not yet recorded, and running the command again records it. (The other
 * order could record a shred of a key that still exists.)
 */
import { LedgerlineError } from '../domain/errors.js';
import { decideVault } from '../domain/vault/credentials.js';
import { formatPosition } from '../adapters/eventstore/position.js';
import { executeOnStream, loadAggregate } from '../commands/aggregate.js';
import type { Services } from '../commands/context.js';
import { organizationAggregate, organizationStream } from '../commands/tenancy/organizationStream.js';
import { vaultAggregate, vaultStream } from '../commands/vault/vaultStream.js';
import { systemContext } from './admin.js';

export interface ShredReport {
  readonly orgId: string;
  /** The key destroyed by this run (empty when there was no active key). */
  readonly shreddedNow: readonly string[];
  /** Shreds recorded as events by this run (this one, or an earlier run's that was not). */
  readonly recorded: readonly string[];
  readonly position: string | null;
}

export async function shredOrganizationKey(services: Services, orgId: string): Promise<ShredReport> {
  const { context, metadata } = systemContext(services, 'cli');
  const { state: organization } = await loadAggregate(
    context,
    organizationStream(orgId),
    organizationAggregate,
  );
  if (!organization.exists) throw new LedgerlineError('NOT_FOUND', `No organization ${orgId}.`);
  const { shreddedNow, shredded } = await services.vault.keys.shred(orgId);
  services.vault.forgetOrganization(orgId);
  let recorded: string[] = [];
  const outcome = await executeOnStream(
    context,
    vaultStream(orgId),
    vaultAggregate,
    (state) => {
      recorded = shredded.filter((keyId) => state.dataKeys.get(keyId) !== 'shredded');
      const events = recorded.flatMap((keyId) => {
        const decision = decideVault({ type: 'ShredDataKey', keyId }, state);
        return decision.ok ? decision.events : [];
      });
      return { ok: true, events, result: null };
    },
    metadata,
  );
  try {
    await services.vault.keys.reclaim();
  } catch (error) {
    services.log.warn({ err: error }, 'could not vacuum the data-key table after a shred');
  }
  return {
    orgId,
    shreddedNow,
    recorded,
    position: recorded.length > 0 && outcome.position ? formatPosition(outcome.position) : null,
  };
}
