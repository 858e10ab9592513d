/**
 * The ledger's commands. Each goes to the organization's book (one writer, group commit);
 * the organization is the caller's, always.
 */
import { z } from 'zod';
import type { LedgerCommand, LedgerResult } from '../../domain/ledger/decide.js';
import { eventMetadata } from '../aggregate.js';
import { defineCommand, type CommandOutcome } from '../catalog.js';
import type { CommandContext } from '../context.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { ledgerStream } from './book.js';
import { fingerprint, transferFingerprint } from './transferFingerprint.js';
import * as l from './schemas.js';

async function onBook<Output>(
  context: CommandContext,
  command: LedgerCommand,
  output: (result: LedgerResult) => Output,
): Promise<CommandOutcome<Output>> {
  const principal = callerOf(context);
  const outcome = await context.services.ledger.execute(
    principal.orgId,
    command,
    eventMetadata(context),
    context.now,
  );
  return {
    output: output(outcome.result),
    stream: ledgerStream(principal.orgId),
    revision: outcome.revision,
    position: outcome.position,
  };
}

const accountAnswer = z.object({ address: z.string(), status: z.string() });

function accountOutput(result: LedgerResult): z.infer<typeof accountAnswer> {
  if (result.kind !== 'account') throw new Error(`unexpected ledger result ${result.kind}`);
  return { address: result.address, status: result.status };
}

export const ledgerOpenAccount = defineCommand({
  name: 'ledger_open_account',
  title: 'Open a ledger account',
  description:
    'Opens an account at a colon-path address (assets:mpesa:174379, customers:cus_123:wallet) holding one asset, with a type (asset, liability, equity, revenue, expense), an optional bound (debitsMustNotExceedCredits: cannot be overdrawn; creditsMustNotExceedDebits) and an optional credit limit extending that bound. Opening the same account again with the same asset, type and flags is harmless. A new asset not in the known list needs its scale (decimals).',
  input: z.strictObject({
    address: l.ownAddress,
    asset: l.asset,
    scale: z.number().int().min(0).max(18).optional(),
    type: l.accountType,
    flags: z
      .strictObject({
        debitsMustNotExceedCredits: z.boolean().default(false),
        creditsMustNotExceedDebits: z.boolean().default(false),
      })
      .default({ debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false }),
    creditLimit: l.amount.optional(),
    metadata: l.metadata,
  }),
  output: accountAnswer,
  scope: 'ledger:write',
  minRole: 'manager',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'POST', path: '/v1/ledger/accounts', status: 201 },
  run: (input, context) =>
    onBook(
      context,
      {
        type: 'OpenAccount',
        address: input.address,
        asset: input.asset,
        scale: input.scale ?? null,
        accountType: input.type,
        flags: input.flags,
        creditLimit: input.creditLimit ?? null,
        metadata: input.metadata,
      },
      accountOutput,
    ),
});

export const ledgerCloseAccount = defineCommand({
  name: 'ledger_close_account',
  title: 'Close a ledger account',
  description:
    'Closes an account whose balance is zero with nothing pending; transfers to or from it are refused afterwards.',
  input: z.strictObject({ address: l.ownAddress }),
  output: accountAnswer,
  scope: 'ledger:write',
  minRole: 'manager',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/ledger/accounts/:address/close' },
  run: (input, context) => onBook(context, { type: 'CloseAccount', address: input.address }, accountOutput),
});

export const ledgerChangeLimit = defineCommand({
  name: 'ledger_change_limit',
  title: 'Change an account’s credit limit',
  description:
    'Sets (or, with null, removes) the credit limit of an account with a bound flag: how far past its bound it may go. Pending amounts count against it.',
  input: z.strictObject({ address: l.ownAddress, creditLimit: l.amount.nullable() }),
  output: accountAnswer,
  scope: 'ledger:write',
  minRole: 'manager',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/ledger/accounts/:address/limit' },
  run: (input, context) =>
    onBook(
      context,
      { type: 'ChangeLimit', address: input.address, creditLimit: input.creditLimit },
      accountOutput,
    ),
});

const itemResult = z.object({ transferId: z.string(), result: z.string(), message: z.string().nullable() });

export const ledgerCreateTransfers = defineCommand({
  name: 'ledger_create_transfers',
  title: 'Create transfers',
  description:
    'Moves money between accounts of one asset: up to 1,000 transfers, each with a client-chosen id unique forever (retrying with the same id and body answers "exists"; another body is ID_REUSED). With linked=true the batch commits all or none; otherwise each transfer stands alone. A transfer with pending.timeoutSeconds only reserves the funds until posted, voided or expired. Answers a result per transfer, in order: created, exists, or an error code (INSUFFICIENT_FUNDS, LIMIT_EXCEEDED, NOT_FOUND, ACCOUNT_CLOSED, ASSET_MISMATCH, ID_REUSED, LINKED_EVENT_FAILED, VALIDATION_FAILED). Moves real money: check the accounts first.',
  input: z.strictObject({ transfers: l.transfers, linked: z.boolean().default(false) }),
  output: z.object({ results: z.array(itemResult), created: z.number() }),
  scope: 'ledger:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true },
  movesMoney: true,
  approval: {
    kind: 'transfer',
    moves: (input) =>
      input.transfers.map((item) => ({
        amount: item.amount,
        asset: item.asset ?? null,
        account: item.debitAccount,
      })),
  },
  rest: { method: 'POST', path: '/v1/ledger/transfers' },
  run: (input, context) =>
    onBook(
      context,
      {
        type: 'CreateTransfers',
        linked: input.linked,
        transfers: input.transfers.map((item) => ({
          transferId: item.transferId,
          debitAccount: item.debitAccount,
          creditAccount: item.creditAccount,
          amount: item.amount,
          ...(item.asset === undefined ? {} : { asset: item.asset }),
          code: item.code,
          metadata: item.metadata,
          reference: item.reference ?? null,
          pendingTimeoutAt:
            item.pending === undefined
              ? null
              : new Date(context.now.getTime() + item.pending.timeoutSeconds * 1000).toISOString(),
          requestHash: transferFingerprint(item),
        })),
      },
      (result) => {
        if (result.kind !== 'transfers') throw new Error(`unexpected ledger result ${result.kind}`);
        return { results: [...result.results], created: result.created };
      },
    ),
});

const transferAnswer = z.object({ transferId: z.string(), status: z.string(), amount: z.string() });

function transferOutput(result: LedgerResult): z.infer<typeof transferAnswer> {
  if (result.kind !== 'transfer') throw new Error(`unexpected ledger result ${result.kind}`);
  return { transferId: result.transferId, status: result.status, amount: result.amount };
}

export const ledgerPostPending = defineCommand({
  name: 'ledger_post_pending',
  title: 'Post a pending transfer',
  description:
    'Completes a pending (two-phase) transfer: posts all of it, or part of it with amount, releasing the rest. Refused once it has timed out (PENDING_EXPIRED). Moves real money.',
  input: z.strictObject({ transferId: l.transferId, amount: l.amount.optional() }),
  output: transferAnswer,
  scope: 'ledger:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { destructiveHint: true },
  movesMoney: true,
  approval: {
    kind: 'transfer',
    moves: (input) => [{ amount: input.amount ?? null, transferId: input.transferId }],
  },
  rest: { method: 'POST', path: '/v1/ledger/transfers/:transferId/post' },
  run: (input, context) =>
    onBook(
      context,
      { type: 'PostPending', transferId: input.transferId, amount: input.amount ?? null },
      transferOutput,
    ),
});

export const ledgerVoidPending = defineCommand({
  name: 'ledger_void_pending',
  title: 'Void a pending transfer',
  description:
    'Cancels a pending (two-phase) transfer and releases the funds it reserved. Refused once it has timed out (PENDING_EXPIRED): its expiry releases them.',
  input: z.strictObject({ transferId: l.transferId }),
  output: transferAnswer,
  scope: 'ledger:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { destructiveHint: true },
  rest: { method: 'POST', path: '/v1/ledger/transfers/:transferId/void' },
  run: (input, context) =>
    onBook(context, { type: 'VoidPending', transferId: input.transferId }, transferOutput),
});

export const ledgerReverseTransfer = defineCommand({
  name: 'ledger_reverse_transfer',
  title: 'Reverse or refund a transfer',
  description:
    'Posts the opposite of a posted transfer under a new id (reversalId), linked to it: all that remains of it, or part with amount (a refund). What has been given back is tracked; once all of it has, ALREADY_REVERSED. Managers only. Moves real money.',
  input: z.strictObject({
    transferId: l.transferId,
    reversalId: l.transferId,
    amount: l.amount.optional(),
    code: z.enum(['reversal', 'refund']).default('reversal'),
    metadata: l.metadata,
  }),
  output: transferAnswer,
  scope: 'ledger:write',
  minRole: 'manager',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true },
  movesMoney: true,
  approval: {
    kind: 'reversal',
    moves: (input) => [{ amount: input.amount ?? null, transferId: input.transferId }],
  },
  rest: { method: 'POST', path: '/v1/ledger/transfers/:transferId/reverse', status: 201 },
  run: (input, context) =>
    onBook(
      context,
      {
        type: 'ReverseTransfer',
        transferId: input.transferId,
        reversalId: input.reversalId,
        amount: input.amount ?? null,
        code: input.code,
        metadata: input.metadata,
        requestHash: fingerprint('reversal', input),
      },
      transferOutput,
    ),
});
