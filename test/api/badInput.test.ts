/**
 * Bad input on every route (SPEC §3 step 1: "validates its input — clear 400 naming the field;
 * nothing is written"). The cases are generated from the catalogs: every command's method,
 * path and input schema, every query's path and parameters. Each case is proven invalid
 * before it is sent, and after it the event store holds exactly what it held before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyCommand, AnyQuery } from '../../src/commands/catalog.js';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { parseInput } from '../../src/commands/validation.js';
import { ERRORS, ValidationError } from '../../src/domain/errors.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { addressSegment, createTransfers, openAccount } from '../support/ledgerHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('bad input on every route (PostgreSQL)', probe) },
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = Record<string, Json>;
type JsonSchema = Record<string, unknown>;
type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

/** What a case needs from the running app, so fixtures can name real objects. */
interface Context {
  readonly demoOrgId: string;
}

interface Fixture {
  /** Path parameters, by name. */
  readonly params: Record<string, string>;
  /** A body the command's schema accepts: every case breaks exactly one thing in it. */
  readonly body: JsonObject;
}

const ID_TAIL = '01J9ZZZZZZZZZZZZZZZZZZZZZZ';
const LOOKS_LIKE = {
  memberId: `usr_${ID_TAIL}`,
  keyId: `key_${ID_TAIL}`,
  approvalId: `apr_${ID_TAIL}`,
  reconciliationAlertId: `rca_${ID_TAIL}`,
} as const;
const ID_PREFIX: Record<string, string> = {
  orgId: 'org_',
  memberId: 'usr_',
  keyId: 'key_',
  customerId: 'cus_',
  paymentId: 'pay_',
  alertId: 'fra_',
  paymentMethodId: 'pm_',
  approvalId: 'apr_',
};

/**
 * The demo organization's ledger as the suite sets it up before its first case: fixtures name
 * these real objects, so that a case the schema lets through reaches the decision it tests.
 */
const LEDGER = {
  float: 'assets:bad_input:float',
  /** A bounded liability (cannot be overdrawn) in KES, scale 2. */
  wallet: 'customers:bad_input:wallet',
  /** Pending (one hour) from the float to the wallet: 5.00. */
  pending: 'bad-input-pending',
  /** Posted from the float to the wallet: 10.00. */
  posted: 'bad-input-posted',
} as const;

/** Valid-looking Stripe credentials (never set anywhere: each case breaks one thing). */
const STRIPE = { secretKey: 'sk_test_BadInputFixture000', webhookSigningSecret: 'whsec_BadInputFixture000' };

/** One valid input per command. A command added to the catalog without one fails below. */
const FIXTURES: Record<string, (context: Context) => Fixture> = {
  create_organization: () => ({
    params: {},
    body: {
      name: 'Bad Input Ltd',
      plan: 'pro',
      settings: { defaultCurrency: 'KES', rateLimitPerMinute: 100, monthlyCommandQuota: 1000 },
      admin: { email: 'first.admin@example.com', name: 'First Admin', password: 'correct horse battery' },
    },
  }),
  suspend_organization: ({ demoOrgId }) => ({ params: { orgId: demoOrgId }, body: { reason: 'testing' } }),
  reactivate_organization: ({ demoOrgId }) => ({ params: { orgId: demoOrgId }, body: { reason: 'testing' } }),
  change_organization_plan: ({ demoOrgId }) => ({
    params: { orgId: demoOrgId },
    body: { plan: 'enterprise' },
  }),
  update_organization_settings: () => ({
    params: {},
    body: { defaultCurrency: 'USD', rateLimitPerMinute: 10, monthlyCommandQuota: 100 },
  }),
  create_member: () => ({
    params: {},
    body: {
      email: 'new.member@example.com',
      name: 'New Member',
      role: 'user',
      password: 'correct horse battery',
    },
  }),
  deactivate_member: () => ({ params: { memberId: LOOKS_LIKE.memberId }, body: {} }),
  update_user_profile: () => ({
    params: { memberId: LOOKS_LIKE.memberId },
    body: { name: 'Renamed', email: 'renamed@example.com' },
  }),
  generate_api_key: () => ({
    params: {},
    body: { name: 'ci', scopes: ['ledger:read'], expiresAt: '2031-01-01T00:00:00Z', environment: 'test' },
  }),
  revoke_api_key: () => ({ params: { keyId: LOOKS_LIKE.keyId }, body: {} }),
  update_api_key_permissions: () => ({
    params: { keyId: LOOKS_LIKE.keyId },
    body: { scopes: ['ledger:read'] },
  }),
  authenticate_user: ({ demoOrgId }) => ({
    params: {},
    body: { email: 'someone@example.com', password: 'a password', orgId: demoOrgId },
  }),
  refresh_token: () => ({ params: {}, body: { refreshToken: 'rt_not_a_real_one' } }),
  logout: () => ({ params: {}, body: {} }),
  ledger_open_account: () => ({
    params: {},
    body: {
      address: 'customers:bad_input:new',
      asset: 'KES',
      scale: 2,
      type: 'liability',
      flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false },
      creditLimit: '100.00',
      metadata: { purpose: 'bad input' },
    },
  }),
  ledger_close_account: () => ({ params: { address: LEDGER.float }, body: {} }),
  ledger_change_limit: () => ({ params: { address: LEDGER.wallet }, body: { creditLimit: '50.00' } }),
  ledger_create_transfers: () => ({
    params: {},
    body: {
      transfers: [
        {
          transferId: 'bad-input-new',
          debitAccount: LEDGER.float,
          creditAccount: LEDGER.wallet,
          amount: '1.00',
          asset: 'KES',
          code: 'payment',
          metadata: { purpose: 'bad input' },
          reference: 'ref-bad-input',
          pending: { timeoutSeconds: 60 },
        },
      ],
      linked: false,
    },
  }),
  ledger_post_pending: () => ({ params: { transferId: LEDGER.pending }, body: { amount: '2.50' } }),
  create_customer: () => ({
    params: {},
    body: {
      name: 'Bad Input Customer',
      email: 'customer@example.com',
      phone: '254712345678',
      externalRef: 'ext-1',
      metadata: { tier: 'gold' },
    },
  }),
  update_customer: () => ({
    params: { customerId: `cus_${ID_TAIL}` },
    body: { name: 'Renamed', phone: null },
  }),
  mpesa_stk_push: () => ({
    params: {},
    body: { phone: '0712345678', amount: '100', accountReference: 'INV-1', description: 'Invoice 1' },
  }),
  mpesa_bulk_payment: () => ({
    params: {},
    body: {
      batchId: 'bad-input-batch',
      remarks: 'Salaries',
      payouts: [{ phone: '0712345678', amount: '100', reference: 'r1' }],
    },
  }),
  mpesa_reverse_transaction: () => ({
    params: { paymentId: `pay_${ID_TAIL}` },
    body: { reason: 'duplicate' },
  }),
  mpesa_check_status: () => ({ params: { paymentId: `pay_${ID_TAIL}` }, body: { refresh: false } }),
  mpesa_check_balance: () => ({ params: {}, body: { askProvider: false } }),
  audit_grant_access: () => ({
    params: {},
    body: {
      granteeOrgId: `org_${ID_TAIL}`,
      scopes: ['audit:read'],
      expiresAt: '2030-01-01T00:00:00Z',
      reason: 'annual audit',
    },
  }),
  audit_revoke_grant: () => ({ params: { grantId: `grt_${ID_TAIL}` }, body: { reason: 'done' } }),
  update_payment_settings: () => ({
    params: {},
    body: {
      fraudPolicy: { reviewScore: 40, blockScore: 85, newCounterpartyAmount: '50000', unusualHoursStart: 1 },
      ledgerMapping: { cardSettlement: 'assets:cards:settlement:{currency}' },
    },
  }),
  add_payment_method: () => ({
    params: { customerId: `cus_${ID_TAIL}` },
    body: { token: 'tok_visa', setDefault: true },
  }),
  initiate_payment: () => ({
    params: {},
    body: {
      customerId: `cus_${ID_TAIL}`,
      paymentMethodId: `pm_${ID_TAIL}`,
      amount: '10.00',
      currency: 'USD',
      description: 'Order 1',
      reference: 'order-1',
    },
  }),
  process_refund: () => ({
    params: { paymentId: `pay_${ID_TAIL}` },
    body: { amount: '1.00', reason: 'returned' },
  }),
  scan_transaction: () => ({
    params: {},
    body: {
      kind: 'card_payment',
      amount: '10.00',
      currency: 'USD',
      counterparty: `pm_${ID_TAIL}`,
      customerId: `cus_${ID_TAIL}`,
    },
  }),
  review_flagged_transaction: () => ({
    params: {},
    body: { alertId: `fra_${ID_TAIL}`, decision: 'approve', notes: 'Known buyer' },
  }),
  ledger_void_pending: () => ({ params: { transferId: LEDGER.pending }, body: {} }),
  ledger_reverse_transfer: () => ({
    params: { transferId: LEDGER.posted },
    body: {
      reversalId: 'bad-input-reversal',
      amount: '2.50',
      code: 'refund',
      metadata: { why: 'bad input' },
    },
  }),
  set_provider_credentials: () => ({ params: {}, body: { provider: 'stripe', credentials: STRIPE } }),
  rotate_provider_credentials: () => ({ params: {}, body: { provider: 'stripe', credentials: STRIPE } }),
  revoke_provider_credentials: () => ({ params: { provider: 'stripe' }, body: { reason: 'testing' } }),
  approve_request: () => ({ params: { approvalId: LOOKS_LIKE.approvalId }, body: { note: 'looks right' } }),
  reject_request: () => ({ params: { approvalId: LOOKS_LIKE.approvalId }, body: { reason: 'too large' } }),
  resolve_reconciliation_alert: () => ({
    params: { alertId: LOOKS_LIKE.reconciliationAlertId },
    body: { resolution: 'acknowledged', note: 'checked the statement' },
  }),
};

/**
 * Input the schema cannot judge, refused by the decision (SPEC §4: an amount with more decimals
 * than its asset's scale is rejected, never rounded; at most 10^20): still a 400 naming the
 * field, nothing written. Each edit breaks one thing of the command's valid fixture.
 */
const DECIDED_CASES: Record<
  string,
  readonly { title: string; edit: (body: JsonObject) => JsonObject; field: string }[]
> = {
  ledger_open_account: [
    {
      title: 'creditLimit: more decimals than the asset has',
      edit: (body) => ({ ...body, creditLimit: '1.001' }),
      field: 'creditLimit',
    },
    {
      title: 'creditLimit: more than 10^20',
      edit: (body) => ({ ...body, creditLimit: `1${'0'.repeat(21)}` }),
      field: 'creditLimit',
    },
    {
      title: 'creditLimit: on an account with no bound to extend',
      edit: (body) => ({ ...body, flags: {} }),
      field: 'creditLimit',
    },
    {
      title: 'flags: both bounds at once',
      edit: (body) => ({
        ...body,
        flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true },
      }),
      field: 'flags',
    },
    {
      title: 'scale: a new asset without its scale',
      edit: ({ scale: _scale, ...body }) => ({ ...body, asset: 'NEWASSET' }),
      field: 'scale',
    },
  ],
  ledger_change_limit: [
    {
      title: 'creditLimit: more decimals than the asset has',
      edit: () => ({ creditLimit: '1.001' }),
      field: 'creditLimit',
    },
    {
      title: 'creditLimit: more than 10^20',
      edit: () => ({ creditLimit: `1${'0'.repeat(21)}` }),
      field: 'creditLimit',
    },
  ],
  ledger_post_pending: [
    {
      title: 'amount: more decimals than the asset has',
      edit: () => ({ amount: '1.001' }),
      field: 'amount',
    },
    { title: 'amount: more than is pending', edit: () => ({ amount: '5.01' }), field: 'amount' },
  ],
  ledger_reverse_transfer: [
    {
      title: 'amount: more decimals than the asset has',
      edit: (body) => ({ ...body, amount: '1.001' }),
      field: 'amount',
    },
    {
      title: 'amount: more than was posted',
      edit: (body) => ({ ...body, amount: '10.01' }),
      field: 'amount',
    },
  ],
};

/** Fields that hold an amount (SPEC §4: positive, bounded, never a number). */
const AMOUNT_FIELDS: readonly string[] = ['amount', 'creditLimit'];

/** Strings that break a pattern; a case is made of each one the property's own pattern refuses. */
const PATTERN_BREAKERS: readonly string[] = [
  '',
  ' ',
  '-1',
  '+1',
  '1e3',
  ' 12.50',
  '12.50 ',
  '1,000.00',
  '1.',
  '.5',
  '01',
  '0x10',
  'NaN',
  'Infinity',
  '١٢٣',
  'a b',
  `a'"b`,
  'lower',
  'UPPER',
  'Mixed:Case',
  'a/b',
  'a::b',
  'tränsfer',
  'x'.repeat(129),
];

/** Malformed values for a path parameter, by its name. Every one is refused by the catalog. */
function malformedPathValues(name: string, kind: 'command' | 'query'): [string, string][] {
  const common: [string, string][] = [
    ['300 characters', 'y'.repeat(300)],
    ['spaces and quotes', `a b'"c`],
  ];
  if (name === 'address') {
    return [
      ['no colon', 'assets'],
      ['an upper-case root', 'Assets:cash'],
      ['an empty segment', 'assets::cash'],
      ['a trailing colon', 'assets:cash:'],
      ['nine segments', 'a:b:c:d:e:f:g:h:i'],
      ['a segment of 65 characters', `assets:${'s'.repeat(65)}`],
      ['a slash', 'assets:a/b'],
      // The world is the unbounded outside: it is never opened, closed or limited by command.
      ...(kind === 'command' ? ([['a world account', 'world:KES']] as [string, string][]) : []),
      ...common,
    ];
  }
  if (name === 'transferId') {
    return [
      ['129 characters', 't'.repeat(129)],
      ['a slash', 'a/b'],
      ['a comma', 'a,b'],
      ['a non-ASCII letter', 'tränsfer'],
      ...common,
    ];
  }
  return [
    ['not an id', 'nope'],
    ['lower-case id', `${ID_PREFIX[name] ?? ''}${ID_TAIL.toLowerCase()}`],
    ['an id of another kind', name === 'memberId' ? LOOKS_LIKE.keyId : LOOKS_LIKE.memberId],
    ...common,
  ];
}

/** A stand-in context for generating the cases before any app runs. */
const SAMPLE_CONTEXT: Context = { demoOrgId: `org_${ID_TAIL}` };

const HUGE = 'x'.repeat(100_000);
/** Strings JSON carries but canonical JSON (every event's hash) refuses. */
const UNSTORABLE_STRINGS: readonly (readonly [string, string])[] = [
  ['U+0000 inside', 'a\u0000b'],
  ['an unpaired surrogate', 'a\ud800b'],
];

/**
 * A record of strings whose keys are the caller's own (metadata). Provider credentials are a
 * record on the wire too, but each provider's schema names its keys and refuses any other.
 */
function isRecordSchema(schema: JsonSchema): boolean {
  const values = schema['additionalProperties'];
  return typeof values === 'object' && values !== null && (values as JsonSchema)['type'] === 'string';
}
const WRONG_VALUES: Record<JsonType, Json> = {
  string: 'text',
  number: 12345,
  boolean: true,
  null: null,
  array: ['x'],
  object: { x: 1 },
};

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

/** The JSON types a schema allows, or null when it says nothing (anything goes). */
function jsonTypes(schema: JsonSchema): Set<JsonType> | null {
  const types = new Set<JsonType>();
  const add = (type: unknown): void => {
    if (type === 'integer') types.add('number');
    else if (typeof type === 'string') types.add(type as JsonType);
  };
  const type = schema['type'];
  if (Array.isArray(type)) type.forEach(add);
  else add(type);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    for (const branch of branches as JsonSchema[]) {
      const inner = jsonTypes(branch);
      if (inner === null) return null;
      inner.forEach((t) => types.add(t));
    }
  }
  return types.size === 0 ? null : types;
}

function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> {
  return (schema['properties'] ?? {}) as Record<string, JsonSchema>;
}

function requiredOf(schema: JsonSchema): readonly string[] {
  return (schema['required'] ?? []) as string[];
}

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1] ?? '');
}

function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/:([A-Za-z]+)/g, (_all, name: string) => encodeURIComponent(params[name] ?? ''));
}

function clone(body: JsonObject): JsonObject {
  return structuredClone(body);
}

/** A place in a body: property names, and indices into arrays. */
type JsonPath = readonly (string | number)[];

/** A path as the API names a field: `transfers[0].amount`. */
function fieldName(path: JsonPath): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${part}`))
    .join('');
}

/** Sets (or with `undefined`, deletes) a path in a copy of the body. */
function withValue(body: JsonObject, path: JsonPath, value: Json | undefined): JsonObject {
  const copy = clone(body);
  let target: JsonObject | Json[] = copy;
  for (const part of path.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(target) ? target[Number(part)] : target[String(part)];
    if (next === null || next === undefined || typeof next !== 'object')
      throw new Error(`no object at ${part}`);
    target = next;
  }
  const last = path.at(-1) ?? '';
  if (Array.isArray(target)) {
    if (value === undefined) target.splice(Number(last), 1);
    else target[Number(last)] = value;
  } else if (value === undefined) Reflect.deleteProperty(target, String(last));
  else target[String(last)] = value;
  return copy;
}

/** The body's JSON with a `__proto__` key in front (prototype pollution). */
function withProto(body: JsonObject): string {
  const rest = JSON.stringify(body).slice(1);
  return `{"__proto__":{"polluted":true}${rest === '}' ? '' : ','}${rest}`;
}

function tokenKind(audience: AnyCommand['audience'] | AnyQuery['audience']): 'admin' | 'demo' | 'none' {
  if (audience === 'platform') return 'admin';
  if (audience === 'organization') return 'demo';
  return 'none';
}

/** One bad request and what must come back. */
interface CommandCase {
  readonly title: string;
  readonly command: AnyCommand;
  /** Builds the request against the running app. */
  readonly request: (context: Context) => {
    readonly path: string;
    readonly body?: Json;
    readonly rawBody?: string;
    readonly headers?: Record<string, string>;
  };
  /** Statuses that are right for this case. */
  readonly statuses: readonly number[];
  /** The field the message must name (details.field and the message's prefix). */
  readonly field?: string;
  /** The merged input the case sends, so the test can show the catalog refuses it too. */
  readonly input?: (context: Context) => unknown;
  /** For a case the decision refuses: the input, which the catalog's schema accepts. */
  readonly decided?: (context: Context) => unknown;
}

/**
 * Walks a body schema: every (nested) property, its path and schema, and whether it is required —
 * into nested objects, and into the first item of an array of objects (`transfers[0].amount`).
 */
function walk(
  schema: JsonSchema,
  sample: JsonObject,
  prefix: JsonPath = [],
): { path: JsonPath; schema: JsonSchema; required: boolean }[] {
  const out: { path: JsonPath; schema: JsonSchema; required: boolean }[] = [];
  const required = requiredOf(schema);
  for (const [name, property] of Object.entries(propertiesOf(schema))) {
    const path = [...prefix, name];
    out.push({ path, schema: property, required: required.includes(name) });
    const nested = sample[name];
    if (nested !== null && typeof nested === 'object' && !Array.isArray(nested) && property['properties']) {
      out.push(...walk(property, nested, path));
    }
    const items = property['items'] as JsonSchema | undefined;
    const first = Array.isArray(nested) ? nested[0] : undefined;
    if (first !== null && typeof first === 'object' && !Array.isArray(first) && items?.['properties']) {
      out.push(...walk(items, first, [...path, 0]));
    }
  }
  return out;
}

/** The value at a path of the sample, if any. */
function valueAt(sample: JsonObject, path: JsonPath): Json | undefined {
  let value: Json | undefined = sample;
  for (const part of path) {
    if (value === null || value === undefined || typeof value !== 'object') return undefined;
    value = Array.isArray(value) ? value[Number(part)] : value[String(part)];
  }
  return value;
}

/** The string branch of a property's schema (a nullable string is anyOf string | null). */
function stringBranch(schema: JsonSchema): JsonSchema | null {
  if (schema['type'] === 'string') return schema;
  const branches = (schema['anyOf'] ?? schema['oneOf']) as JsonSchema[] | undefined;
  return branches?.find((branch) => branch['type'] === 'string') ?? null;
}

function numberBranch(schema: JsonSchema): JsonSchema | null {
  if (schema['type'] === 'integer' || schema['type'] === 'number') return schema;
  const branches = (schema['anyOf'] ?? schema['oneOf']) as JsonSchema[] | undefined;
  return branches?.find((branch) => branch['type'] === 'integer' || branch['type'] === 'number') ?? null;
}

/** Values a property's own constraints refuse (pattern, length, bounds, enum, item counts). */
function outOfBounds(schema: JsonSchema, sampleValue: Json | undefined): { what: string; value: Json }[] {
  const out: { what: string; value: Json }[] = [];
  const text = stringBranch(schema);
  if (text) {
    const pattern = typeof text['pattern'] === 'string' ? new RegExp(text['pattern'], 'u') : null;
    const maxLength = typeof text['maxLength'] === 'number' ? text['maxLength'] : Infinity;
    const minLength = typeof text['minLength'] === 'number' ? text['minLength'] : 0;
    if (pattern) {
      for (const value of PATTERN_BREAKERS) {
        if (pattern.test(value) || value.length > maxLength) continue;
        out.push({
          what: `${JSON.stringify(value.length > 20 ? `${value.slice(0, 12)}…` : value)} (not its pattern)`,
          value,
        });
      }
    }
    if (minLength > 0 && !(pattern && !pattern.test(''))) out.push({ what: 'empty', value: '' });
    if (Number.isFinite(maxLength)) {
      // Over the bound by one, made of the sample's own characters where it has some.
      const base = typeof sampleValue === 'string' && sampleValue.length > 0 ? sampleValue : 'x';
      const long = base.repeat(Math.ceil((maxLength + 1) / base.length)).slice(0, maxLength + 1);
      out.push({ what: `${maxLength + 1} characters`, value: long });
    }
    if (Array.isArray(text['enum'])) out.push({ what: 'not one of its values', value: 'bogus' });
  }
  const number = numberBranch(schema);
  if (number) {
    if (typeof number['minimum'] === 'number')
      out.push({ what: 'below its minimum', value: number['minimum'] - 1 });
    if (typeof number['maximum'] === 'number')
      out.push({ what: 'above its maximum', value: number['maximum'] + 1 });
    if (number['type'] === 'integer') out.push({ what: 'not a whole number', value: 1.5 });
  }
  if (schema['type'] === 'array' && Array.isArray(sampleValue)) {
    if (typeof schema['minItems'] === 'number' && schema['minItems'] > 0)
      out.push({ what: 'empty', value: [] });
    const maxItems = schema['maxItems'];
    if (typeof maxItems === 'number' && sampleValue.length > 0) {
      const item = sampleValue[0] ?? null;
      out.push({
        what: `${maxItems + 1} items`,
        value: Array.from({ length: maxItems + 1 }, (_unused, i) =>
          item !== null && typeof item === 'object' && !Array.isArray(item) && 'transferId' in item
            ? { ...item, transferId: `bulk-${i}` }
            : item,
        ),
      });
    }
  }
  return out;
}

function commandCases(command: AnyCommand): CommandCase[] {
  const fixtureOf = FIXTURES[command.name];
  if (!fixtureOf) return [];
  const names = pathParamNames(command.rest.path);
  const full = jsonSchemaOf(command.input);
  const bodySchema: JsonSchema = {
    ...full,
    properties: Object.fromEntries(
      Object.entries(propertiesOf(full)).filter(([name]) => !names.includes(name)),
    ),
    required: requiredOf(full).filter((name) => !names.includes(name)),
  };
  const sample = fixtureOf(SAMPLE_CONTEXT).body;
  const cases: CommandCase[] = [];
  const withBody =
    (edit: (body: JsonObject) => Json) =>
    (context: Context): { path: string; body: Json } => {
      const fixture = fixtureOf(context);
      return { path: fillPath(command.rest.path, fixture.params), body: edit(fixture.body) };
    };
  const inputOf =
    (edit: (body: JsonObject) => Json) =>
    (context: Context): unknown => {
      const fixture = fixtureOf(context);
      const body = edit(fixture.body);
      return body !== null && typeof body === 'object' && !Array.isArray(body)
        ? { ...body, ...fixture.params }
        : body;
    };
  const bodyCase = (
    title: string,
    edit: (body: JsonObject) => Json,
    field: string,
    { refusedByCatalog = true } = {},
  ): void => {
    cases.push({
      title,
      command,
      request: withBody(edit),
      statuses: [400],
      field,
      ...(refusedByCatalog ? { input: inputOf(edit) } : {}),
    });
  };

  for (const { path, schema, required } of walk(bodySchema, sample)) {
    const dotted = fieldName(path);
    const allowed = jsonTypes(schema);
    if (allowed) {
      for (const [type, value] of Object.entries(WRONG_VALUES) as [JsonType, Json][]) {
        if (allowed.has(type)) continue;
        bodyCase(`${dotted}: wrong type (${type})`, (body) => withValue(body, path, value), dotted);
      }
      if (allowed.has('array')) {
        bodyCase(`${dotted}: wrong item type`, (body) => withValue(body, path, [12345]), `${dotted}[0]`);
      }
      if (allowed.has('string')) {
        bodyCase(`${dotted}: a 100 KB string`, (body) => withValue(body, path, HUGE), dotted);
        // Strings the schema may take but no event can store: refused at the door, never a 500.
        // A public command's input (a login) is never stored: its password is only compared.
        for (const [what, value] of command.audience === 'public' ? [] : UNSTORABLE_STRINGS) {
          bodyCase(`${dotted}: ${what}`, (body) => withValue(body, path, value), dotted);
        }
      }
    }
    if (required) bodyCase(`${dotted}: missing`, (body) => withValue(body, path, undefined), dotted);
    for (const { what, value } of outOfBounds(schema, valueAt(sample, path))) {
      bodyCase(`${dotted}: ${what}`, (body) => withValue(body, path, value), dotted);
    }
    if (AMOUNT_FIELDS.includes(String(path.at(-1)))) {
      // SPEC §4: amounts are positive. Zero matches the pattern of a decimal, and is refused still.
      for (const zero of ['0', '0.00', '0.000000']) {
        bodyCase(`${dotted}: ${zero} (not positive)`, (body) => withValue(body, path, zero), dotted);
      }
    }
    const nested = valueAt(sample, path);
    const firstItem = Array.isArray(nested) ? nested[0] : undefined;
    if (firstItem !== null && typeof firstItem === 'object' && !Array.isArray(firstItem)) {
      bodyCase(
        `${dotted}[0]: unknown nested field`,
        (body) => withValue(body, [...path, 0, 'unexpected'], 1),
        `${dotted}[0].unexpected`,
      );
    }
    if (nested !== null && nested !== undefined && typeof nested === 'object' && !Array.isArray(nested)) {
      bodyCase(
        `${dotted}: unknown nested field`,
        (body) => withValue(body, [...path, 'unexpected'], 1),
        `${dotted}.unexpected`,
      );
      // A record (metadata): any key is its own, but not one no event can store, nor its value.
      if (isRecordSchema(schema)) {
        for (const [what, value] of UNSTORABLE_STRINGS) {
          bodyCase(`${dotted}: a key with ${what}`, (body) => withValue(body, [...path, value], 'v'), dotted);
          bodyCase(
            `${dotted}: a value with ${what}`,
            (body) => withValue(body, [...path, 'note'], value),
            `${dotted}.note`,
          );
        }
      }
    }
  }
  bodyCase('an unknown field', (body) => ({ ...body, unexpected: 'surprise' }), 'unexpected');
  bodyCase('a JSON array body', (body) => [body], 'body');
  bodyCase('a JSON string body', () => 'a string', 'body');
  bodyCase('a JSON number body', () => 42, 'body');
  const firstRequired = requiredOf(bodySchema)[0];
  if (firstRequired !== undefined) {
    bodyCase('an empty object', () => ({}), firstRequired);
    bodyCase('a JSON null body', () => null, firstRequired);
    cases.push({
      title: 'no body at all',
      command,
      request: (context) => ({ path: fillPath(command.rest.path, fixtureOf(context).params) }),
      statuses: [400],
      field: firstRequired,
    });
  }
  for (const { title, edit, field } of DECIDED_CASES[command.name] ?? []) {
    cases.push({ title, command, request: withBody(edit), statuses: [400], field, decided: inputOf(edit) });
  }
  for (const name of names) {
    // The catalog alone would take the path's value; the route must refuse the conflict.
    bodyCase(`path parameter ${name} repeated in the body`, (body) => ({ ...body, [name]: 'x' }), name, {
      refusedByCatalog: false,
    });
  }
  cases.push({
    title: 'malformed JSON',
    command,
    request: (context) => ({
      path: fillPath(command.rest.path, fixtureOf(context).params),
      rawBody: JSON.stringify(fixtureOf(context).body).slice(0, -1),
      headers: { 'content-type': 'application/json' },
    }),
    statuses: [400],
  });
  cases.push({
    title: 'a JSON body with a __proto__ key',
    command,
    request: (context) => ({
      path: fillPath(command.rest.path, fixtureOf(context).params),
      rawBody: withProto(fixtureOf(context).body),
      headers: { 'content-type': 'application/json' },
    }),
    statuses: [400],
  });
  cases.push({
    title: 'the valid body sent as text/plain',
    command,
    request: (context) => ({
      path: fillPath(command.rest.path, fixtureOf(context).params),
      rawBody: JSON.stringify(fixtureOf(context).body),
      headers: { 'content-type': 'text/plain' },
    }),
    statuses: [400, 415],
  });
  cases.push({
    title: 'the valid body sent as a form',
    command,
    request: (context) => ({
      path: fillPath(command.rest.path, fixtureOf(context).params),
      rawBody: new URLSearchParams(
        Object.entries(fixtureOf(context).body).map(([key, value]): [string, string] => [
          key,
          JSON.stringify(value),
        ]),
      ).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
    statuses: [400, 415],
  });
  cases.push({
    title: 'a body over the size limit (2 MB)',
    command,
    request: (context) => ({
      path: fillPath(command.rest.path, fixtureOf(context).params),
      rawBody: JSON.stringify({ ...fixtureOf(context).body, padding: 'x'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    }),
    statuses: [413],
  });
  for (const name of names) {
    const malformed = malformedPathValues(name, 'command');
    cases.push({
      title: `path parameter ${name}: not percent-decodable`,
      command,
      request: (context) => ({
        path: fillPath(command.rest.path, { ...fixtureOf(context).params, [name]: 'PLACEHOLDER' }).replace(
          'PLACEHOLDER',
          '%E0%A4%A',
        ),
        body: fixtureOf(context).body,
      }),
      statuses: [400],
    });
    for (const [what, value] of malformed) {
      const edit = (context: Context): Record<string, string> => ({
        ...fixtureOf(context).params,
        [name]: value,
      });
      cases.push({
        title: `path parameter ${name}: ${what}`,
        command,
        request: (context) => ({
          path: fillPath(command.rest.path, edit(context)),
          body: fixtureOf(context).body,
        }),
        statuses: [400],
        field: name,
        input: (context) => ({ ...fixtureOf(context).body, ...edit(context) }),
      });
    }
  }
  return cases;
}

const COMMAND_CASES = COMMANDS.flatMap(commandCases);

interface QueryCase {
  readonly title: string;
  readonly query: AnyQuery;
  readonly path: (context: Context) => string;
  readonly field: string;
}

const QUERY_PATH_PARAMS = (context: Context): Record<string, string> => ({
  memberId: LOOKS_LIKE.memberId,
  approvalId: LOOKS_LIKE.approvalId,
  stream: `${context.demoOrgId}.organization-${context.demoOrgId}`,
  address: LEDGER.wallet,
  transferId: LEDGER.posted,
  customerId: `cus_${ID_TAIL}`,
  provider: 'stripe',
  paymentId: `pay_${ID_TAIL}`,
});

/** An account no organization has: a bad parameter is a 400 whether or not the account exists. */
const MISSING_ADDRESS = 'customers:bad_input:nobody';
/** `at` values that are neither an ISO timestamp nor a position. */
const BAD_AT = [
  'yesterday',
  '2024-01-01',
  '2024-13-45T00:00:00Z',
  // Days the calendar does not have: never rolled over into the next month.
  '2024-02-30T00:00:00Z',
  '2023-02-29T12:00:00Z',
  '2024-04-31T00:00:00+03:00',
  '1-2-3',
  '99999999999999999999999-0',
  '-1-0',
];

function queryCases(query: AnyQuery): QueryCase[] {
  const schema = jsonSchemaOf(query.params);
  const properties = propertiesOf(schema);
  const names = pathParamNames(query.rest.path);
  const cases: QueryCase[] = [];
  const at =
    (search: string, params?: Record<string, string>) =>
    (context: Context): string =>
      `${fillPath(query.rest.path, { ...QUERY_PATH_PARAMS(context), ...(params ?? {}) })}?${search}`;
  const add = (title: string, search: string, field: string, params?: Record<string, string>): void => {
    cases.push({ title, query, path: at(search, params), field });
  };
  if ('limit' in properties) {
    for (const value of ['0', '1e9', '-1', '1.5', 'abc', '', '99999999999999999999999']) {
      add(`limit=${value}`, `limit=${encodeURIComponent(value)}`, 'limit');
    }
    add('limit given twice', 'limit=1&limit=2', 'limit');
  }
  if ('cursor' in properties) {
    for (const value of ['%%%garbage', 'zzzz', '!', 'c'.repeat(600)]) {
      add(`cursor=${value.slice(0, 20)}`, `cursor=${encodeURIComponent(value)}`, 'cursor');
    }
  }
  if ('fromRevision' in properties) {
    for (const value of ['-1', 'abc', '1.5'])
      add(`fromRevision=${value}`, `fromRevision=${value}`, 'fromRevision');
  }
  for (const [name, property] of Object.entries(properties)) {
    if (Array.isArray(property['enum'])) add(`${name}=bogus`, `${name}=bogus`, name);
    else if (!names.includes(name) && stringBranch(property))
      add(`${name}: U+0000 inside`, `${name}=a%00b`, name);
  }
  // Every other parameter's own bounds: its pattern and its length.
  for (const [name, property] of Object.entries(properties)) {
    if (names.includes(name) || ['limit', 'cursor', 'fromRevision'].includes(name)) continue;
    if (Array.isArray(property['enum'])) continue;
    for (const { what, value } of outOfBounds(property, undefined)) {
      if (typeof value !== 'string' || value === '') continue;
      add(`${name}: ${what}`, `${name}=${encodeURIComponent(value)}`, name);
    }
  }
  if ('at' in properties) {
    for (const value of BAD_AT) {
      add(`at=${value}`, `at=${encodeURIComponent(value)}`, 'at');
      if (names.includes('address')) {
        add(`at=${value} on a missing account`, `at=${encodeURIComponent(value)}`, 'at', {
          address: MISSING_ADDRESS,
        });
      }
    }
  }
  if ('cursor' in properties && names.includes('address')) {
    // Well formed, but no cursor this list gives: refused before the account is looked up.
    add(
      'a cursor of another list, on a missing account',
      `cursor=${encodeURIComponent(Buffer.from('not-a-posting').toString('base64url'))}`,
      'cursor',
      {
        address: MISSING_ADDRESS,
      },
    );
  }
  add('an unknown parameter', 'bogus=1', 'bogus');
  for (const value of ['abc', '1', '1-2-3', '-1-0', '1.5-0', '18446744073709551616-0', '']) {
    add(`consistentWith=${value}`, `consistentWith=${encodeURIComponent(value)}`, 'consistentWith');
  }
  add('consistentWith given twice', 'consistentWith=1-0&consistentWith=2-0', 'consistentWith');
  for (const name of names) {
    if (name === 'memberId') add('memberId: not an id', '', 'memberId', { memberId: 'nope' });
    if (name === 'stream') add('stream: 300 characters', '', 'stream', { stream: 's'.repeat(300) });
    if (name === 'address' || name === 'transferId') {
      for (const [what, value] of malformedPathValues(name, 'query')) {
        add(`${name}: ${what}`, '', name, { [name]: value });
      }
    }
  }
  return cases;
}

const QUERY_CASES = QUERIES.flatMap(queryCases);

function expectError(response: TestResponse, statuses: readonly number[], field?: string): void {
  expect(statuses, JSON.stringify(response.body)).toContain(response.status);
  const error = (response.body as { error?: Record<string, unknown> } | null)?.error;
  expect(error, `an error envelope, got ${JSON.stringify(response.body)}`).toBeDefined();
  if (!error) return;
  expect(typeof error['code']).toBe('string');
  if (response.status === 400) expect(error['code']).toBe('VALIDATION_FAILED');
  expect(typeof error['message']).toBe('string');
  expect((error['message'] as string).length).toBeGreaterThan(0);
  expect(error['requestId']).toBe(response.headers.get('x-request-id'));
  if (field !== undefined) {
    expect((error['details'] as Record<string, unknown>)['field'], String(error['message'])).toBe(field);
    expect(error['message']).toMatch(new RegExp(`^${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  }
}

it('has a valid fixture for every command in the catalog, accepted by its own schema', () => {
  for (const command of COMMANDS) {
    const fixtureOf = FIXTURES[command.name];
    expect(fixtureOf, `a fixture for ${command.name}`).toBeDefined();
    if (!fixtureOf) continue;
    const fixture = fixtureOf(SAMPLE_CONTEXT);
    expect(pathParamNames(command.rest.path).sort()).toEqual(Object.keys(fixture.params).sort());
    const parsed = command.input.safeParse({ ...fixture.body, ...fixture.params });
    expect(parsed.success, `${command.name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
  }
});

it('every generated command case is one the catalog itself refuses', () => {
  for (const testCase of COMMAND_CASES) {
    if (!testCase.input) continue;
    const input = testCase.input(SAMPLE_CONTEXT);
    expect(
      () => parseInput(testCase.command.input, input),
      `${testCase.command.name}: ${testCase.title}`,
    ).toThrow(ValidationError);
  }
});

it('every decided case passes the catalog’s schema: it is the decision that must refuse it', () => {
  const decided = COMMAND_CASES.filter((testCase) => testCase.decided);
  expect(decided.length).toBeGreaterThan(0);
  for (const testCase of decided) {
    const parsed = testCase.command.input.safeParse(testCase.decided?.(SAMPLE_CONTEXT));
    expect(parsed.success, `${testCase.command.name}: ${testCase.title}`).toBe(true);
  }
});

it('walks into array items and nested objects: the transfers of a batch are checked one by one', () => {
  const titles = COMMAND_CASES.filter((testCase) => testCase.command.name === 'ledger_create_transfers').map(
    (testCase) => testCase.title,
  );
  for (const expected of [
    'transfers[0].amount: wrong type (number)',
    'transfers[0].amount: "-1" (not its pattern)',
    'transfers[0].debitAccount: missing',
    'transfers[0].pending.timeoutSeconds: below its minimum',
    'transfers[0].pending: unknown nested field',
    'transfers[0]: unknown nested field',
    'transfers: 1001 items',
    'transfers: empty',
    'transfers[0].reference: an unpaired surrogate',
    'transfers[0].metadata: a key with U+0000 inside',
    'transfers[0].metadata: a value with an unpaired surrogate',
  ]) {
    expect(titles).toContain(expected);
  }
});

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`bad input on ${backend}`, () => {
    let app: TestApp;
    let context: Context;
    let demoStream: string;

    const tokenFor = (audience: AnyCommand['audience']): string | undefined => {
      const kind = tokenKind(audience);
      return kind === 'admin' ? app.adminKey : kind === 'demo' ? app.demoKey : undefined;
    };

    /** Every event in the store, and the demo organization's stream as REST reads it. */
    async function snapshot(): Promise<{ events: number; demoStream: number }> {
      const store = app.server.runtime.store;
      if (!store.countEvents) throw new Error('the event store cannot count its events');
      const events = await store.countEvents();
      const stream = await app.request('GET', `/v1/audit/streams/${demoStream}?limit=500`, {
        token: app.demoKey,
      });
      expect(stream.status).toBe(200);
      expect(stream.body.nextRevision).toBeNull();
      return { events, demoStream: (stream.body.events as unknown[]).length };
    }

    async function listsNow(position: string): Promise<Record<string, unknown>> {
      const at = `consistentWith=${position}&limit=200`;
      const wallet = addressSegment(LEDGER.wallet);
      const [orgs, members, keys, organization, accounts, transfers, balance, history] = await Promise.all([
        app.request('GET', `/v1/organizations?${at}`, { token: app.adminKey }),
        app.request('GET', `/v1/members?${at}`, { token: app.demoKey }),
        app.request('GET', `/v1/api-keys?${at}`, { token: app.demoKey }),
        app.request('GET', `/v1/organization?consistentWith=${position}`, { token: app.demoKey }),
        app.request('GET', `/v1/ledger/accounts?${at}`, { token: app.demoKey }),
        app.request('GET', `/v1/ledger/transfers?${at}`, { token: app.demoKey }),
        app.request('GET', `/v1/ledger/accounts/${wallet}/balance?consistentWith=${position}`, {
          token: app.demoKey,
        }),
        app.request('GET', `/v1/ledger/accounts/${wallet}/history?${at}`, { token: app.demoKey }),
      ]);
      for (const answer of [orgs, members, keys, organization, accounts, transfers, balance, history])
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return {
        orgs: orgs.body,
        members: members.body,
        keys: keys.body,
        organization: organization.body,
        accounts: accounts.body,
        transfers: transfers.body,
        balance: balance.body,
        history: history.body,
      };
    }

    let before: { events: number; demoStream: number };
    let listsBefore: Record<string, unknown>;
    let positionBefore: string;

    beforeAll(async () => {
      app = await startTestApp(backend);
      context = { demoOrgId: app.demoOrgId };
      demoStream = `${app.demoOrgId}.organization-${app.demoOrgId}`;
      const stream = await app.request('GET', `/v1/audit/streams/${demoStream}?limit=500`, {
        token: app.demoKey,
      });
      positionBefore = (stream.body.events as { position: string }[]).at(-1)?.position ?? '0-0';
      // The demo organization's ledger, which the fixtures name (LEDGER).
      await openAccount(app, app.demoKey, LEDGER.float);
      await openAccount(app, app.demoKey, LEDGER.wallet, {
        type: 'liability',
        flags: { debitsMustNotExceedCredits: true },
      });
      await createTransfers(app, app.demoKey, [
        {
          transferId: LEDGER.posted,
          debitAccount: LEDGER.float,
          creditAccount: LEDGER.wallet,
          amount: '10.00',
        },
      ]);
      const ledgerWritten = await createTransfers(app, app.demoKey, [
        {
          transferId: LEDGER.pending,
          debitAccount: LEDGER.float,
          creditAccount: LEDGER.wallet,
          amount: '5.00',
          pending: { timeoutSeconds: 3600 },
        },
      ]);
      positionBefore = ledgerWritten.position ?? positionBefore;
      listsBefore = await listsNow(positionBefore);
      before = await snapshot();
    });

    afterAll(async () => {
      await app.close();
    });

    describe.each(COMMANDS.map((command) => ({ name: command.name, command })))('$name', ({ command }) => {
      const cases = COMMAND_CASES.filter((testCase) => testCase.command === command);
      it.each(cases.map((testCase) => ({ title: testCase.title, testCase })))(
        '$title → 4xx naming the field, nothing written',
        async ({ testCase }) => {
          const request = testCase.request(context);
          const token = tokenFor(command.audience);
          const response = await app.request(command.rest.method, request.path, {
            ...(token === undefined ? {} : { token }),
            ...(request.body === undefined ? {} : { body: request.body }),
            ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
            ...(request.headers === undefined ? {} : { headers: request.headers }),
          });
          expectError(response, testCase.statuses, testCase.field);
          expect(await snapshot()).toEqual(before);
        },
      );
    });

    describe.each(QUERIES.map((query) => ({ name: query.name, query })))('$name', ({ query }) => {
      const cases = QUERY_CASES.filter((testCase) => testCase.query === query);
      it.each(cases.map((testCase) => ({ title: testCase.title, testCase })))(
        '$title → 400 naming the parameter',
        async ({ testCase }) => {
          const token = tokenFor(query.audience);
          const response = await app.request('GET', testCase.path(context), {
            ...(token === undefined ? {} : { token }),
          });
          expectError(response, [400], testCase.field);
        },
      );
    });

    it('every error answers with the status its code has in the registry', async () => {
      // SPEC §3: "Errors share one registry of codes …, each mapped once to an HTTP status".
      const samples = COMMAND_CASES.filter(
        (testCase) =>
          testCase.command.name === 'create_member' || testCase.command.name.startsWith('ledger_'),
      );
      const registry: Record<string, { readonly status: number } | undefined> = ERRORS;
      const mismatches: string[] = [];
      for (const testCase of samples) {
        const request = testCase.request(context);
        const response = await app.request(testCase.command.rest.method, request.path, {
          token: app.demoKey,
          ...(request.body === undefined ? {} : { body: request.body }),
          ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
          ...(request.headers === undefined ? {} : { headers: request.headers }),
        });
        const code = (response.body as { error: { code: string } }).error.code;
        const expected = registry[code]?.status;
        if (expected !== response.status) {
          mismatches.push(
            `${testCase.title}: answered ${response.status} ${code}, registry says ${String(expected)}`,
          );
        }
      }
      expect(mismatches).toEqual([]);
    });

    it('wrote nothing at all: the store, the stream and every list are as they were', async () => {
      expect(await snapshot()).toEqual(before);
      expect(await listsNow(positionBefore)).toEqual(listsBefore);
    });

    it('the snapshot does see a write (the check above is not blind)', async () => {
      const created = await app.request('POST', '/v1/members', {
        token: app.demoKey,
        body: {
          email: 'after.all@example.com',
          name: 'After All',
          role: 'viewer',
          password: 'correct horse battery',
        },
      });
      expect(created.status).toBe(201);
      const after = await snapshot();
      expect(after).toEqual({ events: before.events + 1, demoStream: before.demoStream + 1 });
      const lists = await listsNow(created.body.position as string);
      expect((lists['members'] as { items: unknown[] }).items).toHaveLength(
        (listsBefore['members'] as { items: unknown[] }).items.length + 1,
      );
    });

    it('the ledger lists do see a ledger write (the check above is not blind to the ledger)', async () => {
      const written = await createTransfers(app, app.demoKey, [
        {
          transferId: 'bad-input-after-all',
          debitAccount: LEDGER.float,
          creditAccount: LEDGER.wallet,
          amount: '1.00',
        },
      ]);
      const lists = await listsNow(written.position ?? '');
      expect((lists['transfers'] as { items: unknown[] }).items).toHaveLength(
        (listsBefore['transfers'] as { items: unknown[] }).items.length + 1,
      );
      expect(lists['balance']).not.toEqual(listsBefore['balance']);
      expect(lists['history']).not.toEqual(listsBefore['history']);
    });
  });
}
