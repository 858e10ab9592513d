/**
 * The ledger over HTTP, as the README walks through it: open accounts, a two-phase transfer, a
 * linked batch, a reversal, a point-in-time balance — on PGlite and real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerBooks, ledgerStream } from '../../src/commands/ledger/book.js';
import { sweepExpiredPending } from '../../src/commands/ledger/expirySweeper.js';
import { deserializeLedger, serializeLedger, sqlSnapshotStore } from '../../src/commands/ledger/snapshots.js';
import { startTestApp, type Backend, type TestApp } from '../support/app.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const postgres = serviceGate('ledger API on PostgreSQL', probe);
const backends: { backend: Backend; available: boolean }[] = [
  { backend: 'pglite', available: true },
  { backend: 'postgres', available: postgres },
];

describe.each(backends)('ledger API on $backend', ({ backend, available }) => {
  let app: TestApp;
  let position = '0-0';

  beforeAll(async () => {
    if (available) app = await startTestApp(backend);
  });
  afterAll(async () => {
    if (available) await app.close();
  });

  async function command(method: string, path: string, body: unknown, expected = 200) {
    const answer = await app.request(method, path, { token: app.demoKey, body });
    expect(answer.status, JSON.stringify(answer.body)).toBe(expected);
    if (typeof answer.body?.position === 'string') position = answer.body.position;
    return answer.body;
  }

  async function read(path: string) {
    const answer = await app.request(
      'GET',
      `${path}${path.includes('?') ? '&' : '?'}consistentWith=${position}`,
      {
        token: app.demoKey,
      },
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body;
  }

  it.skipIf(!available)(
    'walks through accounts, two-phase, linked batches, reversals and past balances',
    async () => {
      await command(
        'POST',
        '/v1/ledger/accounts',
        { address: 'assets:mpesa:float', asset: 'KES', type: 'asset' },
        201,
      );
      await command(
        'POST',
        '/v1/ledger/accounts',
        {
          address: 'customers:cus_1:wallet',
          asset: 'KES',
          type: 'liability',
          flags: { debitsMustNotExceedCredits: true },
        },
        201,
      );
      await command(
        'POST',
        '/v1/ledger/accounts',
        { address: 'revenue:fees', asset: 'KES', type: 'revenue' },
        201,
      );

      // Money in: a collection credits the customer's wallet.
      const collected = await command('POST', '/v1/ledger/transfers', {
        transfers: [
          {
            transferId: 'tr_in_1',
            debitAccount: 'assets:mpesa:float',
            creditAccount: 'customers:cus_1:wallet',
            amount: '100.00',
          },
        ],
      });
      expect(collected.results).toEqual([{ transferId: 'tr_in_1', result: 'created', message: null }]);
      const afterCollection = position;

      // Two-phase: reserve 60, then post 50 of it.
      await command('POST', '/v1/ledger/transfers', {
        transfers: [
          {
            transferId: 'tr_hold_1',
            debitAccount: 'customers:cus_1:wallet',
            creditAccount: 'assets:mpesa:float',
            amount: '60.00',
            code: 'payout',
            pending: { timeoutSeconds: 3600 },
          },
        ],
      });
      const held = await read('/v1/ledger/accounts/customers:cus_1:wallet/balance');
      expect(held.balances).toMatchObject({ posted: '100.00', available: '40.00', debitsPending: '60.00' });
      // The reservation blocks a second spend of the same funds.
      const overspend = await command('POST', '/v1/ledger/transfers', {
        transfers: [
          {
            transferId: 'tr_over',
            debitAccount: 'customers:cus_1:wallet',
            creditAccount: 'revenue:fees',
            amount: '50.00',
            code: 'fee',
          },
        ],
      });
      expect(overspend.results[0].result).toBe('INSUFFICIENT_FUNDS');
      await command('POST', '/v1/ledger/transfers/tr_hold_1/post', { amount: '50.00' });

      // A linked batch: a fee and a payout, all or none.
      const linkedFail = await command('POST', '/v1/ledger/transfers', {
        linked: true,
        transfers: [
          {
            transferId: 'tr_fee_1',
            debitAccount: 'customers:cus_1:wallet',
            creditAccount: 'revenue:fees',
            amount: '1.00',
            code: 'fee',
          },
          {
            transferId: 'tr_pay_1',
            debitAccount: 'customers:cus_1:wallet',
            creditAccount: 'assets:mpesa:float',
            amount: '500.00',
            code: 'payout',
          },
        ],
      });
      expect(linkedFail.results.map((item: { result: string }) => item.result)).toEqual([
        'LINKED_EVENT_FAILED',
        'INSUFFICIENT_FUNDS',
      ]);
      expect(linkedFail.created).toBe(0);
      const linkedOk = await command('POST', '/v1/ledger/transfers', {
        linked: true,
        transfers: [
          {
            transferId: 'tr_fee_1',
            debitAccount: 'customers:cus_1:wallet',
            creditAccount: 'revenue:fees',
            amount: '1.00',
            code: 'fee',
          },
          {
            transferId: 'tr_pay_1',
            debitAccount: 'customers:cus_1:wallet',
            creditAccount: 'assets:mpesa:float',
            amount: '9.00',
            code: 'payout',
          },
        ],
      });
      expect(linkedOk.created).toBe(2);

      // A reversal of the fee, once.
      await command('POST', '/v1/ledger/transfers/tr_fee_1/reverse', { reversalId: 'tr_fee_1_rev' }, 201);
      const again = await app.request('POST', '/v1/ledger/transfers/tr_fee_1/reverse', {
        token: app.demoKey,
        body: { reversalId: 'tr_fee_1_rev_2' },
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('ALREADY_REVERSED');

      const wallet = await read('/v1/ledger/accounts/customers:cus_1:wallet/balance');
      expect(wallet.balances).toEqual({
        debitsPosted: '60.00',
        creditsPosted: '101.00',
        debitsPending: '0.00',
        creditsPending: '0.00',
        posted: '41.00',
        available: '41.00',
      });
      const past = await read(`/v1/ledger/accounts/customers:cus_1:wallet/balance?at=${afterCollection}`);
      expect(past.balances.posted).toBe('100.00');

      const transfers = await read('/v1/ledger/transfers?account=customers:cus_1:wallet&limit=2');
      expect(transfers.items).toHaveLength(2);
      expect(transfers.nextCursor).not.toBeNull();
      const fee = await read('/v1/ledger/transfers/tr_fee_1');
      expect(fee).toMatchObject({ status: 'posted', amount: '1.00', reversedAmount: '1.00' });
      const history = await read('/v1/ledger/accounts/customers:cus_1:wallet/history?limit=200');
      expect(history.items.length).toBeGreaterThanOrEqual(6);
      const accounts = await read('/v1/ledger/accounts?prefix=customers:');
      expect(accounts.items.map((item: { address: string }) => item.address)).toEqual([
        'customers:cus_1:wallet',
      ]);
    },
  );

  it.skipIf(!available)('expires a pending transfer past its timeout and releases what it held', async () => {
    await command(
      'POST',
      '/v1/ledger/accounts',
      { address: 'assets:bank:main', asset: 'USD', type: 'asset' },
      201,
    );
    await command(
      'POST',
      '/v1/ledger/accounts',
      {
        address: 'customers:cus_2:wallet',
        asset: 'USD',
        type: 'liability',
        flags: { debitsMustNotExceedCredits: true },
      },
      201,
    );
    await command('POST', '/v1/ledger/transfers', {
      transfers: [
        {
          transferId: 'usd_in',
          debitAccount: 'assets:bank:main',
          creditAccount: 'customers:cus_2:wallet',
          amount: '20.00',
        },
      ],
    });
    await command('POST', '/v1/ledger/transfers', {
      transfers: [
        {
          transferId: 'usd_hold',
          debitAccount: 'customers:cus_2:wallet',
          creditAccount: 'assets:bank:main',
          amount: '15.00',
          pending: { timeoutSeconds: 60 },
        },
      ],
    });
    await read('/v1/ledger/transfers/usd_hold');
    const services = app.server.runtime.services;
    // The sweep as it would run a minute from now.
    expect(await sweepExpiredPending(services, new Date(Date.now() + 120_000))).toBe(1);
    expect(await sweepExpiredPending(services, new Date(Date.now() + 120_000))).toBe(0);
    const head = await services.store.headPosition?.();
    if (head) position = `${head.commit}-${head.prepare}`;
    expect((await read('/v1/ledger/transfers/usd_hold')).status).toBe('expired');
    const wallet = await read('/v1/ledger/accounts/customers:cus_2:wallet/balance');
    expect(wallet.balances).toMatchObject({ posted: '20.00', available: '20.00', debitsPending: '0.00' });
    const late = await app.request('POST', '/v1/ledger/transfers/usd_hold/post', {
      token: app.demoKey,
      body: {},
    });
    expect(late.status).toBe(409);
  });

  it.skipIf(!available)(
    'stores a batch as one event, and pages through its transfers one at a time without missing any',
    async () => {
      await command(
        'POST',
        '/v1/ledger/accounts',
        { address: 'assets:bank:batch', asset: 'KES', type: 'asset' },
        201,
      );
      await command(
        'POST',
        '/v1/ledger/accounts',
        { address: 'customers:cus_batch:wallet', asset: 'KES', type: 'liability' },
        201,
      );
      // Ids out of order on purpose: within the batch's one position, pages order by id.
      const ids = ['batch_e', 'batch_a', 'batch_d', 'batch_b', 'batch_c'];
      const made = await command('POST', '/v1/ledger/transfers', {
        transfers: ids.map((transferId, index) => ({
          transferId,
          debitAccount: 'assets:bank:batch',
          creditAccount: 'customers:cus_batch:wallet',
          amount: `${String(index + 1)}.00`,
        })),
      });
      expect(made.created).toBe(ids.length);
      const stored = await app.server.runtime.services.db.query<{ event_type: string; n: number }>(
        `SELECT event_type, jsonb_array_length(data->'transfers') AS n FROM ll_events
          WHERE event_type = 'TransfersCreated' AND data->'transfers'->0->>'transferId' = 'batch_e'`,
      );
      expect(stored.rows).toEqual([{ event_type: 'TransfersCreated', n: ids.length }]);

      const pageAll = async (path: string, id: (item: Record<string, unknown>) => string) => {
        const seen: string[] = [];
        let cursor: string | null = null;
        for (let page = 0; page < 20; page += 1) {
          const body = await read(`${path}?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`);
          seen.push(...(body.items as Record<string, unknown>[]).map(id));
          cursor = body.nextCursor as string | null;
          if (cursor === null) break;
        }
        return seen;
      };
      const history = await pageAll('/v1/ledger/accounts/customers:cus_batch:wallet/history', (item) =>
        String(item['transferId']),
      );
      expect(history).toEqual([...ids].sort());
      const wallet = await read('/v1/ledger/accounts/customers:cus_batch:wallet/balance');
      expect(wallet.balances.posted).toBe('15.00');
      const pastBatch = await read(
        `/v1/ledger/accounts/customers:cus_batch:wallet/balance?at=${String(made.position)}`,
      );
      expect(pastBatch.balances.posted).toBe('15.00');
      // The largest position the API takes is past any stored one: everything so far.
      const farFuture = await read(
        `/v1/ledger/accounts/customers:cus_batch:wallet/balance?at=18446744073709551615-18446744073709551615`,
      );
      expect(farFuture.balances.posted).toBe('15.00');
    },
  );

  it.skipIf(!available)('refuses every bad amount with a clear reason, and writes nothing', async () => {
    await command(
      'POST',
      '/v1/ledger/accounts',
      { address: 'assets:amounts:a', asset: 'KES', type: 'asset' },
      201,
    );
    await command(
      'POST',
      '/v1/ledger/accounts',
      { address: 'assets:amounts:b', asset: 'KES', type: 'asset' },
      201,
    );
    const before = await app.server.runtime.store.countEvents?.();
    const send = (amount: unknown) =>
      app.request('POST', '/v1/ledger/transfers', {
        token: app.demoKey,
        rawBody: `{"transfers":[{"transferId":"bad","debitAccount":"assets:amounts:a","creditAccount":"assets:amounts:b","amount":${typeof amount === 'string' ? amount : JSON.stringify(amount)}}]}`,
        headers: { 'content-type': 'application/json' },
      });
    const refusedAtTheDoor = [
      '"0"',
      '"-1"',
      '"1e3"',
      '"NaN"',
      '"Infinity"',
      '" 12.50"',
      '"12.50 "',
      '"1,000.00"',
      '12.5',
      '9007199254740993',
      '"0x10"',
      '""',
    ];
    for (const amount of refusedAtTheDoor) {
      const answer = await send(amount);
      expect(answer.status, amount).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
      expect(answer.body.error.message).toMatch(/^transfers\[0\]\.amount: /);
    }
    // Decimals beyond the asset's scale, and more than 10^20: the asset decides, per transfer.
    for (const [amount, reason] of [
      ['"0.001"', /has 3 decimals; this asset allows 2/],
      [`"1${'0'.repeat(30)}"`, /at most 10\^20/],
    ] as const) {
      const answer = await send(amount);
      expect(answer.status).toBe(200);
      expect(answer.body.results[0]).toMatchObject({ result: 'VALIDATION_FAILED' });
      expect(answer.body.results[0].message).toMatch(reason);
    }
    expect(await app.server.runtime.store.countEvents?.()).toBe(before);
  });

  it.skipIf(!available)(
    'keeps the same book whether loaded from the events, a snapshot, or both',
    async () => {
      const runtime = app.server.runtime;
      const live = await runtime.services.ledger.state(app.demoOrgId);
      const copy = deserializeLedger(JSON.parse(JSON.stringify(serializeLedger(live))) as never);
      expect(copy).toEqual(live);
      const snapshots = sqlSnapshotStore(runtime.db);
      const replayed = await new LedgerBooks(runtime.store, snapshots).state(app.demoOrgId);
      expect(replayed).toEqual(live);
      await snapshots.save(ledgerStream(app.demoOrgId), BigInt(live.eventsApplied - 1), null, live);
      await command(
        'POST',
        '/v1/ledger/accounts',
        { address: 'assets:after:snapshot', asset: 'KES', type: 'asset' },
        201,
      );
      const fromSnapshot = await new LedgerBooks(runtime.store, snapshots).state(app.demoOrgId);
      expect(fromSnapshot).toEqual(await runtime.services.ledger.state(app.demoOrgId));
      expect(fromSnapshot.accounts.has('assets:after:snapshot')).toBe(true);
    },
  );
});
