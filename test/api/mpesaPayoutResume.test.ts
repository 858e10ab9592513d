/**
 * Bulk payouts whose run died, finished by the background resumer (issue 7), on real
 * PostgreSQL over HTTP with the simulator. The crash is the batch and its first payouts'
 * events written by a run that then stops — at every point of a payout: sent, initiated only,
 * reserved but not sent, never initiated, its request recorded with no answer. Then a server's
 * resumer pays exactly the unsent payouts, once, as the system caused by the batch; the float
 * never goes below zero and the ledger balances; a payout that may have reached M-Pesa is
 * settled by the status query, never sent again; a cancelled batch resumes nothing; a batch a
 * manager approved gets the approval's outcome recorded when the approve died with it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magicPhone } from '../../src/adapters/providers/simulators/mpesaMagic.js';
import type { CommandContext } from '../../src/commands/context.js';
import { decideOnApproval } from '../../src/commands/approvals/stream.js';
import { executeOnStream } from '../../src/commands/aggregate.js';
import { postTransfer } from '../../src/commands/payments/ledgerPosting.js';
import { initiate, KES, phoneOf, shillingsOf } from '../../src/commands/payments/mpesaFlows.js';
import { linkRef } from '../../src/commands/payments/mpesaRefs.js';
import {
  answerBatch,
  batchStream,
  markBatchDispatched,
  sendBatchPayout,
} from '../../src/commands/payments/payoutBatchRun.js';
import { decideOnPayment } from '../../src/commands/payments/paymentStream.js';
import { RESUMER_DEFAULTS, resumeBatches } from '../../src/commands/payments/payoutResumer.js';
import { loadPaymentSettings } from '../../src/commands/payments/settings.js';
import { KES_SCALE } from '../../src/domain/payments/mpesaAmount.js';
import {
  cancelUnsentPayouts,
  decidePayoutBatch,
  payoutBatchDecider,
  recordResumeFailure,
  type PayoutBatchCreatedData,
  type PayoutItem,
} from '../../src/domain/payments/payoutBatch.js';
import { mappedAddress } from '../../src/domain/payments/settings.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  bookFloat,
  paymentEvents,
  setMpesaCredentials,
  stkPush,
  transfersOf,
  until,
  untilPayment,
} from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('payout resumer on PostgreSQL', await probePostgres());

/** The payout completes at M-Pesa; its result callback never comes. */
const CALLBACK_LOST = magicPhone(410);
const INTERVAL_MS = '40';
/** A background resumer that never runs within a test: rounds are run by hand. */
const NEVER_MS = String(60 * 60 * 1000);
/** Both servers of the first suite share the schema, so they share the keys too. */
const KEYS = {
  LEDGERLINE_JWT_SECRET: randomBytes(24).toString('hex'),
  LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
};

/** The context of the run that is about to die: the organization's own key, over REST. */
function deadRun(app: TestApp, orgId: string, causationId?: string): CommandContext {
  const services = app.server.runtime.services;
  const requestId = services.newId('req');
  return {
    principal: {
      orgId,
      actor: { kind: 'api_key', id: 'key_deadrun' },
      memberId: 'mem_deadrun',
      role: 'org_admin',
      scopes: ['payments:write'],
      channel: { kind: 'rest' },
      sessionId: null,
      requestId,
    },
    services,
    now: services.clock(),
    requestId,
    idempotencyKey: null,
    clientAddress: '127.0.0.1',
    channel: { kind: 'rest' },
    ...(causationId ? { causationId } : {}),
  };
}

function itemsOf(app: TestApp, prefix: string, phones: readonly string[]): PayoutItem[] {
  return phones.map((phone, index) => ({
    paymentId: app.server.runtime.services.newId('pay'),
    phone: phoneOf(phone),
    amount: '100.00',
    reference: `${prefix}-${index}`,
  }));
}

async function createBatch(
  context: CommandContext,
  orgId: string,
  batchId: string,
  items: PayoutItem[],
): Promise<PayoutBatchCreatedData> {
  const data: PayoutBatchCreatedData = {
    batchId,
    currency: KES,
    total: `${items.length * 100}.00`,
    fingerprint: `fp-${batchId}`,
    items,
    remarks: 'Salaries',
  };
  const created = await executeOnStream(context, batchStream(orgId, batchId), payoutBatchDecider, (state) =>
    decidePayoutBatch(data, state),
  );
  return created.output.batch;
}

async function initiateOnly(context: CommandContext, batch: PayoutBatchCreatedData, item: PayoutItem) {
  const started = await initiate(
    context,
    {
      paymentId: item.paymentId,
      kind: 'mpesa_payout',
      provider: 'mpesa',
      customerId: null,
      amount: item.amount,
      currency: KES,
      scale: KES_SCALE,
      counterparty: item.phone,
      reference: item.reference,
      description: 'Salaries',
      batchId: batch.batchId,
    },
    'payout',
  );
  expect(started.status).toBe('initiated');
  return started.intent;
}

/** The reservation submitPayout makes, made by the run that then died before sending. */
async function reserveOnly(context: CommandContext, orgId: string, item: PayoutItem, batchId: string) {
  const services = context.services;
  const mapping = (await loadPaymentSettings(services, orgId)).ledgerMapping;
  const reserved = await postTransfer(
    services,
    orgId,
    {
      transferId: item.paymentId,
      debitAccount: mappedAddress(mapping.mpesaPayouts, KES),
      creditAccount: mappedAddress(mapping.mpesaFloat, KES),
      amount: item.amount,
      code: 'payout',
      reference: item.reference,
      metadata: { payment_id: item.paymentId, batch_id: batchId },
      pendingTimeoutAt: new Date(Date.now() + 3_600_000).toISOString(),
    },
    { actor: { kind: 'api_key', id: 'key_deadrun' }, channel: { kind: 'rest' } },
    context.now,
  );
  expect(reserved).toEqual({ ok: true });
}

/** Sends the B2C request as the dead run did, and dies before recording M-Pesa's answer. */
async function sendAndDie(context: CommandContext, orgId: string, item: PayoutItem) {
  const services = context.services;
  const credentials = await services.vault.credentials(orgId, 'mpesa');
  const answer = await services.payments.providers.mobileMoney.b2cPayout(credentials, {
    originatorConversationId: item.paymentId,
    phone: phoneOf(item.phone),
    amount: shillingsOf(item.amount).amount,
    remarks: 'Salaries',
    occasion: item.reference,
    resultUrl: services.payments.callbacks.mpesaCallbackUrl(orgId),
  });
  expect(answer.ok).toBe(true);
}

async function fundFloat(app: TestApp, token: string, orgId: string, cents: bigint): Promise<void> {
  const topUp = cents - (await bookFloat(app, orgId));
  expect(topUp).toBeGreaterThan(0n);
  const funded = await stkPush(app, token, '0733000222', (topUp / 100n).toString());
  await untilPayment(app, token, funded.paymentId, (payment) => payment.status === 'succeeded');
  expect(await bookFloat(app, orgId)).toBe(cents);
}

/** Every posted debit has its credit: the organization's ledger balances. */
async function expectBalanced(app: TestApp, orgId: string): Promise<void> {
  const state = await app.server.runtime.services.ledger.state(orgId);
  let debits = 0n;
  let credits = 0n;
  for (const account of state.accounts.values()) {
    debits += account.balances.debitsPosted + account.balances.debitsPending;
    credits += account.balances.creditsPosted + account.balances.creditsPending;
  }
  expect(debits).toBe(credits);
}

async function batchState(app: TestApp, orgId: string, batchId: string): Promise<string | undefined> {
  const { rows } = await app.server.runtime.services.db.query<{ state: string }>(
    'SELECT state FROM rm_payout_batches WHERE org_id = $1 AND batch_id = $2',
    [orgId, batchId],
  );
  return rows[0]?.state;
}

async function batchEvents(app: TestApp, orgId: string, batchId: string) {
  return app.server.runtime.store.readStream(batchStream(orgId, batchId), { maxCount: 100 });
}

async function requestsOf(app: TestApp, orgId: string, paymentId: string) {
  const events = await app.server.runtime.store.readStream(`${orgId}.payment-${paymentId}`, {
    maxCount: 1_000,
  });
  return events.filter((event) => event.type === 'ProviderRequestStarted');
}

describe.skipIf(!run)('the payout resumer on PostgreSQL', () => {
  describe('a batch whose run died, finished by the next server', () => {
    let first: TestApp;
    let second: TestApp | null = null;
    let token: string;
    let orgId: string;

    beforeAll(async () => {
      first = await startTestApp('postgres', {
        env: { ...KEYS, LEDGERLINE_MPESA_RESUMER_INTERVAL_MS: NEVER_MS },
      });
      token = first.demoKey;
      orgId = first.demoOrgId;
      await setMpesaCredentials(first, token);
    });

    afterAll(async () => {
      await second?.close();
      await first.close();
    });

    it('pays exactly the unsent payouts once, as the system caused by the batch, never below zero', async () => {
      // The float affords 5 of the 6 payouts of 100.00.
      await fundFloat(first, token, orgId, 50_000n);
      const context = deadRun(first, orgId);
      const phones = ['0711000101', '0711000102', '0711000103', '0711000104', '0711000105', '0711000106'];
      const items = itemsOf(first, 'died', phones);
      const batch = await createBatch(context, orgId, 'died-midway', items);
      const [sent0, sent1, initiated, reserved, , absent1] = items as [
        PayoutItem,
        PayoutItem,
        PayoutItem,
        PayoutItem,
        PayoutItem,
        PayoutItem,
      ];
      await sendBatchPayout(context, orgId, batch, sent0, false);
      await sendBatchPayout(context, orgId, batch, sent1, false);
      await initiateOnly(context, batch, initiated);
      await initiateOnly(context, batch, reserved);
      await reserveOnly(context, orgId, reserved, batch.batchId);
      // … and the run dies here: two payouts never initiated, two never sent.
      for (const item of [sent0, sent1]) {
        await untilPayment(first, token, item.paymentId, (payment) => payment.status === 'succeeded');
      }
      expect(await bookFloat(first, orgId)).toBe(30_000n);

      second = await startTestApp('postgres', {
        sameSchemaAs: first,
        env: {
          ...KEYS,
          LEDGERLINE_MPESA_RESUMER_INTERVAL_MS: INTERVAL_MS,
          LEDGERLINE_MPESA_RESUMER_GRACE_MS: '0',
        },
      });
      const events = await until(
        () => batchEvents(first, orgId, batch.batchId),
        (found) => found.some((event) => event.type === 'PayoutBatchDispatched'),
      );
      expect(events.map((event) => event.type)).toEqual(['PayoutBatchCreated', 'PayoutBatchDispatched']);
      expect(events[1]?.data).toMatchObject({ by: 'resumer' });
      const settled = [];
      for (const item of items) {
        settled.push(
          await untilPayment(second, token, item.paymentId, (payment) =>
            ['succeeded', 'failed'].includes(payment.status),
          ),
        );
      }
      // Sent in the batch's order: the three the float still covered are paid, the last refused.
      expect(settled.map((payment) => payment.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
        'failed',
      ]);
      // Read where the resumer wrote (the first server's ledger cache has not seen it).
      const reader = second;
      expect(await bookFloat(reader, orgId)).toBe(0n);
      await expectBalanced(reader, orgId);
      for (const item of items.slice(0, 5)) {
        expect(await transfersOf(reader, orgId, item.paymentId)).toEqual([
          { transferId: item.paymentId, status: 'posted' },
        ]);
      }
      expect(await transfersOf(reader, orgId, absent1.paymentId)).toEqual([]);
      const created = events[0]!;
      for (const item of items) {
        const requests = await requestsOf(reader, orgId, item.paymentId);
        if (item === absent1) {
          // Refused by the ledger before any request: never sent at all.
          expect(requests).toEqual([]);
          continue;
        }
        expect(requests, item.reference).toHaveLength(1);
        const resumed = item !== sent0 && item !== sent1;
        expect(requests[0]?.data).toMatchObject({ resumed });
        if (resumed) {
          expect(requests[0]).toMatchObject({
            actor: { kind: 'system', id: 'payout-resumer' },
            channel: { kind: 'system' },
            causationId: created.eventId,
            correlationId: created.correlationId,
          });
        }
      }
      const failed = await paymentEvents(first, orgId, absent1.paymentId);
      expect(failed.map((event) => event.type)).toEqual(['PaymentInitiated', 'PaymentFailed']);
      expect(failed[1]?.data).toMatchObject({ resultCode: 'INSUFFICIENT_FUNDS' });
      // Nothing more happens: the batch is closed for the resumer.
      const { rows } = await until(
        () =>
          first.server.runtime.services.db.query<{ state: string }>(
            'SELECT state FROM rm_payout_batches WHERE org_id = $1 AND batch_id = $2',
            [orgId, batch.batchId],
          ),
        (result) => result.rows[0]?.state === 'dispatched',
      );
      expect(rows).toEqual([{ state: 'dispatched' }]);
    });
  });

  describe('rounds by hand: payouts in doubt, a cancelled batch, an approved batch', () => {
    let app: TestApp;
    let token: string;
    let orgId: string;
    const later = (): Date => new Date(Date.now() + 1_000);
    const options = { ...RESUMER_DEFAULTS, graceMs: 0 };

    beforeAll(async () => {
      app = await startTestApp('postgres', {
        env: {
          LEDGERLINE_MPESA_RESUMER_INTERVAL_MS: NEVER_MS,
          // The resolver asks about pending payouts at once.
          LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS: INTERVAL_MS,
          LEDGERLINE_MPESA_RESOLVER_GRACE_MS: '0',
        },
      });
      token = app.demoKey;
      orgId = app.demoOrgId;
      await setMpesaCredentials(app, token);
      await fundFloat(app, token, orgId, 100_000n);
    });

    afterAll(async () => {
      await app.close();
    });

    it('settles a payout whose request may have reached M-Pesa by the status query, never sending it again', async () => {
      const context = deadRun(app, orgId);
      const items = itemsOf(app, 'doubt', [CALLBACK_LOST, CALLBACK_LOST, '0711000201']);
      const [recorded, linked, absent] = items as [PayoutItem, PayoutItem, PayoutItem];
      const batch = await createBatch(context, orgId, 'in-doubt', items);
      // One recorded its request (as runs now do) and died during the call to M-Pesa …
      await initiateOnly(context, batch, recorded);
      await reserveOnly(context, orgId, recorded, batch.batchId);
      await decideOnPayment(context, orgId, recorded.paymentId, {
        type: 'StartProviderRequest',
        requestRef: recorded.paymentId,
        resumed: false,
      });
      await sendAndDie(context, orgId, recorded);
      // … one as runs did before the marker: only its reference was linked before the call.
      await initiateOnly(context, batch, linked);
      await reserveOnly(context, orgId, linked, batch.batchId);
      await linkRef(
        context.services,
        orgId,
        { ref: linked.paymentId, purpose: 'payout', paymentId: linked.paymentId, reversalId: null },
        { actor: { kind: 'api_key', id: 'key_deadrun' }, channel: { kind: 'rest' } },
      );
      await sendAndDie(context, orgId, linked);
      const before = await bookFloat(app, orgId);
      // Projected before the round reads the batch.
      await until(
        () => resumeBatches(app.server.runtime.services, later(), options),
        (round) => round.dispatched === 1,
      );
      for (const item of [recorded, linked, absent]) {
        const paid = await untilPayment(
          app,
          token,
          item.paymentId,
          (payment) => payment.status === 'succeeded',
        );
        expect(paid.status).toBe('succeeded');
        expect(await transfersOf(app, orgId, item.paymentId)).toEqual([
          { transferId: item.paymentId, status: 'posted' },
        ]);
      }
      expect(await bookFloat(app, orgId)).toBe(before - 30_000n);
      await expectBalanced(app, orgId);
      // Neither payout in doubt was sent again: M-Pesa's answer came by status query.
      for (const item of [recorded, linked]) {
        const types = (await paymentEvents(app, orgId, item.paymentId)).map((event) => event.type);
        expect(types, item.reference).toContain('ProviderStatusQueried');
        expect(types.filter((type) => type === 'PaymentSucceeded')).toHaveLength(1);
        expect(types.filter((type) => type === 'PaymentFailed')).toHaveLength(0);
      }
      expect(await requestsOf(app, orgId, recorded.paymentId)).toHaveLength(1);
      expect(await requestsOf(app, orgId, linked.paymentId)).toHaveLength(0);
      const resumed = await requestsOf(app, orgId, absent.paymentId);
      expect(resumed.map((event) => event.data)).toEqual([
        { paymentId: absent.paymentId, requestRef: absent.paymentId, resumed: true },
      ]);
      // Another round finds nothing left to do.
      expect(await resumeBatches(app.server.runtime.services, later(), options)).toMatchObject({
        sent: 0,
        inDoubt: 0,
      });
    });

    it('resumes nothing of a cancelled batch', async () => {
      const context = deadRun(app, orgId);
      const items = itemsOf(app, 'cancel', ['0711000301', '0711000302', '0711000303']);
      const batch = await createBatch(context, orgId, 'cancelled', items);
      const [first, ...rest] = items as [PayoutItem, PayoutItem, PayoutItem];
      await sendBatchPayout(context, orgId, batch, first, false);
      await executeOnStream(context, batchStream(orgId, batch.batchId), payoutBatchDecider, (state) =>
        cancelUnsentPayouts(
          rest.map((item) => item.paymentId),
          'cancelled by the caller',
          state,
        ),
      );
      await untilPayment(app, token, first.paymentId, (payment) => payment.status === 'succeeded');
      const before = await bookFloat(app, orgId);
      await until(
        () => batchState(app, orgId, batch.batchId),
        (state) => state === 'cancelling',
      );
      // Nothing was under way: the round only closes it.
      await until(
        async () => {
          await resumeBatches(app.server.runtime.services, later(), options);
          return batchState(app, orgId, batch.batchId);
        },
        (state) => state === 'cancelled',
      );
      for (const item of rest) expect(await paymentEvents(app, orgId, item.paymentId)).toEqual([]);
      expect(await bookFloat(app, orgId)).toBe(before);
    });

    it('gives up on a batch it can never resume after its bounded attempts, leaving it for a person', async () => {
      // Another organization, without M-Pesa credentials: every attempt fails before sending.
      const services = app.server.runtime.services;
      const created = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: {
          name: 'No credentials',
          admin: { email: 'admin@nocreds.test', name: 'Org Admin', password: 'correct horse battery staple' },
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const other = created.body.orgId as string;
      const context = deadRun(app, other);
      const batch = await createBatch(
        context,
        other,
        'never-resumable',
        itemsOf(app, 'stuck', ['0711000501']),
      );
      const attempts = { ...options, attemptsMax: 2 };
      const state = async (): Promise<string | undefined> =>
        (
          await services.db.query<{ state: string }>(
            'SELECT state FROM rm_payout_batches WHERE org_id = $1 AND batch_id = $2',
            [other, batch.batchId],
          )
        ).rows[0]?.state;
      await until(
        async () => {
          await resumeBatches(services, later(), attempts);
          return state();
        },
        (found) => found === 'stuck',
      );
      const events = await batchEvents(app, other, batch.batchId);
      expect(events.map((event) => [event.type, event.data])).toEqual([
        ['PayoutBatchCreated', expect.anything()],
        ['PayoutBatchResumeFailed', expect.objectContaining({ attempt: 1, abandoned: false })],
        ['PayoutBatchResumeFailed', expect.objectContaining({ attempt: 2, abandoned: true })],
      ]);
      expect(events[2]?.data).toMatchObject({ reason: expect.stringMatching(/^[A-Z_]+$/) });
      // Asked no more, and nothing was ever sent.
      await resumeBatches(services, later(), attempts);
      expect(await batchEvents(app, other, batch.batchId)).toHaveLength(3);
      expect(await requestsOf(app, other, batch.items[0]!.paymentId)).toEqual([]);
    });

    it('records the outcome of an approval whose approve died with its batch, from the batch’s answer', async () => {
      const services = app.server.runtime.services;
      const approvalId = services.newId('apr');
      const context = deadRun(app, orgId, approvalId);
      const items = itemsOf(app, 'approved', ['0711000401', '0711000402']);
      const input = {
        batchId: 'approved-then-died',
        remarks: 'Salaries',
        payouts: items.map((item) => ({ phone: item.phone, amount: '100', reference: item.reference })),
      };
      const now = new Date();
      await decideOnApproval(context, orgId, approvalId, {
        type: 'Request',
        data: {
          approvalId,
          command: 'mpesa_bulk_payment',
          input,
          reason: 'above the threshold',
          requester: {
            actorKind: 'api_key',
            actorId: 'key_deadrun',
            memberId: 'mem_deadrun',
            role: 'org_admin',
            scopes: ['payments:write'],
            channel: { kind: 'mcp', clientName: 'agent', clientVersion: '1' },
            requestId: 'req_agent',
            idempotencyKey: null,
          },
          requestedAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
        },
      });
      await decideOnApproval(context, orgId, approvalId, { type: 'Grant', by: 'mem_manager', note: null });
      // The approved run creates the batch, sends the first payout and dies with the approve.
      const batch = await createBatch(context, orgId, input.batchId, items);
      await sendBatchPayout(context, orgId, batch, items[0]!, false);
      await until(
        () => resumeBatches(services, later(), options),
        (round) => round.dispatched === 1,
      );
      const executed = await until(
        async () => (await app.request('GET', `/v1/approvals/${approvalId}`, { token })).body,
        (body: { status?: string }) => body.status === 'executed',
      );
      expect(executed).toMatchObject({ approvalId, status: 'executed', command: 'mpesa_bulk_payment' });
      const events = await services.store.readStream(`${orgId}.approvals-${approvalId}`, { maxCount: 10 });
      const outcome = events.find((event) => event.type === 'ApprovalExecuted');
      expect(outcome?.actor).toMatchObject({ kind: 'system', id: 'payout-resumer' });
      expect(outcome?.data).toMatchObject({
        outcome: {
          ok: true,
          answer: {
            batchId: input.batchId,
            total: '200.00',
            payouts: items.map((item) => expect.objectContaining({ paymentId: item.paymentId })),
          },
        },
      });
      for (const item of items) {
        await untilPayment(app, token, item.paymentId, (payment) => payment.status === 'succeeded');
        expect(await requestsOf(app, orgId, item.paymentId)).toHaveLength(1);
      }
    });

    it('closes a cancelled batch whose run died with payouts under way: never sent, reservations voided', async () => {
      const services = app.server.runtime.services;
      const context = deadRun(app, orgId);
      const items = itemsOf(app, 'strand', [
        '0711000601',
        '0711000602',
        '0711000603',
        '0711000604',
        '0711000605',
      ]);
      const [sent, reserved, initiated, taken, notSent] = items as [
        PayoutItem,
        PayoutItem,
        PayoutItem,
        PayoutItem,
        PayoutItem,
      ];
      const batch = await createBatch(context, orgId, 'cancelled-under-way', items);
      // Four workers had taken a payout each when the caller cancelled (the rest is recorded
      // as not sent); one had sent, one reserved, one initiated only, one not even that — and
      // the process died.
      await sendBatchPayout(context, orgId, batch, sent, false);
      await initiateOnly(context, batch, reserved);
      await reserveOnly(context, orgId, reserved, batch.batchId);
      await initiateOnly(context, batch, initiated);
      await executeOnStream(context, batchStream(orgId, batch.batchId), payoutBatchDecider, (state) =>
        cancelUnsentPayouts([notSent.paymentId], 'cancelled by the caller', state),
      );
      await untilPayment(app, token, sent.paymentId, (payment) => payment.status === 'succeeded');
      const floatAfterSent = await bookFloat(app, orgId);
      await until(
        async () => {
          await resumeBatches(services, later(), options);
          return batchState(app, orgId, batch.batchId);
        },
        (state) => state === 'cancelled',
      );
      for (const item of [reserved, initiated]) {
        const failed = await untilPayment(
          app,
          token,
          item.paymentId,
          (payment) => payment.status === 'failed',
        );
        expect(failed.status).toBe('failed');
        const events = await paymentEvents(app, orgId, item.paymentId);
        expect(events.at(-1)?.data).toMatchObject({ resultCode: 'CANCELLED' });
      }
      expect(await transfersOf(app, orgId, reserved.paymentId)).toEqual([
        { transferId: reserved.paymentId, status: 'voided' },
      ]);
      expect(await transfersOf(app, orgId, initiated.paymentId)).toEqual([]);
      for (const item of [reserved, initiated, taken, notSent])
        expect(await requestsOf(app, orgId, item.paymentId), item.reference).toEqual([]);
      expect(await paymentEvents(app, orgId, taken.paymentId)).toEqual([]);
      // The float holds nothing for payouts never sent.
      expect(await bookFloat(app, orgId)).toBe(floatAfterSent);
      await expectBalanced(app, orgId);
      const cancellations = (await batchEvents(app, orgId, batch.batchId)).filter(
        (event) => event.type === 'PayoutBatchCancelled',
      );
      expect(cancellations.flatMap((event) => (event.data as { notSent: string[] }).notSent).sort()).toEqual(
        [taken.paymentId, notSent.paymentId].sort(),
      );
    });

    it('answers a payout sent despite a cancellation by its own status, never as cancelled', async () => {
      const context = deadRun(app, orgId);
      const items = itemsOf(app, 'raced', ['0711000901', '0711000902']);
      const [raced, never] = items as [PayoutItem, PayoutItem];
      const batch = await createBatch(context, orgId, 'raced-cancel', items);
      // A resumer sent one just as the cancellation naming it was recorded.
      await sendBatchPayout(context, orgId, batch, raced, true);
      const cancelled = await executeOnStream(
        context,
        batchStream(orgId, batch.batchId),
        payoutBatchDecider,
        (state) => cancelUnsentPayouts([raced.paymentId, never.paymentId], 'cancelled', state),
      );
      await untilPayment(app, token, raced.paymentId, (payment) => payment.status === 'succeeded');
      const answer = await answerBatch(context, orgId, batch, cancelled.output.notSent, null);
      expect(answer.output.payouts.map((payout) => [payout.paymentId, payout.status])).toEqual([
        [raced.paymentId, 'succeeded'],
        [never.paymentId, 'cancelled'],
      ]);
      expect(answer.output.counts).toEqual({ succeeded: 1, cancelled: 1 });
    });

    it('never dispatches a batch abandoned meanwhile: it stays stuck', async () => {
      const services = app.server.runtime.services;
      const context = deadRun(app, orgId);
      const batch = await createBatch(
        context,
        orgId,
        'abandoned-meanwhile',
        itemsOf(app, 'aban', ['0711000701']),
      );
      const stream = batchStream(orgId, batch.batchId);
      // Another node's round gives up on it while this round is finishing it.
      await executeOnStream(context, stream, payoutBatchDecider, (state) =>
        recordResumeFailure('INTERNAL', 1, state),
      );
      const dispatched = await markBatchDispatched(context, orgId, batch.batchId, 'resumer');
      expect(dispatched.output).toEqual({ changed: false, abandoned: true });
      await until(
        () => batchState(app, orgId, batch.batchId),
        (state) => state === 'stuck',
      );
      expect((await batchEvents(app, orgId, batch.batchId)).map((event) => event.type)).toEqual([
        'PayoutBatchCreated',
        'PayoutBatchResumeFailed',
      ]);
      // A later round leaves it alone too.
      await resumeBatches(services, later(), options);
      expect(await batchState(app, orgId, batch.batchId)).toBe('stuck');
      expect(await batchEvents(app, orgId, batch.batchId)).toHaveLength(2);
    });

    it('never resumes a batch older than the maximum age: left stuck, an error logged, nothing sent', async () => {
      const services = app.server.runtime.services;
      const context = deadRun(app, orgId);
      const unsent = itemsOf(app, 'old', ['0711000801']);
      const old = await createBatch(context, orgId, 'too-old', unsent);
      // An old batch every payout of which was handed on (before dispatch was recorded): closed quietly.
      const doneItems = itemsOf(app, 'olddone', ['0711000802']);
      const done = await createBatch(context, orgId, 'too-old-done', doneItems);
      await sendBatchPayout(context, orgId, done, doneItems[0]!, false);
      // The round runs a day later than the batches were made (the reservation lifetime).
      const dayLater = (): Date => new Date(Date.now() + RESUMER_DEFAULTS.maxAgeMs + 60_000);
      await until(
        async () => {
          await resumeBatches(services, dayLater(), options);
          return [await batchState(app, orgId, old.batchId), await batchState(app, orgId, done.batchId)];
        },
        (states) => states[0] === 'stuck' && states[1] === 'dispatched',
      );
      expect(await paymentEvents(app, orgId, unsent[0]!.paymentId)).toEqual([]);
      const events = await batchEvents(app, orgId, old.batchId);
      expect(events.map((event) => [event.type, event.data])).toEqual([
        ['PayoutBatchCreated', expect.anything()],
        ['PayoutBatchResumeFailed', expect.objectContaining({ abandoned: true, reason: 'PENDING_EXPIRED' })],
      ]);
      // The same batch within the age limit would have been sent: the limit, not the plan, held it.
      expect(await resumeBatches(services, dayLater(), options)).toMatchObject({ sent: 0 });
      expect(await paymentEvents(app, orgId, unsent[0]!.paymentId)).toEqual([]);
    });

    it('answers a batch one payout of which failed to send per payout, the others sent, over REST', async () => {
      await fundFloat(app, token, orgId, (await bookFloat(app, orgId)) + 50_000n);
      const services = app.server.runtime.services;
      const mobileMoney = services.payments.providers.mobileMoney;
      const b2cPayout = mobileMoney.b2cPayout.bind(mobileMoney);
      const faulty = phoneOf('0711001002');
      mobileMoney.b2cPayout = async (credentials, request) => {
        // A fault on our side while sending this one payout (after its request was recorded).
        if (request.phone === faulty) throw new Error('the socket closed under us');
        return b2cPayout(credentials, request);
      };
      let response;
      try {
        response = await app.request('POST', '/v1/mpesa/bulk-payments', {
          token,
          body: {
            batchId: 'one-fails',
            remarks: 'Salaries',
            payouts: ['0711001001', '0711001002', '0711001003'].map((phone, index) => ({
              phone,
              amount: '100',
              reference: `one-fails-${index}`,
            })),
          },
        });
      } finally {
        mobileMoney.b2cPayout = b2cPayout;
      }
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      const payouts = (
        response.body as { payouts: { paymentId: string; phone: string; status: string; error?: unknown }[] }
      ).payouts;
      expect(
        payouts.map((payout) => payout.error ?? null),
        JSON.stringify(payouts),
      ).toEqual([null, { code: 'INTERNAL', message: expect.any(String) }, null]);
      // Its request was recorded before the fault: in M-Pesa's hands maybe, never sent again.
      expect(payouts[1]?.status).toBe('pending');
      for (const payout of payouts) {
        expect(await requestsOf(app, orgId, payout.paymentId), payout.phone).toHaveLength(1);
        if (payout.phone !== faulty) {
          await untilPayment(app, token, payout.paymentId, (payment) => payment.status === 'succeeded');
        }
      }
      // Not handed on: the resumer looks at it (and finds the faulty payout left to the resolver).
      // The batch's row is a read model: read it once projected (it failed once, read too early).
      const state = await until(
        () => batchState(app, orgId, 'one-fails'),
        (found) => found !== undefined,
      );
      expect(state).toBe('sending');
    });

    it('a payout posted on the ledger whose success was not recorded is recorded with its transfer when the result comes again', async () => {
      await fundFloat(app, token, orgId, (await bookFloat(app, orgId)) + 20_000n);
      const services = app.server.runtime.services;
      const store = services.store;
      const append = store.append.bind(store);
      let failed = 0;
      // The ledger posts the reservation, then recording the success fails once.
      store.append = ((stream: string, events: readonly { type: string }[], ...rest: unknown[]) => {
        if (
          failed === 0 &&
          stream.startsWith(`${orgId}.payment-`) &&
          events.some((event) => event.type === 'PaymentSucceeded')
        ) {
          failed += 1;
          return Promise.reject(new Error('the database went away for a moment'));
        }
        return (append as (...args: unknown[]) => unknown)(stream, events, ...rest);
      }) as typeof store.append;
      let paymentId: string;
      try {
        const response = await app.request('POST', '/v1/mpesa/bulk-payments', {
          token,
          body: {
            batchId: 'posted-not-recorded',
            remarks: 'Salaries',
            payouts: [{ phone: '0711001101', amount: '100', reference: 'pnr-0' }],
          },
        });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        paymentId = (response.body as { payouts: { paymentId: string }[] }).payouts[0]!.paymentId;
        await until(
          () => Promise.resolve(failed),
          (count) => count === 1,
        );
      } finally {
        store.append = append;
      }
      await until(
        () => transfersOf(app, orgId, paymentId),
        (transfers) => transfers[0]?.status === 'posted',
      );
      // M-Pesa (or the status query) delivers the same result again.
      const kept = await app.server.runtime.store.readStream(`${orgId}.mpesa_ref-${paymentId}`, {
        maxCount: 100,
      });
      const result = kept.find((event) => event.type === 'MpesaCallbackReceived');
      expect(result).toBeDefined();
      const target = new URL(services.payments.callbacks.mpesaCallbackUrl(orgId));
      const again = await app.request('POST', `${target.pathname}${target.search}`, {
        body: (result?.data as { body: object }).body,
      });
      expect(again.status).toBe(200);
      await untilPayment(app, token, paymentId, (payment) => payment.status === 'succeeded');
      const succeeded = (await paymentEvents(app, orgId, paymentId)).filter(
        (event) => event.type === 'PaymentSucceeded',
      );
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0]?.data).toMatchObject({ transferId: paymentId });
      expect(await transfersOf(app, orgId, paymentId)).toEqual([{ transferId: paymentId, status: 'posted' }]);
      await expectBalanced(app, orgId);
    });
  });
});
