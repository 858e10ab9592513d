/**
 * A transfer's fingerprint: what "same id, same body" is judged by (a retry answers `exists`,
 * another body ID_REUSED). It is the canonical JSON of the transfer as the caller sent it,
 * hashed the way idempotency keys hash requests, so it must never change for the same body.
 *
 * This runs for every transfer of every batch (a tenth of a batch's CPU in the server when it
 * went through the general walk), so the usual body is written out directly: its keys in
 * code-unit order, and the fields the schema holds to plain ASCII (ids, accounts, amount,
 * asset, code) between quotes once checked to need no escaping; the free-form ones (metadata,
 * reference) and the pending timeout go through the canonical encoder. Anything else takes
 * the general path. A property test holds both to the general path, and to a stored value.
 */
import type { z } from 'zod';
import { canonicalJson, isPlainJsonString } from '../../domain/canonicalJson.js';
import { canonicalRequestHash, requestHash } from '../idempotency.js';
import type * as l from './schemas.js';

type TransferInput = z.infer<typeof l.transfer>;

const FINGERPRINT_KIND = 'transfer';
/** Hex characters kept of the SHA-256. */
const FINGERPRINT_LENGTH = 32;

export function fingerprint(kind: string, value: unknown): string {
  return requestHash(kind, value).slice(0, FINGERPRINT_LENGTH);
}

export function transferFingerprint(item: TransferInput): string {
  const { amount, asset, code, creditAccount, debitAccount, transferId } = item;
  if (
    !isPlainJsonString(amount) ||
    (asset !== undefined && !isPlainJsonString(asset)) ||
    !isPlainJsonString(code) ||
    !isPlainJsonString(creditAccount) ||
    !isPlainJsonString(debitAccount) ||
    !isPlainJsonString(transferId)
  ) {
    return fingerprint(FINGERPRINT_KIND, item);
  }
  const json =
    `{"amount":"${amount}",${asset === undefined ? '' : `"asset":"${asset}",`}"code":"${code}",` +
    `"creditAccount":"${creditAccount}","debitAccount":"${debitAccount}",` +
    `"metadata":${canonicalJson(item.metadata)},` +
    (item.pending === undefined ? '' : `"pending":${canonicalJson(item.pending)},`) +
    (item.reference === undefined ? '' : `"reference":${canonicalJson(item.reference)},`) +
    `"transferId":"${transferId}"}`;
  return canonicalRequestHash(FINGERPRINT_KIND, json).slice(0, FINGERPRINT_LENGTH);
}
