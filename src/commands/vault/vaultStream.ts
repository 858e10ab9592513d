/** Where an organization's vault events live, and how its state is read back. */
import { READ_PAGE_MAX, type EventStore } from '../../adapters/eventstore/port.js';
import { LedgerlineError } from '../../domain/errors.js';
import { streamName } from '../../domain/streamName.js';
import { evolveVault, initialVault, vaultDecider, type VaultState } from '../../domain/vault/credentials.js';
import type { VaultEvent } from '../../domain/vault/events.js';

export const vaultAggregate = vaultDecider;

/** Credential changes are rare: a vault stream longer than this many pages is a bug. */
const VAULT_STREAM_PAGES_MAX = 64;

export function vaultStream(orgId: string): string {
  return streamName(orgId, 'vault', orgId);
}

export async function loadVault(store: EventStore, orgId: string): Promise<VaultState> {
  const stream = vaultStream(orgId);
  let state = initialVault;
  let from = 0n;
  for (let page = 0; page < VAULT_STREAM_PAGES_MAX; page += 1) {
    const events = await store.readStream(stream, { from, maxCount: READ_PAGE_MAX });
    for (const event of events) {
      state = evolveVault(state, { type: event.type, data: event.data } as unknown as VaultEvent);
      from = event.revision + 1n;
    }
    if (events.length < READ_PAGE_MAX) return state;
  }
  throw new LedgerlineError('INTERNAL', `Stream ${stream} is longer than the vault reads.`);
}
