/**
 * A customer (`cus_…`, SPEC §1): the organization's own end user, whose payments, payment
 * methods and fraud history hang off its id. One stream per customer.
 */
import { accept, refuse, type Decision } from '../decider.js';

export interface CustomerProfile {
  readonly name: string;
  readonly email: string | null;
  /** Normalized (2547XXXXXXXX) when the organization collects by M-Pesa. */
  readonly phone: string | null;
  /** The organization's own reference for this customer. */
  readonly externalRef: string | null;
  readonly metadata: Readonly<Record<string, string>>;
}

export type CustomerEvent =
  | { readonly type: 'CustomerCreated'; readonly data: { customerId: string } & CustomerProfile }
  | { readonly type: 'CustomerUpdated'; readonly data: { customerId: string } & Partial<CustomerProfile> };

export type CustomerCommand =
  | { readonly type: 'CreateCustomer'; readonly customerId: string; readonly profile: CustomerProfile }
  | {
      readonly type: 'UpdateCustomer';
      readonly customerId: string;
      readonly changes: Partial<CustomerProfile>;
    };

export interface CustomerState {
  readonly exists: boolean;
  readonly profile: CustomerProfile | null;
}

export const initialCustomerState: CustomerState = { exists: false, profile: null };

export function evolveCustomer(state: CustomerState, event: CustomerEvent): CustomerState {
  switch (event.type) {
    case 'CustomerCreated': {
      const { customerId: _id, ...profile } = event.data;
      return { exists: true, profile };
    }
    case 'CustomerUpdated': {
      const { customerId: _id, ...changes } = event.data;
      return state.profile ? { exists: true, profile: { ...state.profile, ...changes } } : state;
    }
  }
}

export function decideCustomer(
  command: CustomerCommand,
  state: CustomerState,
): Decision<CustomerEvent, { customerId: string; changed: boolean }> {
  switch (command.type) {
    case 'CreateCustomer':
      if (state.exists) return refuse('ALREADY_EXISTS', `Customer ${command.customerId} already exists.`);
      return accept(
        [{ type: 'CustomerCreated', data: { customerId: command.customerId, ...command.profile } }],
        {
          customerId: command.customerId,
          changed: true,
        },
      );
    case 'UpdateCustomer': {
      if (!state.profile) return refuse('NOT_FOUND', 'No such customer.', { customerId: command.customerId });
      const profile = state.profile;
      const changes = Object.fromEntries(
        Object.entries(command.changes as Record<string, unknown>).filter(
          ([field, value]) =>
            value !== undefined &&
            JSON.stringify(value) !== JSON.stringify(profile[field as keyof CustomerProfile]),
        ),
      ) as Partial<CustomerProfile>;
      // An update that changes nothing writes nothing: retries and repeated forms are harmless.
      if (Object.keys(changes).length === 0)
        return accept([], { customerId: command.customerId, changed: false });
      return accept([{ type: 'CustomerUpdated', data: { customerId: command.customerId, ...changes } }], {
        customerId: command.customerId,
        changed: true,
      });
    }
  }
}

export const customerDecider = { initialState: initialCustomerState, evolve: evolveCustomer };
