/**
 * Provider credentials as a table: which providers each organization has set, their status,
 * data key id, fingerprint and last characters. Never the ciphertext: reading secrets goes
 * through the vault, which reads the events themselves.
 */
import type { SqlClient } from '../../adapters/db/database.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import type { VaultEvent } from '../../domain/vault/events.js';
import type { Projection } from '../projection.js';

export const CREDENTIAL_EVENT_TYPES: readonly VaultEvent['type'][] = [
  'ProviderCredentialsSet',
  'ProviderCredentialsRotated',
  'ProviderCredentialsRevoked',
  'VaultDataKeyShredded',
];

function asDomain(event: RecordedEvent): VaultEvent {
  return { type: event.type, data: event.data } as VaultEvent;
}

/**
 * Credential changes are rare, so each event is one statement: simpler than loading and
 * batching rows, and a replay of years of them is still a handful of statements.
 */
export const credentialsProjection: Projection = {
  name: 'provider_credentials',
  tables: ['rm_provider_credentials'],
  eventTypes: CREDENTIAL_EVENT_TYPES,
  async apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events) {
      const e = asDomain(event);
      const at = event.occurredAt.toISOString();
      switch (e.type) {
        case 'ProviderCredentialsSet':
        case 'ProviderCredentialsRotated': {
          const rotated = e.type === 'ProviderCredentialsRotated';
          await tx.query(
            `INSERT INTO rm_provider_credentials AS c (org_id, provider, status, environment, key_id, fingerprint,
               last_chars, last_chars_of, set_at, rotated_at, revoked_at, shredded_at, updated_at)
             VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8::timestamptz,
               CASE WHEN $9::boolean THEN $8::timestamptz END, NULL, NULL, $8::timestamptz)
             ON CONFLICT (org_id, provider) DO UPDATE SET status = 'active', environment = excluded.environment,
               key_id = excluded.key_id, fingerprint = excluded.fingerprint, last_chars = excluded.last_chars,
               last_chars_of = excluded.last_chars_of,
               set_at = CASE WHEN $9::boolean THEN c.set_at ELSE excluded.set_at END,
               rotated_at = excluded.rotated_at, revoked_at = NULL, shredded_at = NULL, updated_at = excluded.updated_at`,
            [
              event.orgId,
              e.data.provider,
              e.data.environment,
              e.data.keyId,
              e.data.fingerprint,
              e.data.lastChars,
              e.data.lastCharsOf,
              at,
              rotated,
            ],
          );
          break;
        }
        case 'ProviderCredentialsRevoked':
          await tx.query(
            `UPDATE rm_provider_credentials SET status = 'revoked', revoked_at = $3, updated_at = $3
              WHERE org_id = $1 AND provider = $2`,
            [event.orgId, e.data.provider, at],
          );
          break;
        case 'VaultDataKeyShredded':
          await tx.query(
            `UPDATE rm_provider_credentials SET status = 'shredded', shredded_at = $3, updated_at = $3
              WHERE org_id = $1 AND key_id = $2 AND status = 'active'`,
            [event.orgId, e.data.keyId, at],
          );
          break;
        case 'VaultDataKeyIssued':
          break;
      }
    }
  },
};
