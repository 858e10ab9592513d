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
  | { readonly type: 'CustomerUpdated'; readonly data: { customerId: string } & Partial<CustomerProfile> }
  | { readonly type: 'PaymentMethodAdded'; readonly data: { customerId: string } & PaymentMethod };

/** A card as the platform keeps it: never its number, only what a person needs to recognise it. */
export interface PaymentMethod {
  readonly methodId: string;
  /** The processor's id for the stored card (Stripe `pm_…`), used to charge it. */
  readonly providerRef: string;
  readonly brand: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly isDefault: boolean;
}

export type CustomerCommand =
  | { readonly type: 'CreateCustomer'; readonly customerId: string; readonly profile: CustomerProfile }
  | {
      readonly type: 'UpdateCustomer';
      readonly customerId: string;
      readonly changes: Partial<CustomerProfile>;
    }
  | { readonly type: 'AddPaymentMethod'; readonly customerId: string; readonly method: PaymentMethod };

export interface CustomerState {
  readonly exists: boolean;
  readonly profile: CustomerProfile | null;
  readonly methods: readonly PaymentMethod[];
}

export const initialCustomerState: CustomerState = { exists: false, profile: null, methods: [] };

export function evolveCustomer(state: CustomerState, event: CustomerEvent): CustomerState {
  switch (event.type) {
    case 'CustomerCreated': {
      const { customerId: _id, ...profile } = event.data;
      return { exists: true, profile, methods: [] };
    }
    case 'CustomerUpdated': {
      const { customerId: _id, ...changes } = event.data;
      return state.profile ? { ...state, profile: { ...state.profile, ...changes } } : state;
    }
    case 'PaymentMethodAdded': {
      const { customerId: _id, ...method } = event.data;
      const others = method.isDefault
        ? state.methods.map((known) => ({ ...known, isDefault: false }))
        : state.methods;
      return { ...state, methods: [...others, method] };
    }
  }
}

export interface CustomerResult {
  readonly customerId: string;
  readonly changed: boolean;
  readonly methodId?: string;
}

export function decideCustomer(
  command: CustomerCommand,
  state: CustomerState,
): Decision<CustomerEvent, CustomerResult> {
  switch (command.type) {
    case 'AddPaymentMethod': {
      if (!state.exists) return refuse('NOT_FOUND', 'No such customer.', { customerId: command.customerId });
      const known = state.methods.find((method) => method.providerRef === command.method.providerRef);
      // The same stored card added twice (a retried request) is the method already there.
      if (known)
        return accept([], { customerId: command.customerId, changed: false, methodId: known.methodId });
      // A customer's first card is their default whatever the request said.
      const method = { ...command.method, isDefault: command.method.isDefault || state.methods.length === 0 };
      return accept([{ type: 'PaymentMethodAdded', data: { customerId: command.customerId, ...method } }], {
        customerId: command.customerId,
        changed: true,
        methodId: method.methodId,
      });
    }
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
