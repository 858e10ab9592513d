/** Schemas shared by the customer, payment and fraud catalog entries. */
import { z } from 'zod';

export const METADATA_KEYS_MAX = 32;
export const METADATA_VALUE_LENGTH_MAX = 500;

export const customerId = z.string().regex(/^cus_[0-9A-Z]{26}$/, 'must be a customer id (cus_…)');
export const paymentId = z.string().regex(/^pay_[0-9A-Z]{26}$/, 'must be a payment id (pay_…)');
export const alertId = z.string().regex(/^fra_[0-9A-Z]{26}$/, 'must be a fraud alert id (fra_…)');
/** E.164 digits with an optional plus; M-Pesa commands check for a Kenyan mobile on top. */
export const phone = z
  .string()
  .regex(/^\+?[0-9]{7,15}$/, 'must be a phone number in international digits such as "254712345678"');
export const externalRef = z.string().trim().min(1).max(100);
export const metadata = z
  .record(z.string().min(1).max(64), z.string().max(METADATA_VALUE_LENGTH_MAX))
  .refine(
    (record) => Object.keys(record).length <= METADATA_KEYS_MAX,
    `must have at most ${METADATA_KEYS_MAX} keys`,
  );
