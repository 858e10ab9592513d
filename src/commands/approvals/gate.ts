/**
 * The approval gate (SPEC §6): a command that arrives over MCP and that the organization's
 * policy holds back is not run; an ApprovalRequested is written in its place and the tool
 * answers `pending_approval`. Only MCP passes through here; REST callers are people.
 */
import { z } from 'zod';
import { judge, type Movement } from '../../domain/approvals/policy.js';
import type { JsonValue } from '../../domain/canonicalJson.js';
import { LedgerlineError } from '../../domain/errors.js';
import type { AnyCommand, CommandOutcome } from '../catalog.js';
import type { CommandContext } from '../context.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { policyOf } from './policySchema.js';
import { decideOnApproval } from './stream.js';

/** Accounts or transfers the gate looks up for one command, at most (a batch is ≤ 1,000 transfers). */
const LOOKUPS_MAX = 2_000;

export const pendingApprovalAnswer = z.object({
  status: z.literal('pending_approval'),
  approvalId: z.string(),
  reason: z.string(),
  expiresAt: z.string(),
  whatHappensNext: z.string(),
});

export function whatHappensNext(approvalId: string): string {
  return `Nothing has been done yet. A member with the manager role or above must approve it over REST (POST /v1/approvals/${approvalId}/approve, or reject it with POST /v1/approvals/${approvalId}/reject) before it expires; an agent cannot approve. Check its status with the get_approval tool or the approvals://${approvalId} resource; once approved, the command runs as you sent it.`;
}

async function movementsOf(
  context: CommandContext,
  orgId: string,
  moves: ReturnType<NonNullable<NonNullable<AnyCommand['approval']>['moves']>>,
): Promise<Movement[]> {
  const accounts = [
    ...new Set(moves.flatMap((move) => (move.asset ? [] : move.account ? [move.account] : []))),
  ];
  const transfers = [...new Set(moves.flatMap((move) => (move.transferId ? [move.transferId] : [])))];
  if (accounts.length + transfers.length > LOOKUPS_MAX) {
    throw new LedgerlineError(
      'VALIDATION_FAILED',
      'The command names more accounts than the approval gate weighs.',
    );
  }
  const { db } = context.services;
  const assets = new Map<string, string>();
  if (accounts.length > 0) {
    const { rows } = await db.query<{ address: string; asset: string }>(
      'SELECT address, asset FROM rm_ledger_accounts WHERE org_id = $1 AND address = ANY ($2::text[])',
      [orgId, accounts],
    );
    for (const row of rows) assets.set(row.address, row.asset);
  }
  const known = new Map<string, { asset: string; amount: string }>();
  if (transfers.length > 0) {
    const { rows } = await db.query<{ transfer_id: string; asset: string; amount: string }>(
      'SELECT transfer_id, asset, amount::text FROM rm_ledger_transfers WHERE org_id = $1 AND transfer_id = ANY ($2::text[])',
      [orgId, transfers],
    );
    for (const row of rows) known.set(row.transfer_id, { asset: row.asset, amount: row.amount });
  }
  const movements: Movement[] = [];
  for (const move of moves) {
    const transfer = move.transferId === undefined ? undefined : known.get(move.transferId);
    const amount = move.amount ?? transfer?.amount ?? null;
    // A transfer the read models do not know yet moves an amount nobody can tell: the command
    // itself will refuse it, so there is nothing to weigh.
    if (amount === null) continue;
    const asset =
      move.asset ??
      (move.account === undefined ? undefined : assets.get(move.account)) ??
      transfer?.asset ??
      null;
    movements.push({ asset, amount });
  }
  return movements;
}

async function settingsOf(context: CommandContext, orgId: string): Promise<unknown> {
  const { rows } = await context.services.db.query<{ settings: unknown }>(
    'SELECT settings FROM rm_organizations WHERE org_id = $1',
    [orgId],
  );
  return rows[0]?.settings ?? null;
}

export async function approvalGate(
  command: AnyCommand,
  input: unknown,
  context: CommandContext,
): Promise<CommandOutcome<unknown> | null> {
  if (!command.approval || context.channel.kind !== 'mcp') return null;
  const principal = callerOf(context);
  const policy = policyOf(await settingsOf(context, principal.orgId));
  const movements = await movementsOf(context, principal.orgId, command.approval.moves?.(input) ?? []);
  const verdict = judge(policy, command.approval.kind, movements);
  if (verdict.kind === 'run') return null;
  if (verdict.kind === 'refuse')
    throw new LedgerlineError('FORBIDDEN', verdict.reason, { approvalPolicy: true });
  const approvalId = context.services.newId('apr');
  const requestedAt = context.now.toISOString();
  const expiresAt = new Date(context.now.getTime() + policy.expiresAfterSeconds * 1000).toISOString();
  const outcome = await decideOnApproval(context, principal.orgId, approvalId, {
    type: 'Request',
    data: {
      approvalId,
      command: command.name,
      input: input as JsonValue,
      reason: verdict.reason,
      requester: {
        actorKind: principal.actor.kind,
        actorId: principal.actor.id,
        memberId: principal.memberId,
        role: principal.role,
        scopes: [...principal.scopes],
        channel: {
          kind: context.channel.kind,
          clientName: context.channel.clientName ?? null,
          clientVersion: context.channel.clientVersion ?? null,
        },
        requestId: context.requestId,
        idempotencyKey: context.idempotencyKey,
      },
      requestedAt,
      expiresAt,
    },
  });
  return {
    output: {
      status: 'pending_approval',
      approvalId,
      reason: verdict.reason,
      expiresAt,
      whatHappensNext: whatHappensNext(approvalId),
    } satisfies z.infer<typeof pendingApprovalAnswer>,
    stream: outcome.stream,
    revision: outcome.revision,
    position: outcome.position,
  };
}
