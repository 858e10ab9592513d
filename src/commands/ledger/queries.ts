/**
 * The ledger's queries, on the read models. Every one filters by one organization: the
 * caller's (from the credential), or — given an audit grant's id — the organization that gave
 * the caller's organization that grant, while it lives and holds ledger:read (see
 * ../audit/access.ts; each such read lands in the granting organization's access log).
 */
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import { parsePosition } from '../../adapters/eventstore/position.js';
import { LedgerlineError, ValidationError } from '../../domain/errors.js';
import { TRANSFER_CODES } from '../../domain/ledger/events.js';
import { readModelGrantNote, readModelGrantParam, readModelOrg } from '../audit/access.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';
import * as l from './schemas.js';

interface AccountRow {
  readonly address: string;
  readonly asset: string;
  readonly scale: number;
  readonly account_type: string;
  readonly debits_must_not_exceed_credits: boolean;
  readonly credits_must_not_exceed_debits: boolean;
  readonly credit_limit: string | null;
  readonly metadata: Record<string, string>;
  readonly status: string;
  readonly debits_posted: string;
  readonly credits_posted: string;
  readonly debits_pending: string;
  readonly credits_pending: string;
}

const ACCOUNT_COLUMNS = `address, asset, scale, account_type, debits_must_not_exceed_credits, credits_must_not_exceed_debits,
  credit_limit::text, metadata, status, debits_posted::text, credits_posted::text, debits_pending::text, credits_pending::text`;

/**
 * The postings of one account ($1 organization, $2 address). The account key (migration 0018)
 * is what the indexes on each side are keyed on; the organization and address are checked
 * too, since two accounts may share a key.
 */
const ACCOUNT_POSTINGS = 'account_key = ll_account_key($1, $2) AND org_id = $1 AND address = $2';
const ledgerGrant = readModelGrantParam('ledger:read');
const GRANT_NOTE = readModelGrantNote('ledger:read');

/** The four balances and the derived ones, in the asset's scale (SPEC §4). */
export function balancesOf(
  accountType: string,
  scale: number,
  raw: { debitsPosted: string; creditsPosted: string; debitsPending: string; creditsPending: string },
): z.infer<typeof l.balances> {
  const dp = new Decimal(raw.debitsPosted);
  const cp = new Decimal(raw.creditsPosted);
  const dpe = new Decimal(raw.debitsPending);
  const cpe = new Decimal(raw.creditsPending);
  const debitNormal = accountType === 'asset' || accountType === 'expense';
  const posted = debitNormal ? dp.minus(cp) : cp.minus(dp);
  const available = debitNormal ? posted.minus(cpe) : posted.minus(dpe);
  const f = (value: Decimal): string => value.toFixed(scale);
  return {
    debitsPosted: f(dp),
    creditsPosted: f(cp),
    debitsPending: f(dpe),
    creditsPending: f(cpe),
    posted: f(posted),
    available: f(available),
  };
}

const account = z.object({
  address: z.string(),
  asset: z.string(),
  type: z.string(),
  flags: z.object({ debitsMustNotExceedCredits: z.boolean(), creditsMustNotExceedDebits: z.boolean() }),
  creditLimit: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  status: z.string(),
  balances: l.balances,
});

function toAccount(row: AccountRow): z.infer<typeof account> {
  return {
    address: row.address,
    asset: row.asset,
    type: row.account_type,
    flags: {
      debitsMustNotExceedCredits: row.debits_must_not_exceed_credits,
      creditsMustNotExceedDebits: row.credits_must_not_exceed_debits,
    },
    creditLimit: row.credit_limit === null ? null : new Decimal(row.credit_limit).toFixed(row.scale),
    metadata: row.metadata,
    status: row.status,
    balances: balancesOf(row.account_type, row.scale, {
      debitsPosted: row.debits_posted,
      creditsPosted: row.credits_posted,
      debitsPending: row.debits_pending,
      creditsPending: row.credits_pending,
    }),
  };
}

export const ledgerListAccounts = defineQuery({
  name: 'ledger_list_accounts',
  title: 'Ledger accounts',
  description:
    'The organization’s ledger accounts with their balances, by address, a page at a time; filter by address prefix (assets:mpesa) or asset.' +
    GRANT_NOTE,
  params: z.strictObject({
    ...s.pageParams,
    prefix: z.string().max(200).optional(),
    asset: l.asset.optional(),
    grantId: ledgerGrant,
  }),
  result: s.page(account),
  scope: 'ledger:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/ledger/accounts' },
  mcp: { resource: { uri: 'ledger://accounts', name: 'Ledger accounts' } },
  async run(params, context) {
    const cursor = s.decodeCursor(params.cursor);
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'ledger:read',
      'ledger_list_accounts',
      'accounts',
    );
    const { rows } = await context.services.db.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM rm_ledger_accounts
        WHERE org_id = $1 AND ($2::text IS NULL OR address > $2) AND ($3::text IS NULL OR starts_with(address, $3))
          AND ($4::text IS NULL OR asset = $4)
        ORDER BY address LIMIT $5`,
      [orgId, cursor, params.prefix ?? null, params.asset ?? null, params.limit + 1],
    );
    return s.pageOf(rows, params.limit, toAccount, (item) => item.address);
  },
});

/** `at`: an ISO timestamp, or a position "<commit>-<prepare>". */
/** The largest value a bigint column holds: stored positions are always below it. */
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A position part as a bigint parameter. Positions run to 2^64 on the wire, but every stored
 * one is far below 2^63: clamping a larger one keeps the comparisons exact (no stored value
 * lies between) instead of failing the cast.
 */
function positionPart(text: string | undefined): string | null {
  if (text === undefined) return null;
  const value = BigInt(text);
  return (value > INT64_MAX ? INT64_MAX : value).toString();
}

function parseAt(
  at: string,
): { kind: 'time'; value: string } | { kind: 'position'; commit: string; prepare: string } {
  if (/^\d+-\d+$/.test(at)) {
    const position = parsePosition(at, 'at');
    return { kind: 'position', commit: position.commit.toString(), prepare: position.prepare.toString() };
  }
  const time = Date.parse(at);
  const date = /^(\d{4})-(\d{2})-(\d{2})T/.exec(at);
  // Date.parse rolls an impossible day over (February 30 is March 1): refuse it instead.
  const day = date ? new Date(Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]))) : null;
  if (
    !date ||
    !day ||
    Number.isNaN(time) ||
    day.getUTCMonth() !== Number(date[2]) - 1 ||
    day.getUTCDate() !== Number(date[3])
  ) {
    throw new ValidationError('at', 'must be an ISO 8601 timestamp or a position such as 123-45');
  }
  return { kind: 'time', value: new Date(time).toISOString() };
}

export const ledgerGetBalance = defineQuery({
  name: 'ledger_get_balance',
  title: 'An account’s balance, now or at any past point',
  description:
    'The balances of one account (debits and credits, posted and pending, and the posted and available balance). With at= (an ISO timestamp or a position) the balances as they were then.' +
    GRANT_NOTE,
  params: z.strictObject({
    address: l.address,
    at: z.string().max(64).optional(),
    grantId: ledgerGrant,
  }),
  result: z.object({
    address: z.string(),
    asset: z.string(),
    at: z.string().nullable(),
    balances: l.balances,
  }),
  scope: 'ledger:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/ledger/accounts/:address/balance' },
  mcp: {
    tool: true,
    resource: {
      uri: 'ledger://accounts/{address}/balance',
      name: 'Account balance',
      subscribe: { categories: ['ledger'] },
      list: {
        query: 'ledger_list_accounts',
        params: (item) => ({ address: String(item['address']) }),
        title: (item) => `Balance of ${String(item['address'])} (${String(item['asset'])})`,
      },
    },
  },
  async run(params, context) {
    // A malformed `at` is a 400 whether or not the account exists (and is no read under a grant).
    const at = params.at === undefined ? null : parseAt(params.at);
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'ledger:read',
      'ledger_get_balance',
      params.at === undefined ? `account ${params.address}` : `account ${params.address} at ${params.at}`,
    );
    const { rows } = await context.services.db.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM rm_ledger_accounts WHERE org_id = $1 AND address = $2`,
      [orgId, params.address],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', `No account ${params.address}.`);
    if (at === null || params.at === undefined)
      return { address: row.address, asset: row.asset, at: null, balances: toAccount(row).balances };
    const bound =
      at.kind === 'time'
        ? { sql: 'occurred_at <= $3::timestamptz', args: [at.value] }
        : {
            sql: '(commit_position, prepare_position) <= ($3::bigint, $4::bigint)',
            args: [positionPart(at.commit), positionPart(at.prepare)],
          };
    const { rows: sums } = await context.services.db.query<{ side: string; phase: string; total: string }>(
      `SELECT side, phase, sum(amount)::text AS total FROM rm_ledger_postings
        WHERE ${ACCOUNT_POSTINGS} AND ${bound.sql} GROUP BY side, phase`,
      [orgId, params.address, ...bound.args],
    );
    const total = (side: string, phase: string): string =>
      sums.find((sum) => sum.side === side && sum.phase === phase)?.total ?? '0';
    return {
      address: row.address,
      asset: row.asset,
      at: params.at,
      balances: balancesOf(row.account_type, row.scale, {
        debitsPosted: total('debit', 'posted'),
        creditsPosted: total('credit', 'posted'),
        debitsPending: total('debit', 'pending'),
        creditsPending: total('credit', 'pending'),
      }),
    };
  },
});

interface TransferRow {
  readonly transfer_id: string;
  readonly debit_account: string;
  readonly credit_account: string;
  readonly asset: string;
  readonly amount: string;
  readonly posted_amount: string;
  readonly reversed_amount: string;
  readonly code: string;
  readonly status: string;
  readonly pending: boolean;
  readonly timeout_at: Date | null;
  readonly reversal_of: string | null;
  readonly reference: string | null;
  readonly metadata: Record<string, string>;
  readonly created_at: Date;
  readonly position: string;
}

const transfer = z.object({
  transferId: z.string(),
  debitAccount: z.string(),
  creditAccount: z.string(),
  asset: z.string(),
  amount: z.string(),
  postedAmount: z.string(),
  reversedAmount: z.string(),
  code: z.string(),
  status: z.string(),
  pending: z.boolean(),
  timeoutAt: z.string().nullable(),
  reversalOf: z.string().nullable(),
  reference: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  createdAt: z.string(),
  position: z.string(),
});

const TRANSFER_COLUMNS = `transfer_id, debit_account, credit_account, asset, amount::text, posted_amount::text,
  reversed_amount::text, code, status, pending, timeout_at, reversal_of, reference, metadata, created_at,
  commit_position::text || '-' || prepare_position::text AS position`;

function toTransfer(row: TransferRow): z.infer<typeof transfer> {
  return {
    transferId: row.transfer_id,
    debitAccount: row.debit_account,
    creditAccount: row.credit_account,
    asset: row.asset,
    amount: row.amount,
    postedAmount: row.posted_amount,
    reversedAmount: row.reversed_amount,
    code: row.code,
    status: row.status,
    pending: row.pending,
    timeoutAt: row.timeout_at?.toISOString() ?? null,
    reversalOf: row.reversal_of,
    reference: row.reference,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
    position: row.position,
  };
}

export const ledgerListTransfers = defineQuery({
  name: 'ledger_list_transfers',
  title: 'Transfers',
  description:
    'The organization’s transfers, oldest first, a page at a time; filter by account (either side), status (posted, pending, voided, expired), code, or reference.' +
    GRANT_NOTE,
  params: z.strictObject({
    ...s.pageParams,
    account: l.address.optional(),
    status: z.enum(['posted', 'pending', 'voided', 'expired']).optional(),
    code: z.enum(TRANSFER_CODES).optional(),
    reference: z.string().max(200).optional(),
    grantId: ledgerGrant,
  }),
  result: s.page(transfer),
  scope: 'ledger:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/ledger/transfers' },
  async run(params, context) {
    const after = s.decodeCursor(params.cursor);
    // The key is "<position>/<transferId>": a cursor holds printable characters only, never a space.
    const match = after === null ? null : /^(\d+)-(\d+)\/(.+)$/.exec(after);
    if (after !== null && !match) throw new ValidationError('cursor', 'is not a cursor this list gave');
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'ledger:read',
      'ledger_list_transfers',
      params.account === undefined ? 'transfers' : `transfers of account ${params.account}`,
    );
    const args: unknown[] = [
      orgId,
      positionPart(match?.[1]),
      positionPart(match?.[2]),
      match?.[3] ?? null,
      params.status ?? null,
      params.code ?? null,
      params.reference ?? null,
      params.limit + 1,
    ];
    const filters = `($2::bigint IS NULL OR (commit_position, prepare_position, transfer_id) > ($2::bigint, $3::bigint, $4::text))
      AND ($5::text IS NULL OR status = $5) AND ($6::text IS NULL OR code = $6) AND ($7::text IS NULL OR reference = $7)`;
    const order = 'ORDER BY commit_position, prepare_position, transfer_id LIMIT $8';
    // Keys (migration 0018) are what the indexes are keyed on: the organization's for its
    // transfers in order, an account's for each side of its own. The organization and the
    // account are checked too, since two may share a key. An account's page is the first page
    // of each side (each read in order from its own index), then merged: it never reads the
    // rest of the organization, and a large account's side stops at the page.
    const { rows } = await context.services.db.query<TransferRow>(
      params.account === undefined
        ? `SELECT ${TRANSFER_COLUMNS} FROM rm_ledger_transfers
            WHERE org_key = ll_org_key($1) AND org_id = $1 AND ${filters} ${order}`
        : `SELECT ${TRANSFER_COLUMNS} FROM (
             (SELECT * FROM rm_ledger_transfers
               WHERE debit_key = ll_account_key($1, $9) AND org_id = $1 AND debit_account = $9 AND ${filters}
               ${order})
             UNION ALL
             (SELECT * FROM rm_ledger_transfers
               WHERE credit_key = ll_account_key($1, $9) AND org_id = $1 AND credit_account = $9
                 AND debit_account <> $9 AND ${filters}
               ${order})) t ${order}`,
      params.account === undefined ? args : [...args, params.account],
    );
    return s.pageOf(rows, params.limit, toTransfer, (item) => `${item.position}/${item.transferId}`);
  },
});

export const ledgerGetTransfer = defineQuery({
  name: 'ledger_get_transfer',
  title: 'A transfer',
  description:
    'One transfer of the organization by its id, with its status, what of it was posted and what was given back.' +
    GRANT_NOTE,
  params: z.strictObject({ transferId: l.transferId, grantId: ledgerGrant }),
  result: transfer,
  scope: 'ledger:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/ledger/transfers/:transferId' },
  mcp: {
    resource: {
      uri: 'ledger://transfers/{id}',
      name: 'Transfer',
      vars: { id: 'transferId' },
      list: {
        query: 'ledger_list_transfers',
        params: (item) => ({ id: String(item['transferId']) }),
        title: (item) => `Transfer ${String(item['transferId'])}`,
      },
    },
  },
  async run(params, context) {
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'ledger:read',
      'ledger_get_transfer',
      `transfer ${params.transferId}`,
    );
    const { rows } = await context.services.db.query<TransferRow>(
      `SELECT ${TRANSFER_COLUMNS} FROM rm_ledger_transfers WHERE org_id = $1 AND transfer_id = $2`,
      [orgId, params.transferId],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', `No transfer ${params.transferId}.`);
    return toTransfer(row);
  },
});

interface PostingRow {
  readonly position: string;
  readonly seq: number;
  readonly transfer_id: string;
  readonly side: string;
  readonly phase: string;
  readonly amount: string;
  readonly occurred_at: Date;
}

export const ledgerAccountHistory = defineQuery({
  name: 'ledger_account_history',
  title: 'An account’s history',
  description:
    'Every change to one account’s balances, oldest first, a page at a time: the transfer, debit or credit side, pending or posted, and the signed amount (a released reservation is negative).' +
    GRANT_NOTE,
  params: z.strictObject({ ...s.pageParams, address: l.address, grantId: ledgerGrant }),
  result: s.page(
    z.object({
      position: z.string(),
      seq: z.number().int(),
      transferId: z.string(),
      side: z.string(),
      phase: z.string(),
      amount: z.string(),
      occurredAt: z.string(),
    }),
  ),
  scope: 'ledger:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/ledger/accounts/:address/history' },
  async run(params, context) {
    // A malformed cursor is a 400 whether or not the account exists (and is no read under a grant).
    const after = s.decodeCursor(params.cursor);
    // The key is "<position>-<seq>/<transferId>": the transfers of one batch share a position,
    // so the transfer id orders them there (seq orders one transfer's own postings).
    const match = after === null ? null : /^(\d+)-(\d+)-(\d+)\/(.+)$/.exec(after);
    if (after !== null && !match) throw new ValidationError('cursor', 'is not a cursor this list gave');
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'ledger:read',
      'ledger_account_history',
      `history of account ${params.address}`,
    );
    const exists = await context.services.db.query(
      'SELECT 1 FROM rm_ledger_accounts WHERE org_id = $1 AND address = $2',
      [orgId, params.address],
    );
    if (exists.rowCount === 0) throw new LedgerlineError('NOT_FOUND', `No account ${params.address}.`);
    const { rows } = await context.services.db.query<PostingRow>(
      `SELECT commit_position::text || '-' || prepare_position::text AS position, seq, transfer_id, side, phase,
              amount::text, occurred_at
         FROM rm_ledger_postings
        WHERE ${ACCOUNT_POSTINGS}
          AND ($3::bigint IS NULL OR (commit_position, prepare_position, transfer_id, seq)
                                       > ($3::bigint, $4::bigint, $6::text, $5::integer))
        ORDER BY commit_position, prepare_position, transfer_id, seq LIMIT $7`,
      [
        orgId,
        params.address,
        positionPart(match?.[1]),
        positionPart(match?.[2]),
        match?.[3] ?? null,
        match?.[4] ?? null,
        params.limit + 1,
      ],
    );
    return s.pageOf(
      rows,
      params.limit,
      (row) => ({
        position: row.position,
        seq: row.seq,
        transferId: row.transfer_id,
        side: row.side,
        phase: row.phase,
        amount: row.amount,
        occurredAt: row.occurred_at.toISOString(),
      }),
      (item) => `${item.position}-${String(item.seq)}/${item.transferId}`,
    );
  },
});
