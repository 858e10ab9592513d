import { z } from 'zod';
import { LedgerlineError } from '../../domain/errors.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';
import * as c from './schemas.js';
import { readModelGrantNote, readModelGrantParam, readModelOrg } from '../audit/access.js';

const customersGrant = readModelGrantParam('payments:read');
const GRANT_NOTE = readModelGrantNote('payments:read');

const customer = z.object({
  customerId: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  externalRef: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});

interface CustomerRow {
  readonly customer_id: string;
  readonly name: string;
  readonly email: string | null;
  readonly phone: string | null;
  readonly external_ref: string | null;
  readonly metadata: Record<string, string>;
  readonly created_at: Date;
  readonly updated_at: Date;
}

const CUSTOMER_COLUMNS = 'customer_id, name, email, phone, external_ref, metadata, created_at, updated_at';

function toCustomer(row: CustomerRow): z.infer<typeof customer> {
  return {
    customerId: row.customer_id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    externalRef: row.external_ref,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export const listCustomers = defineQuery({
  name: 'list_customers',
  title: 'Customers',
  description:
    'The organization’s customers, oldest first, a page at a time; filter by your external reference or by an exact phone or email.' +
    GRANT_NOTE,
  params: z.strictObject({
    ...s.pageParams,
    externalRef: c.externalRef.optional(),
    phone: c.phone.optional(),
    email: s.email.optional(),
    grantId: customersGrant,
  }),
  result: s.page(customer),
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/customers' },
  async run(params, context) {
    const after = s.decodeCursor(params.cursor);
    const orgId = await readModelOrg(context, params.grantId, 'payments:read', 'list_customers', 'customers');
    const { rows } = await context.services.db.query<CustomerRow>(
      `SELECT ${CUSTOMER_COLUMNS} FROM rm_customers
        WHERE org_id = $1 AND ($2::text IS NULL OR customer_id > $2)
          AND ($3::text IS NULL OR external_ref = $3) AND ($4::text IS NULL OR phone = $4)
          AND ($5::text IS NULL OR email = $5)
        ORDER BY customer_id LIMIT $6`,
      [
        orgId,
        after,
        params.externalRef ?? null,
        params.phone ?? null,
        params.email ?? null,
        params.limit + 1,
      ],
    );
    return s.pageOf(rows, params.limit, toCustomer, (item) => item.customerId);
  },
});

export const getCustomer = defineQuery({
  name: 'get_customer',
  title: 'A customer',
  description:
    'One customer of the organization with its saved payment methods (brand, last 4, expiry — never a card number).' +
    GRANT_NOTE,
  params: z.strictObject({ customerId: c.customerId, grantId: customersGrant }),
  result: customer,
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/customers/:customerId' },
  async run(params, context) {
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'payments:read',
      'get_customer',
      `customer ${params.customerId}`,
    );
    const { rows } = await context.services.db.query<CustomerRow>(
      `SELECT ${CUSTOMER_COLUMNS} FROM rm_customers WHERE org_id = $1 AND customer_id = $2`,
      [orgId, params.customerId],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', 'No such customer.', { customerId: params.customerId });
    return toCustomer(row);
  },
});
