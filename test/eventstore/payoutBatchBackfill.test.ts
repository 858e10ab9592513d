/**
 * Migration 0015: the batches 0012 marked `sending` (every batch stored before it) are closed
 * when they are older than a day — `dispatched` when every payout of it was handed on,
 * `stuck` otherwise — so the resumer never takes a long-finished batch for a cut-short one.
 * Recent batches and those already closed are left as they are. Migration 0016: batches
 * cancelled within the last day are reopened (`cancelling`) for the resumer.
 */
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/db/migrate.js';
import { MIGRATIONS } from '../../src/adapters/db/migrations/index.js';
import { openPglite } from '../../src/adapters/db/pgliteDatabase.js';

const BEFORE = MIGRATIONS.filter((migration) => migration.version < 15);

describe('migration 0015: payout batches marked sending by 0012', () => {
  it('closes old batches (dispatched when handed on, else stuck) and leaves recent ones sending', async () => {
    const db = await openPglite();
    try {
      await migrate(db, BEFORE);
      const old = new Date(Date.now() - 90 * 24 * 60 * 60 * 1000).toISOString();
      const recent = new Date(Date.now() - 60 * 1000).toISOString();
      const batches: [string, number, string, string][] = [
        ['old-done', 2, old, 'sending'],
        ['old-unsent', 2, old, 'sending'],
        ['old-initiated', 1, old, 'sending'],
        ['old-cancelled', 1, old, 'cancelled'],
        ['recent', 1, recent, 'sending'],
        ['recent-cancelled', 1, recent, 'cancelled'],
      ];
      for (const [batchId, count, at, state] of batches) {
        await db.query(
          `INSERT INTO rm_payout_batches (batch_id, org_id, item_count, total, currency, created_at, state)
           VALUES ($1, 'org_1', $2, 100, 'KES', $3, $4)`,
          [batchId, count, at, state],
        );
      }
      const payments: [string, string, string][] = [
        ['pay_1', 'old-done', 'succeeded'],
        ['pay_2', 'old-done', 'failed'],
        ['pay_3', 'old-unsent', 'succeeded'],
        ['pay_4', 'old-initiated', 'initiated'],
      ];
      for (const [paymentId, batchId, status] of payments) {
        await db.query(
          `INSERT INTO rm_payments (payment_id, org_id, kind, provider, amount, currency, scale, counterparty,
             reference, description, batch_id, status, fraud_score, fraud_rules, reversed_amount, created_at, updated_at)
           VALUES ($1, 'org_1', 'mpesa_payout', 'mpesa', 50, 'KES', 2, '254711000000', 'r', 'd', $2, $3, 0, '[]', 0, $4, $4)`,
          [paymentId, batchId, status, old],
        );
      }
      await migrate(db);
      const { rows } = await db.query<{ batch_id: string; state: string }>(
        'SELECT batch_id, state FROM rm_payout_batches ORDER BY batch_id',
      );
      expect(Object.fromEntries(rows.map((row) => [row.batch_id, row.state]))).toEqual({
        'old-done': 'dispatched',
        'old-unsent': 'stuck',
        'old-initiated': 'stuck',
        'old-cancelled': 'cancelled',
        recent: 'sending',
        // 0016: reopened for the resumer to close what its dying run left under way.
        'recent-cancelled': 'cancelling',
      });
    } finally {
      await db.close();
    }
  });
});
