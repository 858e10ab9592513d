import { migration as eventStore } from './0001_event_store.js';
import { migration as spine } from './0002_spine.js';
import { migration as ledger } from './0003_ledger.js';
import { migration as audit } from './0004_audit.js';
import { migration as vault } from './0005_vault.js';
import { migration as fanoutLimits } from './0006_fanout_limits.js';
import { migration as ledgerPostingsView } from './0007_ledger_postings_view.js';
import { migration as payments } from './0009_payments.js';
import { migration as approvals } from './0008_approvals.js';
import { migration as paymentFollowups } from './0010_payment_followups.js';
import { migration as eventCompression } from './0011_event_compression.js';
import { migration as payoutBatchDispatch } from './0012_payout_batch_dispatch.js';
import { migration as ledgerBigintPositions } from './0013_ledger_bigint_positions.js';
import { migration as reversalFollowups } from './0014_reversal_followups.js';
import { migration as payoutBatchBackfill } from './0015_payout_batch_backfill.js';
import { migration as cancelledBatchesReopen } from './0016_cancelled_batches_reopen.js';
import { migration as alertResolutions } from './0017_alert_resolutions.js';
import { migration as ledgerNarrowKeys } from './0018_ledger_narrow_keys.js';
import { migration as ledgerKeyCanary } from './0019_ledger_key_canary.js';
import { migration as alertReversalIds } from './0020_alert_reversal_ids.js';

export interface Migration {
  /** Strictly increasing; never reuse or edit an applied one (its checksum is kept). */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Every migration, in order. Add new files here; never change a released one. */
export const MIGRATIONS: readonly Migration[] = [
  eventStore,
  spine,
  ledger,
  audit,
  vault,
  fanoutLimits,
  ledgerPostingsView,
  approvals,
  payments,
  paymentFollowups,
  eventCompression,
  payoutBatchDispatch,
  ledgerBigintPositions,
  reversalFollowups,
  payoutBatchBackfill,
  cancelledBatchesReopen,
  alertResolutions,
  ledgerNarrowKeys,
  ledgerKeyCanary,
  alertReversalIds,
];
