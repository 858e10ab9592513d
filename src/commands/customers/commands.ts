/**
 * Customers (`cus_…`): the organization's own end users. Payments, payment methods and fraud
 * reads hang off a customer id.
 */
import { z } from 'zod';
import { customerDecider, decideCustomer, type CustomerCommand } from '../../domain/customers/customer.js';
import { streamName } from '../../domain/streamName.js';
import { executeOnStream } from '../aggregate.js';
import { defineCommand } from '../catalog.js';
import type { CommandContext } from '../context.js';
import * as s from '../schemas.js';
import { callerOf } from '../tenancy/organizationStream.js';
import * as c from './schemas.js';

export function customerStream(orgId: string, customerId: string): string {
  return streamName(orgId, 'customer', customerId);
}

export async function decideOnCustomer(context: CommandContext, command: CustomerCommand) {
  const principal = callerOf(context);
  return executeOnStream(
    context,
    customerStream(principal.orgId, command.customerId),
    customerDecider,
    (state) => decideCustomer(command, state),
  );
}

export const createCustomer = defineCommand({
  name: 'create_customer',
  title: 'Create a customer',
  description:
    'Registers one of the organization’s own end users (a payer or payee) and returns its id (cus_…). Payments, payment methods, fraud alerts and risk reports are kept per customer. Give a name and, as known, email, phone (E.164 digits) and your own reference. Costs nothing; use an Idempotency-Key when retrying so the customer is not created twice.',
  input: z.strictObject({
    name: s.name,
    email: s.email.optional(),
    phone: c.phone.optional(),
    externalRef: c.externalRef.optional(),
    metadata: c.metadata.optional(),
  }),
  output: z.object({ customerId: z.string() }),
  scope: 'payments:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'POST', path: '/v1/customers', status: 201 },
  async run(input, context) {
    const customerId = context.services.newId('cus');
    const outcome = await decideOnCustomer(context, {
      type: 'CreateCustomer',
      customerId,
      profile: {
        name: input.name,
        email: input.email ?? null,
        phone: input.phone ?? null,
        externalRef: input.externalRef ?? null,
        metadata: input.metadata ?? {},
      },
    });
    return { ...outcome, output: { customerId } };
  },
});

export const updateCustomer = defineCommand({
  name: 'update_customer',
  title: 'Update a customer',
  description:
    'Changes a customer’s name, email, phone, reference or metadata. Only the fields given change; sending the same values again writes nothing.',
  input: z.strictObject({
    customerId: c.customerId,
    name: s.name.optional(),
    email: s.email.nullable().optional(),
    phone: c.phone.nullable().optional(),
    externalRef: c.externalRef.nullable().optional(),
    metadata: c.metadata.optional(),
  }),
  output: z.object({ customerId: z.string(), changed: z.boolean() }),
  scope: 'payments:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'PATCH', path: '/v1/customers/:customerId' },
  async run(input, context) {
    const { customerId, ...changes } = input;
    const outcome = await decideOnCustomer(context, {
      type: 'UpdateCustomer',
      customerId,
      changes: Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)),
    });
    return { ...outcome, output: { customerId, changed: outcome.output.changed } };
  },
});
