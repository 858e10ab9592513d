/**
 * A transfer's fingerprint: what "same id, same body" is judged by (a retry answers `exists`,
 * another body ID_REUSED). It is the canonical JSON of the transfer as the caller sent it,
 * hashed the way idempotency keys hash requests, so it must never change for the same body.
 *
 * The copy below lists the body's keys in code-unit order, so its canonical encoding is
 * native JSON.stringify (see canonicalJson) instead of the general walk that sorts: this runs
 * for every transfer of every batch. A property test holds it to the general path.
 */
import type { z } from 'zod';
import { requestHash } from '../idempotency.js';
import type * as l from './schemas.js';

type TransferInput = z.infer<typeof l.transfer>;

export function fingerprint(kind: string, value: unknown): string {
  return requestHash(kind, value).slice(0, 32);
}

export function transferFingerprint(item: TransferInput): string {
  const sorted = {
    amount: item.amount,
    ...(item.asset === undefined ? {} : { asset: item.asset }),
    code: item.code,
    creditAccount: item.creditAccount,
    debitAccount: item.debitAccount,
    metadata: item.metadata,
    ...(item.pending === undefined ? {} : { pending: item.pending }),
    ...(item.reference === undefined ? {} : { reference: item.reference }),
    transferId: item.transferId,
  };
  return fingerprint('transfer', sorted);
}
