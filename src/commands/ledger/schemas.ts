/** The ledger's wire shapes. Amounts are decimal strings; a JSON number is refused. */
import { z } from 'zod';
import { ACCOUNT_TYPES, TRANSFER_CODES } from '../../domain/ledger/events.js';
import { PENDING_TIMEOUT_SECONDS_MAX, TRANSFER_BATCH_MAX } from '../../domain/ledger/decide.js';

const AMOUNT_MESSAGE = 'must be a decimal string such as "12.50" (numbers lose precision)';
/** Colon paths: assets:mpesa:174379, customers:cus_123:wallet, revenue:fees. */
const ADDRESS = /^[a-z][a-z0-9_]{0,63}(:[A-Za-z0-9_.@-]{1,64}){1,7}$/;

export const amount = z
  .string({ error: AMOUNT_MESSAGE })
  .max(64, 'is too long for an amount')
  .regex(
    /^(0|[1-9]\d*)(\.\d+)?$/,
    'must be a plain positive decimal such as "12.50" (no sign, exponent or spaces)',
  )
  .refine((value) => /[1-9]/.test(value), 'must be greater than zero');

export const address = z.string().max(200).regex(ADDRESS, 'must be a colon path such as assets:cash:main');
export const ownAddress = address.refine(
  (value) => !value.startsWith('world:'),
  'world accounts exist by themselves',
);
export const asset = z.string().regex(/^[A-Z][A-Z0-9]{1,11}$/, 'must be an asset code such as KES or AAPL');
export const transferId = z
  .string()
  .regex(/^[A-Za-z0-9_:.-]{1,128}$/, 'must be 1 to 128 letters, digits, _ : . or -');
export const metadata = z
  .record(z.string().max(64), z.string().max(500))
  .refine((value) => Object.keys(value).length <= 32, 'at most 32 entries')
  .default({});

export const transfer = z.strictObject({
  transferId,
  debitAccount: address,
  creditAccount: address,
  amount,
  asset: asset.optional(),
  code: z.enum(TRANSFER_CODES).default('payment'),
  metadata,
  reference: z.string().min(1).max(200).optional(),
  pending: z
    .strictObject({ timeoutSeconds: z.number().int().min(1).max(PENDING_TIMEOUT_SECONDS_MAX) })
    .optional(),
});

export const transfers = z.array(transfer).min(1).max(TRANSFER_BATCH_MAX);

export const accountType = z.enum(ACCOUNT_TYPES);

export const balances = z.object({
  debitsPosted: z.string(),
  creditsPosted: z.string(),
  debitsPending: z.string(),
  creditsPending: z.string(),
  posted: z.string(),
  available: z.string(),
});
