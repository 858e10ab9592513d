/**
 * Each side of a transfer is indexed by a 64-bit account key, and an organization's transfers
 * in order by a 64-bit organization key (migration 0018); two accounts, or two organizations,
 * may share one. Here everything shares one: the key functions are replaced by constants
 * before anything is written, and a second organization uses the same addresses and transfer
 * ids. Each account's history, its balance at a past point and each organization's list of
 * transfers must still be their own, because those queries also check the organization and
 * address of every row a key finds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Backend, type TestApp } from '../support/app.js';
import { createOrg } from '../support/auditOrgs.js';
import {
  addressSegment,
  createTransfers,
  openAccount,
  postPending,
  reverseTransfer,
  voidPending,
} from '../support/ledgerHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const postgres = serviceGate('account keys on PostgreSQL', await probePostgres());
const backends: { backend: Backend; available: boolean }[] = [
  { backend: 'pglite', available: true },
  { backend: 'postgres', available: postgres },
];

const FLOAT = 'assets:bank:float';
const ALICE = 'customers:alice:wallet';
const BOB = 'customers:bob:wallet';
const FEES = 'revenue:fees';
const HOUR = { timeoutSeconds: 3_600 };

interface HistoryItem {
  readonly transferId: string;
  readonly side: string;
  readonly phase: string;
  readonly amount: string;
}

describe.each(backends)(
  'keys shared by every account and organization ($backend)',
  ({ backend, available }) => {
    let app: TestApp;
    let position = '0-0';
    const positions: string[] = [];
    /** Another organization with the same addresses and one of the same transfer ids. */
    let neighbour: string;

    const wrote = (written: { position: string | null }): void => {
      if (written.position !== null) {
        position = written.position;
        positions.push(position);
      }
    };

    async function read(path: string, token = app.demoKey) {
      const answer = await app.request(
        'GET',
        `${path}${path.includes('?') ? '&' : '?'}consistentWith=${position}`,
        { token },
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body;
    }

    beforeAll(async () => {
      if (!available) return;
      app = await startTestApp(backend);
      await app.server.runtime.db.query(
        `CREATE OR REPLACE FUNCTION ll_account_key(org_id text, address text) RETURNS bigint
         LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE RETURN 0`,
      );
      await app.server.runtime.db.query(
        `CREATE OR REPLACE FUNCTION ll_org_key(org_id text) RETURNS bigint
         LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE RETURN 0`,
      );
      const token = app.demoKey;
      wrote(await openAccount(app, token, FLOAT, { type: 'asset' }));
      wrote(await openAccount(app, token, ALICE, { type: 'liability' }));
      wrote(await openAccount(app, token, BOB, { type: 'liability' }));
      wrote(await openAccount(app, token, FEES, { type: 'revenue' }));
      wrote(
        await createTransfers(app, token, [
          { transferId: 'tr_in_alice', debitAccount: FLOAT, creditAccount: ALICE, amount: '100.00' },
          { transferId: 'tr_in_bob', debitAccount: FLOAT, creditAccount: BOB, amount: '40.00' },
        ]),
      );
      wrote(
        await createTransfers(app, token, [
          { transferId: 'tr_hold', debitAccount: ALICE, creditAccount: BOB, amount: '30.00', pending: HOUR },
          { transferId: 'tr_fee', debitAccount: BOB, creditAccount: FEES, amount: '2.50', pending: HOUR },
        ]),
      );
      wrote(await postPending(app, token, 'tr_hold', '25.00'));
      wrote(await voidPending(app, token, 'tr_fee'));
      wrote(await reverseTransfer(app, token, 'tr_in_bob', 'tr_back_bob', '15.00'));
      neighbour = (await createOrg(app, 'neighbour')).adminToken;
      wrote(await openAccount(app, neighbour, FLOAT, { type: 'asset' }));
      wrote(await openAccount(app, neighbour, ALICE, { type: 'liability' }));
      wrote(
        await createTransfers(app, neighbour, [
          { transferId: 'tr_in_alice', debitAccount: FLOAT, creditAccount: ALICE, amount: '9.00' },
          { transferId: 'tr_n_1', debitAccount: FLOAT, creditAccount: ALICE, amount: '7.00' },
        ]),
      );
    });

    afterAll(async () => {
      if (available) await app.close();
    });

    it.skipIf(!available)(
      'holds every transfer under one key, so the check below is not vacuous',
      async () => {
        await read('/v1/ledger/transfers/tr_back_bob');
        await read('/v1/ledger/transfers/tr_n_1', neighbour);
        const { rows } = await app.server.runtime.db.query<{ keys: string; transfers: string }>(
          `SELECT count(DISTINCT debit_key)::text || '/' || count(DISTINCT credit_key)::text || '/' ||
              count(DISTINCT org_key)::text AS keys, count(*)::text AS transfers
         FROM rm_ledger_transfers`,
        );
        expect(rows).toEqual([{ keys: '1/1/1', transfers: '7' }]);
      },
    );

    it.skipIf(!available)("gives each account its own history, and no other account's", async () => {
      const history = async (address: string): Promise<HistoryItem[]> =>
        (await read(`/v1/ledger/accounts/${addressSegment(address)}/history?limit=100`)).items;
      const brief = (items: HistoryItem[]) =>
        items.map((item) => `${item.transferId} ${item.side} ${item.phase} ${item.amount}`);
      expect(brief(await history(ALICE))).toEqual([
        'tr_in_alice credit posted 100',
        'tr_hold debit pending 30',
        'tr_hold debit pending -30',
        'tr_hold debit posted 25',
      ]);
      expect(brief(await history(BOB))).toEqual([
        'tr_in_bob credit posted 40',
        // One batch, one position: the transfer id orders its postings.
        'tr_fee debit pending 2.5',
        'tr_hold credit pending 30',
        'tr_hold credit pending -30',
        'tr_hold credit posted 25',
        'tr_fee debit pending -2.5',
        'tr_back_bob debit posted 15',
      ]);
      expect(brief(await history(FEES))).toEqual(['tr_fee credit pending 2.5', 'tr_fee credit pending -2.5']);
      const neighbours = (
        await read(`/v1/ledger/accounts/${addressSegment(ALICE)}/history?limit=100`, neighbour)
      ).items as HistoryItem[];
      expect(brief(neighbours)).toEqual(['tr_in_alice credit posted 9', 'tr_n_1 credit posted 7']);
    });

    it.skipIf(!available)("lists each organization's transfers, and no other's", async () => {
      const ids = async (token: string, query = '') =>
        ((await read(`/v1/ledger/transfers?limit=100${query}`, token)).items as { transferId: string }[]).map(
          (item) => item.transferId,
        );
      expect(await ids(app.demoKey)).toEqual([
        'tr_in_alice',
        'tr_in_bob',
        'tr_fee',
        'tr_hold',
        'tr_back_bob',
      ]);
      expect(await ids(neighbour)).toEqual(['tr_in_alice', 'tr_n_1']);
      expect(await ids(neighbour, `&account=${addressSegment(ALICE)}`)).toEqual(['tr_in_alice', 'tr_n_1']);
      const theirs = await read('/v1/ledger/transfers/tr_in_alice', neighbour);
      expect(theirs.amount).toBe('9.00');
    });

    it.skipIf(!available)(
      "pages through each account's transfers, one at a time, in the list's order",
      async () => {
        interface Listed {
          readonly transferId: string;
          readonly debitAccount: string;
          readonly creditAccount: string;
        }
        const all = (await read('/v1/ledger/transfers?limit=100')).items as Listed[];
        for (const address of [FLOAT, ALICE, BOB, FEES]) {
          const paged: string[] = [];
          let cursor: string | null = null;
          for (let page = 0; page <= all.length; page += 1) {
            const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
            const answer = await read(
              `/v1/ledger/transfers?limit=1&account=${addressSegment(address)}${query}`,
            );
            paged.push(...(answer.items as Listed[]).map((item) => item.transferId));
            cursor = answer.nextCursor as string | null;
            if (cursor === null) break;
          }
          const expected = all
            .filter((item) => item.debitAccount === address || item.creditAccount === address)
            .map((item) => item.transferId);
          expect(paged, address).toEqual(expected);
        }
      },
    );

    it.skipIf(!available)('gives each account its own balance at every past position', async () => {
      for (const address of [FLOAT, ALICE, BOB, FEES]) {
        const now = await read(`/v1/ledger/accounts/${addressSegment(address)}/balance`);
        const atLast = await read(`/v1/ledger/accounts/${addressSegment(address)}/balance?at=${position}`);
        expect(atLast.balances, address).toEqual(now.balances);
      }
      // After the holds, before they were resolved: Bob had 40 posted and 30 coming, 2.50 held.
      const held = positions[5];
      const bob = await read(`/v1/ledger/accounts/${addressSegment(BOB)}/balance?at=${String(held)}`);
      expect(bob.balances).toMatchObject({
        debitsPosted: '0.00',
        creditsPosted: '40.00',
        debitsPending: '2.50',
        creditsPending: '30.00',
      });
    });
  },
);
