/**
 * Prompts for the common jobs (SPEC §8): each gives a model the steps, the tools and resources
 * to use, and the guardrails (approvals, idempotency keys), for one job.
 */
import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';

/** An argument value longer than this is cut (prompts are instructions, not payloads). */
const PROMPT_ARGUMENT_LENGTH_MAX = 200;

interface PromptSpec {
  readonly prompt: Prompt;
  text(args: Readonly<Record<string, string>>): string;
}

function arg(args: Readonly<Record<string, string>>, name: string, fallback: string): string {
  const value = args[name];
  return value === undefined || value.trim() === '' ? fallback : value.slice(0, PROMPT_ARGUMENT_LENGTH_MAX);
}

const GUARDRAILS =
  'Give every tool call that changes something an idempotency_key you make up for it, and reuse it if you retry. If a tool answers status "pending_approval", stop: nothing has happened yet; tell the user the approvalId and that a manager must approve it over REST, and follow it with get_approval. Only use tools that are listed for you; never guess an organization id (your credential decides it).';

const PROMPTS: readonly PromptSpec[] = [
  {
    prompt: {
      name: 'collect_payment',
      title: 'Collect a payment',
      description: 'Collect money from a customer and see it land in the ledger.',
      arguments: [
        { name: 'customer', description: 'The customer id (cus_…) or their wallet address.', required: true },
        { name: 'amount', description: 'The amount as a decimal string, such as "1500.00".', required: true },
        { name: 'asset', description: 'The currency, such as KES (the organization default otherwise).' },
        { name: 'phone', description: 'For M-Pesa: the phone number to push the payment request to.' },
      ],
    },
    text: (args) =>
      `Collect ${arg(args, 'amount', '(amount)')} ${arg(args, 'asset', '')} from customer ${arg(args, 'customer', '(customer)')}.
1. If the mpesa_stk_push tool is listed and a phone number is known (${arg(args, 'phone', 'none given')}), push the payment request with it, then poll mpesa_check_status until it settles (do not push twice for one payment).
2. Otherwise record the money received with ledger_create_transfers: debit the account where the money arrives (for example assets:mpesa:<shortcode>) and credit the customer's wallet (customers:<id>:wallet), with a transferId you choose once.
3. Read the resource ledger://accounts/{address}/balance of the customer's wallet to confirm the balance moved, and report the transfer id and new balance.
${GUARDRAILS}`,
  },
  {
    prompt: {
      name: 'reconcile_mpesa_float',
      title: 'Reconcile the M-Pesa float',
      description:
        'Compare the M-Pesa float the provider reports with the ledger and explain any difference.',
      arguments: [
        { name: 'shortcode', description: 'The paybill or till number; all of them otherwise.' },
        { name: 'as_of', description: 'An ISO timestamp to reconcile at; now otherwise.' },
      ],
    },
    text: (args) =>
      `Reconcile the M-Pesa float for shortcode ${arg(args, 'shortcode', '(every shortcode)')} as of ${arg(args, 'as_of', 'now')}.
1. Read ledger://accounts and find the assets:mpesa:* accounts; read each one's balance with ledger_get_balance (pass at= for a past point).
2. If mpesa_check_balance is listed, ask the provider for its balance; otherwise say that only the ledger side can be checked.
3. List the transfers on those accounts (ledger://transfers/{id} for the ones that need a closer look) and explain every difference: pending transfers, reversals, fees.
4. Do not move money to make the numbers agree; report what a person should correct.
${GUARDRAILS}`,
  },
  {
    prompt: {
      name: 'investigate_fraud_alert',
      title: 'Investigate a fraud alert',
      description: 'Gather the facts behind a fraud alert and recommend a decision.',
      arguments: [
        {
          name: 'alert',
          description: 'The alert id, or the customer id the alert is about.',
          required: true,
        },
      ],
    },
    text: (args) =>
      `Investigate fraud alert ${arg(args, 'alert', '(alert)')}.
1. If the fraud tools are listed (scan_transaction, review_flagged_transaction), read the alert and the transaction it flags; otherwise work from the ledger alone.
2. Read the customer's accounts and balances (ledger://accounts/{address}/balance) and their recent transfers; look for unusual amounts, velocity, new counterparties, reversals.
3. Read the audit trail of the streams involved with audit_read_stream (who did what, over which channel).
4. Recommend approve, hold or decline with your reasons. Do not reverse or refund anything yourself unless asked; a reversal may need a manager's approval.
${GUARDRAILS}`,
  },
  {
    prompt: {
      name: 'prepare_audit',
      title: 'Prepare an audit of a period',
      description:
        'Collect the evidence for an audit of one period: balances, transfers and verified event chains.',
      arguments: [
        { name: 'from', description: 'Start of the period (ISO timestamp).', required: true },
        { name: 'to', description: 'End of the period (ISO timestamp).', required: true },
      ],
    },
    text: (args) =>
      `Prepare an audit of ${arg(args, 'from', '(from)')} to ${arg(args, 'to', '(to)')}.
1. Read ledger://accounts; for each account take its balance at the start and at the end of the period with ledger_get_balance (at=<timestamp>).
2. Read the organization's ledger stream with audit_read_stream, page by page (cursor), and note every event in the period with its actor and channel (rest, mcp, cli, system).
3. If audit_verify_stream is listed, verify the hash chain of each stream you read and report the first broken link if any.
4. Summarize: opening and closing balances, movements, who acted through which channel, approvals, and anything that does not add up. This is read-only work: change nothing.
${GUARDRAILS}`,
  },
];

export function listPrompts(): Prompt[] {
  return PROMPTS.map((spec) => spec.prompt);
}

/** Null when there is no such prompt. */
export function getPrompt(name: string, args: Readonly<Record<string, string>>): GetPromptResult | null {
  const spec = PROMPTS.find((candidate) => candidate.prompt.name === name);
  if (!spec) return null;
  return {
    description: spec.prompt.description,
    messages: [{ role: 'user', content: { type: 'text', text: spec.text(args) } }],
  };
}
