/**
 * Black-box conformance of the ledger (SPEC §4, with §1's isolation rule and §3's rules for bad
 * input) over real HTTP, on PGlite and on real PostgreSQL. Every expectation here comes from
 * SPEC.md, the README ("The ledger", "Commands, queries and the projector", "Limits") or the
 * OpenAPI document the server publishes — never from the implementation.
 *
 * Each `it` works on addresses and transfer ids of its own, so the tests of one backend share a
 * server without seeing each other's money.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const postgres = serviceGate('ledger black-box suite on PostgreSQL', probe);
const backends: { backend: Backend; available: boolean }[] = [
  { backend: 'pglite', available: true },
  { backend: 'postgres', available: postgres },
];

/** A decimal string: what every amount in an answer must be (SPEC §2: money as decimal strings). */
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;
/** A KES amount as the ledger writes it (scale 2; README: `"debitsPosted":"0.00"`). */
const KES_AMOUNT = /^-?(0|[1-9]\d*)\.\d{2}$/;
const MONEY_FIELDS = new Set([
  'amount',
  'postedAmount',
  'reversedAmount',
  'creditLimit',
  'debitsPosted',
  'creditsPosted',
  'debitsPending',
  'creditsPending',
  'posted',
  'available',
]);
const PASSWORD = 'correct horse battery staple';
/** A parsed JSON answer, read freely: the assertions check its shape. */
type Json = TestResponse['body'];
const OK_RESULTS = ['created', 'exists'];

type Balances = Record<
  'debitsPosted' | 'creditsPosted' | 'debitsPending' | 'creditsPending' | 'posted' | 'available',
  string
>;

interface AccountSpec {
  asset?: string;
  type?: string;
  scale?: number;
  flags?: Record<string, boolean>;
  creditLimit?: string;
}

interface Item {
  transferId: string;
  debitAccount: string;
  creditAccount: string;
  amount: unknown;
  code?: string;
  reference?: string;
  metadata?: Record<string, string>;
  pending?: { timeoutSeconds: number };
  asset?: string;
}

function show(answer: TestResponse): string {
  return `${answer.status} ${JSON.stringify(answer.body)}`;
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

/**
 * How long a test waits for the server's own sweep (every second) to expire a 1 s pending
 * transfer: far more than it needs, so a slow machine does not fail it.
 */
const EXPIRY_WAIT_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every money field anywhere in an answer is a decimal string, never a JSON number. */
function expectMoneyIsStrings(value: unknown, path = '$'): void {
  if (Array.isArray(value)) {
    value.forEach((entry, index) => {
      expectMoneyIsStrings(entry, `${path}[${index}]`);
    });
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (MONEY_FIELDS.has(key) && entry !== null) {
      expect(typeof entry, `${path}.${key} = ${JSON.stringify(entry)}`).toBe('string');
      expect(entry as string, `${path}.${key}`).toMatch(DECIMAL);
    } else {
      expectMoneyIsStrings(entry, `${path}.${key}`);
    }
  }
}

/**
 * A refusal of bad input that names the field (SPEC §3: "clear 400 / tool error naming the
 * field; nothing is written"). The batch endpoint documents per-transfer results, among them
 * VALIDATION_FAILED, so a per-item refusal that names the field is accepted too, as long as the
 * transfer was not created.
 */
function expectRefusedNaming(answer: TestResponse, field: RegExp, what: string): void {
  const body = answer.body;
  if (answer.status === 400) {
    expect(body?.error?.code, `${what}: ${show(answer)}`).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(body.error), `${what}: names the field`).toMatch(field);
    return;
  }
  expect(answer.status, `${what}: a refusal, got ${show(answer)}`).toBe(200);
  expect(body.created, `${what}: ${show(answer)}`).toBe(0);
  const result = body.results[0];
  expect(OK_RESULTS, `${what}: ${show(answer)}`).not.toContain(result.result);
  expect(`${result.result} ${result.message ?? ''}`, `${what}: names the field`).toMatch(field);
}

describe.each(backends)('ledger black-box conformance on $backend', ({ backend, available }) => {
  let app: TestApp;
  /** The last position any command answered: reads wait for it (read-your-writes). */
  let position: string | null = null;
  let serial = 0;
  const test = it.skipIf(!available);

  beforeAll(async () => {
    if (available) app = await startTestApp(backend);
  });
  afterAll(async () => {
    if (available) await app.close();
  });

  function unique(label: string): string {
    serial += 1;
    return `${label}${serial}`;
  }

  async function send(method: string, path: string, body?: unknown, token?: string): Promise<TestResponse> {
    const answer = await app.request(method, path, {
      token: token ?? app.demoKey,
      ...(body === undefined ? {} : { body }),
    });
    const written: unknown = answer.body?.position;
    if (typeof written === 'string') position = written;
    return answer;
  }

  async function sendRaw(path: string, rawBody: string): Promise<TestResponse> {
    return app.request('POST', path, {
      token: app.demoKey,
      rawBody,
      headers: { 'content-type': 'application/json' },
    });
  }

  async function expectStatus(
    method: string,
    path: string,
    body: unknown,
    status: number,
    token?: string,
  ): Promise<Json> {
    const answer = await send(method, path, body, token);
    expect(answer.status, `${method} ${path}: ${show(answer)}`).toBe(status);
    return answer.body;
  }

  function withConsistency(path: string): string {
    if (position === null) return path;
    return `${path}${path.includes('?') ? '&' : '?'}consistentWith=${position}`;
  }

  async function get(path: string, token?: string): Promise<TestResponse> {
    return app.request('GET', withConsistency(path), { token: token ?? app.demoKey });
  }

  async function read(path: string, token?: string): Promise<Json> {
    const answer = await get(path, token);
    expect(answer.status, `GET ${path}: ${show(answer)}`).toBe(200);
    expectMoneyIsStrings(answer.body);
    return answer.body;
  }

  async function open(address: string, spec: AccountSpec = {}, token?: string): Promise<void> {
    await expectStatus(
      'POST',
      '/v1/ledger/accounts',
      { address, asset: spec.asset ?? 'KES', type: spec.type ?? 'liability', ...spec },
      201,
      token,
    );
  }
  /**
   * A customer's wallet (by default one that cannot be overdrawn) and an asset account beside it,
   * both new: what most scenarios move money between.
   */
  async function walletAndFloat(
    label: string,
    walletSpec: AccountSpec = { flags: { debitsMustNotExceedCredits: true } },
  ): Promise<{ wallet: string; float: string }> {
    const wallet = unique(`${label}:wallet`);
    const float = unique(`${label}:float`);
    await open(wallet, walletSpec);
    await open(float, { type: 'asset' });
    return { wallet, float };
  }

  function item(
    transferId: string,
    debitAccount: string,
    creditAccount: string,
    amount: unknown,
    extra: Partial<Item> = {},
  ): Item {
    return { transferId, debitAccount, creditAccount, amount, ...extra };
  }

  async function transfers(items: Item[], linked?: boolean, token?: string): Promise<Json> {
    const body = await expectStatus(
      'POST',
      '/v1/ledger/transfers',
      linked === undefined ? { transfers: items } : { linked, transfers: items },
      200,
      token,
    );
    expect(body['results']).toHaveLength(items.length);
    expectMoneyIsStrings(body);
    return body;
  }

  async function one(entry: Item, token?: string): Promise<{ transferId: string; result: string }> {
    const body = await transfers([entry], undefined, token);
    return body.results[0];
  }

  async function fund(address: string, amount: string, asset = 'KES', token?: string): Promise<void> {
    const result = await one(item(unique('fund_'), `world:${asset}`, address, amount), token);
    expect(result.result).toBe('created');
  }

  async function balanceOf(address: string, token?: string): Promise<Balances> {
    const body = await read(`/v1/ledger/accounts/${seg(address)}/balance`, token);
    return body.balances as Balances;
  }

  async function transferOf(transferId: string): Promise<Json> {
    return read(`/v1/ledger/transfers/${seg(transferId)}`);
  }

  /** A write of its own, so reads after it have seen anything written before it. */
  async function barrier(): Promise<void> {
    await open(unique('barrier:b'));
  }

  async function snapshot(addresses: string[]): Promise<Record<string, Balances>> {
    await barrier();
    const out: Record<string, Balances> = {};
    for (const address of addresses) out[address] = await balanceOf(address);
    return out;
  }

  /** Nothing was written: every balance as before, and no transfer under any of the ids. */
  async function expectNothingWritten(before: Record<string, Balances>, ids: string[]): Promise<void> {
    await barrier();
    for (const [address, balances] of Object.entries(before)) {
      expect(await balanceOf(address), `balance of ${address}`).toEqual(balances);
    }
    for (const id of ids) {
      const answer = await get(`/v1/ledger/transfers/${seg(id)}`);
      expect(answer.status, `transfer ${id}: ${show(answer)}`).toBe(404);
    }
  }

  /** Every page of a list, following nextCursor. */
  async function allPages(
    path: string,
    token?: string,
    from: string | null = null,
  ): Promise<{ items: Json[]; pages: number }> {
    const items: Json[] = [];
    let cursor: string | null = from;
    let pages = 0;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await read(`${path}${cursor === null ? '' : `${sep}cursor=${seg(cursor)}`}`, token);
      items.push(...(page.items as unknown[]));
      cursor = page.nextCursor as string | null;
      pages += 1;
      expect(pages, `${path}: pagination does not end`).toBeLessThan(100);
    } while (cursor !== null);
    return { items, pages };
  }

  // ---------------------------------------------------------------------------------------
  // Amounts
  // ---------------------------------------------------------------------------------------

  test('refuses malformed amounts (zero, negative, exponent, NaN, spaces, JSON numbers) naming the field, writing nothing', async () => {
    const wallet = unique('amt:wallet');
    await open(wallet);
    await fund(wallet, '10.00');
    const bad: unknown[] = [
      '0',
      '0.00',
      '-1',
      '-1.00',
      '1e3',
      '1E3',
      'NaN',
      'Infinity',
      '-Infinity',
      ' 1.00',
      '1.00 ',
      '1 000',
      '1,00',
      '+1',
      '0x10',
      '',
      '.5',
      '1.',
      100,
      1.5,
      0,
      -1,
      null,
      true,
    ];
    const before = await snapshot([wallet, 'world:KES']);
    const ids: string[] = [];
    for (const amount of bad) {
      const id = unique('bad_amount_');
      ids.push(id);
      const answer = await send('POST', '/v1/ledger/transfers', {
        transfers: [item(id, 'world:KES', wallet, amount)],
      });
      expectRefusedNaming(answer, /amount/i, `amount ${JSON.stringify(amount)}`);
    }
    // A JSON number beyond 2^53 (it cannot even be read exactly as a number).
    for (const raw of ['9007199254740993', '1e30', '100000000000000000000000000000']) {
      const id = unique('bad_raw_');
      ids.push(id);
      const answer = await sendRaw(
        '/v1/ledger/transfers',
        `{"transfers":[{"transferId":"${id}","debitAccount":"world:KES","creditAccount":"${wallet}","amount":${raw}}]}`,
      );
      expectRefusedNaming(answer, /amount/i, `raw JSON number ${raw}`);
    }
    await expectNothingWritten(before, ids);
  });

  test('refuses amounts with more decimals than the asset scale, never rounding', async () => {
    const kes = unique('scale:kes');
    const jpy = unique('scale:jpy');
    const pts = unique('scale:pts');
    await open(kes);
    await open(jpy, { asset: 'JPY' });
    const ptsAsset = `PT${serial}`;
    await open(pts, { asset: ptsAsset, scale: 3 });
    const before = await snapshot([kes, jpy, pts]);
    const cases: [string, string, string][] = [
      [kes, 'KES', '0.001'],
      [kes, 'KES', '1.005'],
      [kes, 'KES', '10.999'],
      [jpy, 'JPY', '1.5'],
      [jpy, 'JPY', '0.1'],
      [pts, ptsAsset, '1.2345'],
      [pts, ptsAsset, '0.0001'],
    ];
    const ids: string[] = [];
    for (const [address, asset, amount] of cases) {
      const id = unique('scale_');
      ids.push(id);
      const answer = await send('POST', '/v1/ledger/transfers', {
        transfers: [item(id, `world:${asset}`, address, amount)],
      });
      expectRefusedNaming(answer, /amount|scale|decimal/i, `${amount} ${asset}`);
    }
    await expectNothingWritten(before, ids);
    // Within the scale: accepted exactly.
    await fund(kes, '1.5');
    await fund(jpy, '7', 'JPY');
    await fund(pts, '1.234', ptsAsset);
    expect((await balanceOf(kes)).creditsPosted).toBe('1.50');
    expect((await balanceOf(jpy)).creditsPosted).toBe('7');
    expect((await balanceOf(pts)).creditsPosted).toBe('1.234');
  });

  // SPEC §4: "an amount with more decimals than its asset's scale is rejected, never rounded";
  // amounts are decimal.js decimals, and "1.000" has no decimals past KES's two (decimal.js
  // counts 0): nothing is rounded, so it is taken as 1.00. The README says so.
  test('takes "1.000" for KES as exactly 1.00: zeros past the scale round nothing', async () => {
    const kes = unique('scale:zeros');
    await open(kes);
    const id = unique('zeros_');
    const answer = await send('POST', '/v1/ledger/transfers', {
      transfers: [item(id, 'world:KES', kes, '1.000')],
    });
    expect(answer.status, show(answer)).toBe(200);
    expect(answer.body.results[0].result).toBe('created');
    expect((await balanceOf(kes)).creditsPosted).toBe('1.00');
  });

  test('bounds amounts at 10^20: accepts 10^20, refuses anything above it', async () => {
    const big = unique('bound:big');
    await open(big);
    const before = await snapshot([big]);
    const ids: string[] = [];
    for (const amount of [
      '100000000000000000000.01',
      '100000000000000000001',
      `1${'0'.repeat(30)}`,
      `1${'0'.repeat(60)}`,
    ]) {
      const id = unique('bound_');
      ids.push(id);
      const answer = await send('POST', '/v1/ledger/transfers', {
        transfers: [item(id, 'world:KES', big, amount)],
      });
      expectRefusedNaming(answer, /amount/i, `amount ${amount}`);
    }
    await expectNothingWritten(before, ids);
    await fund(big, '100000000000000000000');
    expect((await balanceOf(big)).creditsPosted).toBe('100000000000000000000.00');
  });

  test('refuses bad amounts when posting, reversing and setting a credit limit', async () => {
    const { wallet, float } = await walletAndFloat('amt2');
    await fund(wallet, '100.00');
    const hold = unique('amt2_hold_');
    const posted = unique('amt2_posted_');
    expect(
      (await one(item(hold, wallet, float, '40.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    expect((await one(item(posted, wallet, float, '10.00'))).result).toBe('created');
    const before = await snapshot([wallet, float]);
    for (const amount of ['0', '-1', '0.001', '1e1', ' 5', 5, '40.01']) {
      const answer = await send('POST', `/v1/ledger/transfers/${hold}/post`, { amount });
      expect(answer.status, `post ${JSON.stringify(amount)}: ${show(answer)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      if (amount !== '40.01') {
        expect(answer.status, show(answer)).toBe(400);
        expect(JSON.stringify(answer.body.error)).toMatch(/amount/i);
      }
    }
    const reversalIds: string[] = [];
    for (const amount of ['0', '-1', '0.001', 'NaN', 5]) {
      const reversalId = unique('amt2_rev_');
      reversalIds.push(reversalId);
      const answer = await send('POST', `/v1/ledger/transfers/${posted}/reverse`, { reversalId, amount });
      expect(answer.status, `reverse ${JSON.stringify(amount)}: ${show(answer)}`).toBe(400);
      expect(JSON.stringify(answer.body.error)).toMatch(/amount/i);
    }
    for (const creditLimit of ['-1', '1e3', 'abc', ' 5', 5]) {
      const answer = await send('POST', `/v1/ledger/accounts/${seg(wallet)}/limit`, { creditLimit });
      expect(answer.status, `limit ${JSON.stringify(creditLimit)}: ${show(answer)}`).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(answer.body.error)).toMatch(/creditLimit/);
    }
    // A credit limit is an amount of the account's asset: its scale and bound hold too.
    for (const creditLimit of ['0.001', '1.005', `1${'0'.repeat(30)}`]) {
      const answer = await send('POST', `/v1/ledger/accounts/${seg(wallet)}/limit`, { creditLimit });
      expect(answer.status, `limit ${creditLimit}: ${show(answer)}`).toBe(400);
      expect(JSON.stringify(answer.body.error)).toMatch(/creditLimit/);
      const limited = unique('amt2:limited');
      const opened = await send('POST', '/v1/ledger/accounts', {
        address: limited,
        asset: 'KES',
        type: 'liability',
        flags: { debitsMustNotExceedCredits: true },
        creditLimit,
      });
      expect(opened.status, `open with limit ${creditLimit}: ${show(opened)}`).toBe(400);
      expect(JSON.stringify(opened.body.error)).toMatch(/creditLimit/);
      expect((await get(`/v1/ledger/accounts/${seg(limited)}/balance`)).status).toBe(404);
    }
    // A pending timeout is a whole number of seconds, at least one.
    for (const timeoutSeconds of [0, -1, 1.5, '60', null]) {
      const id = unique('amt2_timeout_');
      reversalIds.push(id);
      const answer = await send('POST', '/v1/ledger/transfers', {
        transfers: [{ ...item(id, wallet, float, '1.00'), pending: { timeoutSeconds } }],
      });
      expect(answer.status, `timeoutSeconds ${JSON.stringify(timeoutSeconds)}: ${show(answer)}`).toBe(400);
      expect(JSON.stringify(answer.body.error)).toMatch(/timeoutSeconds/);
    }
    await expectNothingWritten(before, reversalIds);
    expect(await transferOf(hold)).toMatchObject({ status: 'pending', postedAmount: '0.00' });
    expect(await transferOf(posted)).toMatchObject({ status: 'posted', reversedAmount: '0.00' });
  });

  // ---------------------------------------------------------------------------------------
  // Transfer ids
  // ---------------------------------------------------------------------------------------

  test('a transfer id answers its original for the same body and ID_REUSED for another, alone and in batches', async () => {
    const wallet = unique('idem:wallet');
    await open(wallet);
    const id = unique('idem_');
    const first = item(id, 'world:KES', wallet, '25.00', { code: 'payment', metadata: { note: 'a' } });
    expect((await one(first)).result).toBe('created');
    const original = await transferOf(id);

    // Same id, same body: answers as the original, posts nothing more.
    const retry = await one(first);
    expect(OK_RESULTS).toContain(retry.result);
    expect(await transferOf(id)).toEqual(original);
    expect((await balanceOf(wallet)).creditsPosted).toBe('25.00');

    // Same id, a different body: ID_REUSED, whatever differs.
    const variants: Item[] = [
      { ...first, amount: '26.00' },
      { ...first, metadata: { note: 'b' } },
      { ...first, code: 'fee' },
      { ...first, pending: { timeoutSeconds: 60 } },
      { ...first, reference: 'ref-x' },
    ];
    for (const variant of variants) {
      const result = await one(variant);
      expect(result.result, JSON.stringify(variant)).toBe('ID_REUSED');
    }

    // In an independent batch: the retry is harmless, the reuse refused, the new one created.
    const fresh = unique('idem_fresh_');
    const reused = unique('idem_new_');
    const batch = await transfers([
      first,
      { ...first, amount: '99.00' },
      item(fresh, 'world:KES', wallet, '1.00'),
    ]);
    expect(OK_RESULTS).toContain(batch.results[0].result);
    expect(batch.results[1].result).toBe('ID_REUSED');
    expect(batch.results[2].result).toBe('created');

    // In a linked batch: a reused id fails the whole batch.
    const linked = await transfers(
      [{ ...first, amount: '2.00' }, item(reused, 'world:KES', wallet, '3.00')],
      true,
    );
    expect(linked.results[0].result).toBe('ID_REUSED');
    expect(linked.results[1].result).not.toBe('created');
    expect(linked.created).toBe(0);

    // Retrying the whole batch again posts nothing twice.
    const again = await transfers([first, item(fresh, 'world:KES', wallet, '1.00')]);
    expect(again.results.map((r: { result: string }) => OK_RESULTS.includes(r.result))).toEqual([true, true]);
    await barrier();
    expect((await balanceOf(wallet)).creditsPosted).toBe('26.00');
    expect((await get(`/v1/ledger/transfers/${reused}`)).status).toBe(404);
    expect(await transferOf(id)).toEqual(original);
  });

  test('a transfer id is unique forever: after a void, as a reversal id, and twice in one batch', async () => {
    const { wallet, float } = await walletAndFloat('idem2', {});
    await fund(wallet, '50.00');
    // A voided pending transfer keeps its id.
    const held = unique('idem2_hold_');
    const pendingItem = item(held, wallet, float, '5.00', { pending: { timeoutSeconds: 3600 } });
    expect((await one(pendingItem)).result).toBe('created');
    await expectStatus('POST', `/v1/ledger/transfers/${held}/void`, {}, 200);
    expect(OK_RESULTS).toContain((await one(pendingItem)).result);
    expect(await transferOf(held)).toMatchObject({ status: 'voided' });
    expect((await balanceOf(wallet)).debitsPending).toBe('0.00');

    // A reversal id that is an existing transfer id is refused, and a reversal's id is taken.
    const paid = unique('idem2_paid_');
    expect((await one(item(paid, wallet, float, '4.00'))).result).toBe('created');
    const clash = await send('POST', `/v1/ledger/transfers/${paid}/reverse`, { reversalId: held });
    expect(clash.status, show(clash)).toBeGreaterThanOrEqual(400);
    expect(clash.status).toBeLessThan(500);
    const reversalId = unique('idem2_rev_');
    await expectStatus('POST', `/v1/ledger/transfers/${paid}/reverse`, { reversalId }, 201);
    expect((await one(item(reversalId, wallet, float, '1.00'))).result).toBe('ID_REUSED');

    // The same id twice in one batch posts once.
    const twice = unique('idem2_twice_');
    const dup = item(twice, 'world:KES', wallet, '2.00');
    const batch = await transfers([dup, dup]);
    expect(batch.results[0].result).toBe('created');
    expect(batch.results[1].result).not.toBe('created');
    await barrier();
    expect(await balanceOf(wallet)).toMatchObject({
      creditsPosted: '56.00',
      debitsPosted: '4.00',
      debitsPending: '0.00',
    });
  });

  // ---------------------------------------------------------------------------------------
  // Two-phase
  // ---------------------------------------------------------------------------------------

  test('pending transfers: reserve, post part, post all, void, and refusals after either', async () => {
    const { wallet, float } = await walletAndFloat('two');
    await fund(wallet, '100.00');

    // Reserve 60: pending on both sides, available drops, posted does not.
    const a = unique('two_a_');
    expect((await one(item(a, wallet, float, '60.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    expect(await balanceOf(wallet)).toEqual({
      debitsPosted: '0.00',
      creditsPosted: '100.00',
      debitsPending: '60.00',
      creditsPending: '0.00',
      posted: '100.00',
      available: '40.00',
    });
    expect(await balanceOf(float)).toMatchObject({ creditsPending: '60.00', creditsPosted: '0.00' });
    expect(await transferOf(a)).toMatchObject({ status: 'pending', pending: true, amount: '60.00' });
    expect((await transferOf(a)).timeoutAt).not.toBeNull();

    // More than pending: refused, still pending.
    const over = await send('POST', `/v1/ledger/transfers/${a}/post`, { amount: '60.01' });
    expect(over.status, show(over)).toBeGreaterThanOrEqual(400);
    expect(over.status).toBeLessThan(500);
    await barrier();
    expect(await transferOf(a)).toMatchObject({ status: 'pending', postedAmount: '0.00' });

    // Post 50 of it: 50 moves, the other 10 is released.
    const partial = await expectStatus('POST', `/v1/ledger/transfers/${a}/post`, { amount: '50.00' }, 200);
    expect(partial).toMatchObject({ transferId: a, amount: '50.00' });
    expect(await transferOf(a)).toMatchObject({ status: 'posted', postedAmount: '50.00', amount: '60.00' });
    expect(await balanceOf(wallet)).toEqual({
      debitsPosted: '50.00',
      creditsPosted: '100.00',
      debitsPending: '0.00',
      creditsPending: '0.00',
      posted: '50.00',
      available: '50.00',
    });
    expect(await balanceOf(float)).toMatchObject({ creditsPosted: '50.00', creditsPending: '0.00' });

    // Once posted: posting again or voiding is refused, nothing moves.
    const afterPost = await snapshot([wallet, float]);
    for (const [action, body] of [
      ['post', {}],
      ['post', { amount: '5.00' }],
      ['void', {}],
    ] as const) {
      const answer = await send('POST', `/v1/ledger/transfers/${a}/${action}`, body);
      expect(answer.status, `${action} after post: ${show(answer)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.status).not.toBe(404);
    }
    await expectNothingWritten(afterPost, []);

    // Post all (no amount).
    const b = unique('two_b_');
    expect((await one(item(b, wallet, float, '20.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    const full = await expectStatus('POST', `/v1/ledger/transfers/${b}/post`, {}, 200);
    expect(full).toMatchObject({ transferId: b, amount: '20.00' });
    expect(await transferOf(b)).toMatchObject({ status: 'posted', postedAmount: '20.00' });

    // Void: the reservation is released, nothing posts; posting or voiding again is refused.
    const c = unique('two_c_');
    expect((await one(item(c, wallet, float, '30.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    expect((await balanceOf(wallet)).available).toBe('0.00');
    await expectStatus('POST', `/v1/ledger/transfers/${c}/void`, {}, 200);
    expect(await transferOf(c)).toMatchObject({ status: 'voided', postedAmount: '0.00' });
    const afterVoid = await snapshot([wallet, float]);
    expect(afterVoid[wallet]).toEqual({
      debitsPosted: '70.00',
      creditsPosted: '100.00',
      debitsPending: '0.00',
      creditsPending: '0.00',
      posted: '30.00',
      available: '30.00',
    });
    for (const [action, body] of [
      ['post', {}],
      ['post', { amount: '1.00' }],
      ['void', {}],
    ] as const) {
      const answer = await send('POST', `/v1/ledger/transfers/${c}/${action}`, body);
      expect(answer.status, `${action} after void: ${show(answer)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.status).not.toBe(404);
    }
    await expectNothingWritten(afterVoid, []);

    // Posting or voiding a transfer that was never pending is refused; a missing one is 404.
    const plain = unique('two_plain_');
    expect((await one(item(plain, wallet, float, '1.00'))).result).toBe('created');
    for (const action of ['post', 'void']) {
      const answer = await send('POST', `/v1/ledger/transfers/${plain}/${action}`, {});
      expect(answer.status, show(answer)).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      const missing = await send('POST', `/v1/ledger/transfers/${unique('nope_')}/${action}`, {});
      expect(missing.status, show(missing)).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
    }
  });

  test('a pending transfer expires by itself after its timeout and releases what it held', async () => {
    const { wallet, float } = await walletAndFloat('exp');
    await fund(wallet, '10.00');
    const held = unique('exp_hold_');
    expect((await one(item(held, wallet, float, '8.00', { pending: { timeoutSeconds: 1 } }))).result).toBe(
      'created',
    );
    expect((await balanceOf(wallet)).available).toBe('2.00');
    // README: "Pending transfers past their timeout are expired automatically (every second)".
    const deadline = Date.now() + EXPIRY_WAIT_MS;
    let status = 'pending';
    while (Date.now() < deadline) {
      const answer = await app.request('GET', `/v1/ledger/transfers/${held}`, { token: app.demoKey });
      status = answer.body?.status as string;
      if (status === 'expired') break;
      await sleep(200);
    }
    expect(status).toBe('expired');
    await barrier();
    expect(await balanceOf(wallet)).toEqual({
      debitsPosted: '0.00',
      creditsPosted: '10.00',
      debitsPending: '0.00',
      creditsPending: '0.00',
      posted: '10.00',
      available: '10.00',
    });
    expect((await balanceOf(float)).creditsPending).toBe('0.00');
    const before = await snapshot([wallet, float]);
    const late = await send('POST', `/v1/ledger/transfers/${held}/post`, {});
    expect(late.status, show(late)).toBe(409);
    const lateVoid = await send('POST', `/v1/ledger/transfers/${held}/void`, {});
    expect(lateVoid.status, show(lateVoid)).toBeGreaterThanOrEqual(400);
    expect(lateVoid.status).toBeLessThan(500);
    await expectNothingWritten(before, []);
    const expired = await read(`/v1/ledger/transfers?status=expired&account=${seg(wallet)}`);
    expect(expired.items.map((t: { transferId: string }) => t.transferId)).toEqual([held]);
  });

  test('a pending transfer past its timeout cannot be posted, whether or not the sweep has run', async () => {
    const wallet = unique('tmo:wallet');
    await open(wallet);
    await fund(wallet, '10.00');
    const holds = [unique('tmo_a_'), unique('tmo_b_'), unique('tmo_c_')];
    for (const id of holds) {
      expect(
        (await one(item(id, wallet, 'world:KES', '1.00', { pending: { timeoutSeconds: 1 } }))).result,
      ).toBe('created');
    }
    for (const id of holds) {
      const { timeoutAt } = (await transferOf(id)) as { timeoutAt: string };
      const wait = Date.parse(timeoutAt) + 20 - Date.now();
      if (wait > 0) await sleep(wait);
      const answer = await send('POST', `/v1/ledger/transfers/${id}/post`, {});
      expect(answer.status, `${id} posted after its timeout: ${show(answer)}`).toBe(409);
    }
    await barrier();
    expect(await balanceOf(wallet)).toMatchObject({ debitsPosted: '0.00', posted: '10.00' });
  });

  // The published OpenAPI description of ledger_post_pending says "Refused once it has timed out
  // (PENDING_EXPIRED)": so it is, before the sweep expires it and after (it answered
  // INVALID_STATE once swept, until this suite found it).
  test('posting an expired pending transfer answers the documented PENDING_EXPIRED', async () => {
    const wallet = unique('exp2:wallet');
    await open(wallet);
    await fund(wallet, '10.00');
    const held = unique('exp2_hold_');
    expect(
      (await one(item(held, wallet, 'world:KES', '8.00', { pending: { timeoutSeconds: 1 } }))).result,
    ).toBe('created');
    const deadline = Date.now() + EXPIRY_WAIT_MS;
    let status = 'pending';
    while (Date.now() < deadline) {
      const answer = await app.request('GET', `/v1/ledger/transfers/${held}`, { token: app.demoKey });
      status = answer.body?.status as string;
      if (status === 'expired') break;
      await sleep(200);
    }
    // Swept: the answers below are about an expired transfer, not one merely past its timeout.
    expect(status).toBe('expired');
    const late = await send('POST', `/v1/ledger/transfers/${held}/post`, {});
    expect(late.status, show(late)).toBe(409);
    expect(late.body.error.code).toBe('PENDING_EXPIRED');
    const lateVoid = await send('POST', `/v1/ledger/transfers/${held}/void`, {});
    expect(lateVoid.status, show(lateVoid)).toBe(409);
    expect(lateVoid.body.error.code).toBe('PENDING_EXPIRED');
  });

  // ---------------------------------------------------------------------------------------
  // Bounds: flags and credit limits, pending included
  // ---------------------------------------------------------------------------------------

  test('debits_must_not_exceed_credits counts pending amounts', async () => {
    const { wallet, float } = await walletAndFloat('flag');
    await fund(wallet, '100.00');
    const hold1 = unique('flag_h1_');
    const hold2 = unique('flag_h2_');
    const spend = unique('flag_spend_');
    expect(
      (await one(item(hold1, wallet, float, '70.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    const before = await snapshot([wallet, float]);
    // Two payouts cannot both spend the same float.
    const second = await one(item(hold2, wallet, float, '40.00', { pending: { timeoutSeconds: 3600 } }));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(second.result);
    const third = await one(item(spend, wallet, float, '30.01'));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(third.result);
    await expectNothingWritten(before, [hold2, spend]);
    // Exactly up to the bound is fine.
    expect((await one(item(unique('flag_exact_'), wallet, float, '30.00'))).result).toBe('created');
    expect((await balanceOf(wallet)).available).toBe('0.00');
    // Voiding the reservation frees it.
    await expectStatus('POST', `/v1/ledger/transfers/${hold1}/void`, {}, 200);
    expect((await one(item(unique('flag_after_'), wallet, float, '70.00'))).result).toBe('created');
    const last = await one(item(unique('flag_over_'), wallet, float, '0.01'));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(last.result);
    expect(await balanceOf(wallet)).toMatchObject({ posted: '0.00', available: '0.00' });
    // Money still pending on its way in cannot be spent yet.
    const incoming = unique('flag_incoming_');
    expect(
      (await one(item(incoming, 'world:KES', wallet, '10.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    const early = await one(item(unique('flag_early_'), wallet, float, '5.00'));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(early.result);
    await expectStatus('POST', `/v1/ledger/transfers/${incoming}/post`, {}, 200);
    expect((await one(item(unique('flag_late_'), wallet, float, '5.00'))).result).toBe('created');
  });

  test('credits_must_not_exceed_debits counts pending amounts', async () => {
    const bank = unique('flag2:bank');
    await open(bank, { type: 'asset', flags: { creditsMustNotExceedDebits: true } });
    // Debit it 100 (money arrives at the bank), then it may be credited up to 100.
    expect((await one(item(unique('flag2_in_'), bank, 'world:KES', '100.00'))).result).toBe('created');
    const hold = unique('flag2_hold_');
    expect(
      (await one(item(hold, 'world:KES', bank, '80.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    const before = await snapshot([bank]);
    const tooMuch = unique('flag2_over_');
    const over = await one(item(tooMuch, 'world:KES', bank, '20.01'));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(over.result);
    await expectNothingWritten(before, [tooMuch]);
    expect((await one(item(unique('flag2_exact_'), 'world:KES', bank, '20.00'))).result).toBe('created');
    await expectStatus('POST', `/v1/ledger/transfers/${hold}/void`, {}, 200);
    expect((await one(item(unique('flag2_more_'), 'world:KES', bank, '80.00'))).result).toBe('created');
    const overAgain = await one(item(unique('flag2_over2_'), 'world:KES', bank, '0.01'));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(overAgain.result);
    expect(await balanceOf(bank)).toMatchObject({
      debitsPosted: '100.00',
      creditsPosted: '100.00',
      creditsPending: '0.00',
    });
  });

  test('a credit limit extends the bound, counts pending amounts, and changes by command', async () => {
    const { wallet, float } = await walletAndFloat('limit', {
      flags: { debitsMustNotExceedCredits: true },
      creditLimit: '50.00',
    });
    await fund(wallet, '100.00');
    const listed = await read(`/v1/ledger/accounts?prefix=${seg(wallet)}`);
    expect(listed.items[0]).toMatchObject({ address: wallet, creditLimit: '50.00' });

    const hold = unique('limit_hold_');
    expect(
      (await one(item(hold, wallet, float, '120.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    const before = await snapshot([wallet]);
    const over = unique('limit_over_');
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(
      (await one(item(over, wallet, float, '30.01'))).result,
    );
    await expectNothingWritten(before, [over]);
    expect((await one(item(unique('limit_exact_'), wallet, float, '30.00'))).result).toBe('created');

    // Raise the limit by command: more may be spent.
    const raised = await expectStatus(
      'POST',
      `/v1/ledger/accounts/${seg(wallet)}/limit`,
      { creditLimit: '100.00' },
      200,
    );
    expect(typeof raised['position']).toBe('string');
    expect((await read(`/v1/ledger/accounts?prefix=${seg(wallet)}`)).items[0].creditLimit).toBe('100.00');
    expect((await one(item(unique('limit_more_'), wallet, float, '50.00'))).result).toBe('created');
    const over2 = await one(item(unique('limit_over2_'), wallet, float, '0.01'));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(over2.result);
    // Releasing the reservation frees what it held against the limit.
    await expectStatus('POST', `/v1/ledger/transfers/${hold}/void`, {}, 200);
    expect(await balanceOf(wallet)).toMatchObject({
      debitsPosted: '80.00',
      creditsPosted: '100.00',
      debitsPending: '0.00',
    });
    // Removing the limit (null) puts the plain bound back.
    await expectStatus('POST', `/v1/ledger/accounts/${seg(wallet)}/limit`, { creditLimit: null }, 200);
    expect((await read(`/v1/ledger/accounts?prefix=${seg(wallet)}`)).items[0].creditLimit).toBeNull();
    const over3 = await one(item(unique('limit_over3_'), wallet, float, '20.01'));
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(over3.result);
    expect((await one(item(unique('limit_last_'), wallet, float, '20.00'))).result).toBe('created');
    // A limit on a missing account is 404.
    const missing = await send('POST', `/v1/ledger/accounts/${seg(unique('limit:missing'))}/limit`, {
      creditLimit: '1.00',
    });
    expect(missing.status, show(missing)).toBe(404);
  });

  test('concurrent payouts cannot both spend the same float; concurrent refunds never exceed the original', async () => {
    const { wallet, float } = await walletAndFloat('race');
    await fund(wallet, '100.00');
    // Ten reservations of 20.00 at once against 100.00: exactly five fit.
    const holds = Array.from({ length: 10 }, () => unique('race_hold_'));
    const answers = await Promise.all(
      holds.map((id) =>
        send('POST', '/v1/ledger/transfers', {
          transfers: [item(id, wallet, float, '20.00', { pending: { timeoutSeconds: 3600 } })],
        }),
      ),
    );
    const results = answers.map((answer) => {
      expect(answer.status, show(answer)).toBe(200);
      return answer.body.results[0].result as string;
    });
    expect(results.filter((r) => r === 'created')).toHaveLength(5);
    await barrier();
    expect(await balanceOf(wallet)).toMatchObject({ debitsPending: '100.00', available: '0.00' });
    // The same transfer id sent ten times at once is written once.
    const same = unique('race_same_');
    const copies = await Promise.all(
      Array.from({ length: 10 }, () =>
        send('POST', '/v1/ledger/transfers', { transfers: [item(same, 'world:KES', wallet, '7.00')] }),
      ),
    );
    const copyResults = copies.map((answer) => answer.body.results[0].result as string);
    expect(copyResults.filter((r) => r === 'created')).toHaveLength(1);
    expect(copyResults.every((r) => OK_RESULTS.includes(r))).toBe(true);
    await barrier();
    expect((await balanceOf(wallet)).creditsPosted).toBe('107.00');
    // Five refunds of 30.00 at once against a payment of 100.00: three fit.
    const merchant = unique('race:merchant');
    await open(merchant);
    const pay = unique('race_pay_');
    expect((await one(item(pay, 'world:KES', merchant, '100.00'))).result).toBe('created');
    const refunds = await Promise.all(
      Array.from({ length: 5 }, () =>
        send('POST', `/v1/ledger/transfers/${pay}/reverse`, {
          reversalId: unique('race_ref_'),
          amount: '30.00',
        }),
      ),
    );
    expect(refunds.filter((answer) => answer.status === 201)).toHaveLength(3);
    for (const answer of refunds) expect([201, 400, 409, 422], show(answer)).toContain(answer.status);
    await barrier();
    expect((await transferOf(pay)).reversedAmount).toBe('90.00');
    expect((await balanceOf(merchant)).debitsPosted).toBe('90.00');
  });

  // ---------------------------------------------------------------------------------------
  // Batches
  // ---------------------------------------------------------------------------------------

  test('a linked batch commits all or none, with a result code for each transfer', async () => {
    const wallet = unique('link:wallet');
    const fees = unique('link:fees');
    const float = unique('link:float');
    const usd = unique('link:usd');
    await open(wallet, { flags: { debitsMustNotExceedCredits: true } });
    await open(fees, { type: 'revenue' });
    await open(float, { type: 'asset' });
    await open(usd, { asset: 'USD' });
    await fund(wallet, '10.00');
    const before = await snapshot([wallet, fees, float, usd]);
    const ids = [unique('link_a_'), unique('link_b_'), unique('link_c_')];
    // The middle one overdraws the wallet: none is written, every item has its own code.
    const failed = await transfers(
      [
        item(ids[0]!, wallet, fees, '1.00', { code: 'fee' }),
        item(ids[1]!, wallet, float, '50.00', { code: 'payout' }),
        item(ids[2]!, 'world:USD', usd, '5.00'),
      ],
      true,
    );
    expect(failed.created).toBe(0);
    expect(failed.results.map((r: { transferId: string }) => r.transferId)).toEqual(ids);
    expect(['INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED']).toContain(failed.results[1].result);
    expect(failed.results[0].result).toBe('LINKED_EVENT_FAILED');
    expect(failed.results[2].result).toBe('LINKED_EVENT_FAILED');
    await expectNothingWritten(before, ids);

    // A missing account in a linked batch: the same.
    const missingIds = [unique('link_m1_'), unique('link_m2_')];
    const missing = await transfers(
      [
        item(missingIds[0]!, wallet, fees, '1.00'),
        item(missingIds[1]!, wallet, unique('link:nowhere'), '1.00'),
      ],
      true,
    );
    expect(missing.results.map((r: { result: string }) => r.result)).toEqual([
      'LINKED_EVENT_FAILED',
      'NOT_FOUND',
    ]);
    await expectNothingWritten(before, missingIds);

    // Cross-asset, multi-leg, all valid: all of it.
    const ok = await transfers(
      [
        item(ids[0]!, wallet, fees, '1.00', { code: 'fee' }),
        item(ids[1]!, wallet, float, '9.00', { code: 'payout' }),
        item(ids[2]!, 'world:USD', usd, '5.00'),
      ],
      true,
    );
    expect(ok.created).toBe(3);
    expect(ok.results.map((r: { result: string }) => r.result)).toEqual(['created', 'created', 'created']);
    await barrier();
    expect(await balanceOf(wallet)).toMatchObject({ debitsPosted: '10.00', posted: '0.00' });
    expect((await balanceOf(fees)).creditsPosted).toBe('1.00');
    expect((await balanceOf(usd)).creditsPosted).toBe('5.00');
    // Within a linked batch a later leg may spend what an earlier one brought in.
    const chain = await transfers(
      [
        item(unique('link_in_'), 'world:KES', wallet, '3.00'),
        item(unique('link_out_'), wallet, float, '3.00'),
      ],
      true,
    );
    expect(chain.created).toBe(2);
  });

  test('an independent batch writes what it can, with a result for each transfer', async () => {
    const wallet = unique('ind:wallet');
    const float = unique('ind:float');
    const usd = unique('ind:usd');
    await open(wallet, { flags: { debitsMustNotExceedCredits: true } });
    await open(float, { type: 'asset' });
    await open(usd, { asset: 'USD' });
    await fund(wallet, '10.00');
    const ids = [unique('ind_a_'), unique('ind_b_'), unique('ind_c_'), unique('ind_d_'), unique('ind_e_')];
    const batch = await transfers(
      [
        item(ids[0]!, wallet, float, '4.00'),
        item(ids[1]!, wallet, float, '7.00'), // overdraws after the first
        item(ids[2]!, wallet, usd, '1.00'), // asset mismatch
        item(ids[3]!, wallet, unique('ind:nowhere'), '1.00'), // missing account
        item(ids[4]!, wallet, float, '6.00'), // exactly what remains
      ],
      false,
    );
    expect(batch.created).toBe(2);
    expect(batch.results.map((r: { result: string }) => r.result)).toEqual([
      'created',
      expect.stringMatching(/^(INSUFFICIENT_FUNDS|LIMIT_EXCEEDED)$/),
      'ASSET_MISMATCH',
      'NOT_FOUND',
      'created',
    ]);
    for (const r of batch.results.slice(1, 4)) expect(r.message).toEqual(expect.any(String));
    await barrier();
    expect(await balanceOf(wallet)).toMatchObject({ debitsPosted: '10.00', posted: '0.00' });
    for (const id of [ids[1]!, ids[2]!, ids[3]!]) {
      expect((await get(`/v1/ledger/transfers/${id}`)).status).toBe(404);
    }
  });

  test('a batch holds 1 to 1,000 transfers: more or none is refused whole', async () => {
    const wallet = unique('size:wallet');
    await open(wallet);
    const make = (n: number, label: string): Item[] =>
      Array.from({ length: n }, (_, i) => item(`${label}${i}`, 'world:KES', wallet, '0.01'));
    const before = await snapshot([wallet]);
    const tooMany = make(1001, unique('size_over_'));
    const answer = await send('POST', '/v1/ledger/transfers', { transfers: tooMany });
    expect(answer.status, show(answer)).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(answer.body.error)).toMatch(/transfers/);
    const none = await send('POST', '/v1/ledger/transfers', { transfers: [] });
    expect(none.status, show(none)).toBe(400);
    expect(JSON.stringify(none.body.error)).toMatch(/transfers/);
    await expectNothingWritten(before, [tooMany[0]!.transferId, tooMany[1000]!.transferId]);
    const full = await transfers(make(1000, unique('size_ok_')), true);
    expect(full.created).toBe(1000);
    expect((await balanceOf(wallet)).creditsPosted).toBe('10.00');
  });

  // ---------------------------------------------------------------------------------------
  // Reversals
  // ---------------------------------------------------------------------------------------

  test('reverse_transfer posts the exact opposite, linked to the original, once', async () => {
    const wallet = unique('rev:wallet');
    const fees = unique('rev:fees');
    await open(wallet, { flags: { debitsMustNotExceedCredits: true } });
    await open(fees, { type: 'revenue' });
    await fund(wallet, '10.00');
    const fee = unique('rev_fee_');
    expect((await one(item(fee, wallet, fees, '2.50', { code: 'fee' }))).result).toBe('created');
    const reversalId = unique('rev_back_');
    const reversed = await expectStatus('POST', `/v1/ledger/transfers/${fee}/reverse`, { reversalId }, 201);
    expect(reversed).toMatchObject({ transferId: reversalId, amount: '2.50' });
    expectMoneyIsStrings(reversed);
    expect(await transferOf(reversalId)).toMatchObject({
      transferId: reversalId,
      debitAccount: fees,
      creditAccount: wallet,
      amount: '2.50',
      status: 'posted',
      reversalOf: fee,
      asset: 'KES',
    });
    expect(await transferOf(fee)).toMatchObject({ reversedAmount: '2.50', status: 'posted' });
    expect(await balanceOf(wallet)).toMatchObject({
      debitsPosted: '2.50',
      creditsPosted: '12.50',
      posted: '10.00',
    });
    expect(await balanceOf(fees)).toMatchObject({
      debitsPosted: '2.50',
      creditsPosted: '2.50',
      posted: '0.00',
    });
    // A second reversal, whole or partial: ALREADY_REVERSED, nothing written.
    const before = await snapshot([wallet, fees]);
    const second = unique('rev_again_');
    const again = await send('POST', `/v1/ledger/transfers/${fee}/reverse`, { reversalId: second });
    expect(again.status, show(again)).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVERSED');
    const third = unique('rev_again_');
    const part = await send('POST', `/v1/ledger/transfers/${fee}/reverse`, {
      reversalId: third,
      amount: '0.01',
    });
    expect(part.status, show(part)).toBe(409);
    expect(part.body.error.code).toBe('ALREADY_REVERSED');
    await expectNothingWritten(before, [second, third]);
    // The same reversal retried (same id, same body) does not post twice.
    const retry = await send('POST', `/v1/ledger/transfers/${fee}/reverse`, { reversalId });
    expect([201, 200, 409]).toContain(retry.status);
    await expectNothingWritten(before, []);
    // Reversing a missing transfer: 404.
    const missing = await send('POST', `/v1/ledger/transfers/${unique('rev_none_')}/reverse`, {
      reversalId: unique('rev_x_'),
    });
    expect(missing.status, show(missing)).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  test('partial refunds are tracked against what remains; over-refund is refused', async () => {
    const wallet = unique('ref:wallet');
    const merchant = unique('ref:merchant');
    await open(wallet, { flags: { debitsMustNotExceedCredits: true } });
    await open(merchant);
    await fund(wallet, '100.00');
    const pay = unique('ref_pay_');
    expect((await one(item(pay, wallet, merchant, '100.00'))).result).toBe('created');
    const r1 = unique('ref_r1_');
    const r2 = unique('ref_r2_');
    const r3 = unique('ref_r3_');
    const r4 = unique('ref_r4_');
    expect(
      await expectStatus(
        'POST',
        `/v1/ledger/transfers/${pay}/reverse`,
        { reversalId: r1, amount: '30.00', code: 'refund' },
        201,
      ),
    ).toMatchObject({ amount: '30.00' });
    expect((await transferOf(pay)).reversedAmount).toBe('30.00');
    expect(await transferOf(r1)).toMatchObject({ code: 'refund', reversalOf: pay, amount: '30.00' });
    await expectStatus(
      'POST',
      `/v1/ledger/transfers/${pay}/reverse`,
      { reversalId: r2, amount: '50.00' },
      201,
    );
    expect((await transferOf(pay)).reversedAmount).toBe('80.00');
    // 30 more than the 20 that remains: refused, nothing written.
    const before = await snapshot([wallet, merchant]);
    const over = await send('POST', `/v1/ledger/transfers/${pay}/reverse`, {
      reversalId: r3,
      amount: '20.01',
    });
    expect(over.status, show(over)).toBeGreaterThanOrEqual(400);
    expect(over.status).toBeLessThan(500);
    await expectNothingWritten(before, [r3]);
    // No amount: all that remains.
    expect(
      await expectStatus('POST', `/v1/ledger/transfers/${pay}/reverse`, { reversalId: r4 }, 201),
    ).toMatchObject({
      amount: '20.00',
    });
    expect((await transferOf(pay)).reversedAmount).toBe('100.00');
    expect(await balanceOf(wallet)).toMatchObject({ posted: '100.00', available: '100.00' });
    expect(await balanceOf(merchant)).toMatchObject({ posted: '0.00' });
    const done = await send('POST', `/v1/ledger/transfers/${pay}/reverse`, {
      reversalId: unique('ref_r5_'),
      amount: '0.01',
    });
    expect(done.status, show(done)).toBe(409);
    expect(done.body.error.code).toBe('ALREADY_REVERSED');
    // Refunds are listed by their code.
    const reversals = await read(`/v1/ledger/transfers?account=${seg(merchant)}&code=refund`);
    expect(reversals.items.map((t: { transferId: string }) => t.transferId)).toEqual([r1]);
  });

  test('a partly posted pending transfer can be given back only up to what was posted', async () => {
    const { wallet, float } = await walletAndFloat('refp');
    await fund(wallet, '100.00');
    const hold = unique('refp_hold_');
    expect(
      (await one(item(hold, wallet, float, '100.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    await expectStatus('POST', `/v1/ledger/transfers/${hold}/post`, { amount: '60.00' }, 200);
    const before = await snapshot([wallet, float]);
    const tooMuch = unique('refp_over_');
    const over = await send('POST', `/v1/ledger/transfers/${hold}/reverse`, {
      reversalId: tooMuch,
      amount: '60.01',
    });
    expect(over.status, show(over)).toBeGreaterThanOrEqual(400);
    expect(over.status).toBeLessThan(500);
    await expectNothingWritten(before, [tooMuch]);
    const all = await expectStatus(
      'POST',
      `/v1/ledger/transfers/${hold}/reverse`,
      { reversalId: unique('refp_back_') },
      201,
    );
    expect(all).toMatchObject({ amount: '60.00' });
    expect(await balanceOf(wallet)).toMatchObject({ posted: '100.00', debitsPending: '0.00' });
  });

  test('reversing a pending or voided transfer is refused', async () => {
    const { wallet, float } = await walletAndFloat('revp');
    await fund(wallet, '50.00');
    const pending = unique('revp_pending_');
    const voided = unique('revp_voided_');
    for (const id of [pending, voided]) {
      expect(
        (await one(item(id, wallet, float, '10.00', { pending: { timeoutSeconds: 3600 } }))).result,
      ).toBe('created');
    }
    await expectStatus('POST', `/v1/ledger/transfers/${voided}/void`, {}, 200);
    const before = await snapshot([wallet, float]);
    const ids: string[] = [];
    for (const id of [pending, voided]) {
      for (const body of [{}, { amount: '1.00' }]) {
        const reversalId = unique('revp_r_');
        ids.push(reversalId);
        const answer = await send('POST', `/v1/ledger/transfers/${id}/reverse`, { reversalId, ...body });
        expect(answer.status, `reverse ${id}: ${show(answer)}`).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.status).not.toBe(404);
      }
    }
    await expectNothingWritten(before, ids);
    expect(await transferOf(pending)).toMatchObject({ status: 'pending', reversedAmount: '0.00' });
  });

  // ---------------------------------------------------------------------------------------
  // Accounts: closed, world, assets
  // ---------------------------------------------------------------------------------------

  test('a closed account refuses new transfers; one with money or a reservation cannot close', async () => {
    const wallet = unique('close:wallet');
    const other = unique('close:other');
    await open(wallet);
    await open(other);
    await fund(wallet, '5.00');
    const hold = unique('close_hold_');
    expect((await one(item(hold, wallet, other, '5.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    const busy = await send('POST', `/v1/ledger/accounts/${seg(wallet)}/close`, {});
    expect(busy.status, show(busy)).toBeGreaterThanOrEqual(400);
    expect(busy.status).toBeLessThan(500);
    await expectStatus('POST', `/v1/ledger/transfers/${hold}/post`, {}, 200);
    // Balance zero, nothing pending: it closes.
    const closed = await expectStatus('POST', `/v1/ledger/accounts/${seg(wallet)}/close`, {}, 200);
    expect(closed['status']).toBe('closed');
    expect((await read(`/v1/ledger/accounts?prefix=${seg(wallet)}`)).items[0].status).toBe('closed');
    const before = await snapshot([wallet, other]);
    const into = unique('close_in_');
    const out = unique('close_out_');
    expect((await one(item(into, 'world:KES', wallet, '1.00'))).result).toBe('ACCOUNT_CLOSED');
    expect((await one(item(out, wallet, other, '1.00'))).result).toBe('ACCOUNT_CLOSED');
    await expectNothingWritten(before, [into, out]);
    // "other" still has money: it cannot close.
    const notEmpty = await send('POST', `/v1/ledger/accounts/${seg(other)}/close`, {});
    expect(notEmpty.status, show(notEmpty)).toBeGreaterThanOrEqual(400);
    expect(notEmpty.status).toBeLessThan(500);
    expect((await read(`/v1/ledger/accounts?prefix=${seg(other)}`)).items[0].status).not.toBe('closed');
  });

  test('world:{asset} is the unbounded outside, in either direction', async () => {
    // A new asset (it names its scale), so no other test moves money through its world.
    const asset = `WX${serial}`;
    const account = unique('outside:acct');
    await open(account, { asset, type: 'asset', scale: 0 });
    const huge = '100000000000000000000';
    expect((await one(item(unique('world_in_'), `world:${asset}`, account, huge))).result).toBe('created');
    expect((await one(item(unique('world_in2_'), `world:${asset}`, account, huge))).result).toBe('created');
    expect((await one(item(unique('world_out_'), account, `world:${asset}`, '5'))).result).toBe('created');
    expect(await balanceOf(`world:${asset}`)).toMatchObject({
      debitsPosted: '200000000000000000000',
      creditsPosted: '5',
    });
    expect(await balanceOf(account)).toMatchObject({
      debitsPosted: '5',
      creditsPosted: '200000000000000000000',
    });
  });

  test('debit and credit accounts of different assets are refused (ASSET_MISMATCH)', async () => {
    const kes = unique('fx:kes');
    const usd = unique('fx:usd');
    await open(kes);
    await open(usd, { asset: 'USD' });
    await fund(kes, '10.00');
    await fund(usd, '10.00', 'USD');
    const before = await snapshot([kes, usd]);
    const a = unique('fx_a_');
    const b = unique('fx_b_');
    const c = unique('fx_c_');
    expect((await one(item(a, kes, usd, '1.00'))).result).toBe('ASSET_MISMATCH');
    expect((await one(item(b, 'world:USD', kes, '1.00'))).result).toBe('ASSET_MISMATCH');
    // An asset named on the transfer that is not the accounts' own.
    const named = await send('POST', '/v1/ledger/transfers', {
      transfers: [item(c, 'world:KES', kes, '1.00', { asset: 'USD' })],
    });
    if (named.status === 200) expect(named.body.results[0].result).toBe('ASSET_MISMATCH');
    else expect(named.status, show(named)).toBe(400);
    await expectNothingWritten(before, [a, b, c]);
    // The asset named right is fine.
    expect((await one(item(unique('fx_ok_'), 'world:KES', kes, '1.00', { asset: 'KES' }))).result).toBe(
      'created',
    );
  });

  // ---------------------------------------------------------------------------------------
  // Balances
  // ---------------------------------------------------------------------------------------

  test('balances carry debits/credits posted and pending, posted and available, as decimal strings', async () => {
    const { wallet, float } = await walletAndFloat('bal');
    const empty = await read(`/v1/ledger/accounts/${seg(wallet)}/balance`);
    expect(empty).toEqual({
      address: wallet,
      asset: 'KES',
      at: null,
      balances: {
        debitsPosted: '0.00',
        creditsPosted: '0.00',
        debitsPending: '0.00',
        creditsPending: '0.00',
        posted: '0.00',
        available: '0.00',
      },
    });
    await fund(wallet, '75.25');
    expect(
      (
        await one(
          item(unique('bal_in_p_'), 'world:KES', wallet, '10.00', { pending: { timeoutSeconds: 3600 } }),
        )
      ).result,
    ).toBe('created');
    expect(
      (await one(item(unique('bal_out_p_'), wallet, float, '20.10', { pending: { timeoutSeconds: 3600 } })))
        .result,
    ).toBe('created');
    expect((await one(item(unique('bal_out_'), wallet, float, '5.05'))).result).toBe('created');
    const balances = await balanceOf(wallet);
    expect(balances).toEqual({
      debitsPosted: '5.05',
      creditsPosted: '75.25',
      debitsPending: '20.10',
      creditsPending: '10.00',
      posted: '70.20',
      available: '50.10',
    });
    for (const value of Object.values(balances)) expect(value).toMatch(KES_AMOUNT);
    // The accounts list carries the same balances.
    const listed = await read(`/v1/ledger/accounts?prefix=${seg(wallet)}`);
    expect(listed.items[0].balances).toEqual(balances);
    // Unknown account: 404 NOT_FOUND.
    const missing = await get(`/v1/ledger/accounts/${seg(unique('bal:missing'))}/balance`);
    expect(missing.status, show(missing)).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  test('point in time: the balance as of a past position and a past timestamp', async () => {
    const wallet = unique('pit:wallet');
    await open(wallet);
    await fund(wallet, '10.00');
    const first = position!;
    await sleep(30);
    const between = new Date().toISOString();
    await sleep(30);
    await fund(wallet, '5.00');
    const second = position!;
    const hold = unique('pit_hold_');
    expect(
      (await one(item(hold, wallet, 'world:KES', '3.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    expect((await balanceOf(wallet)).posted).toBe('15.00');

    const atFirst = await read(`/v1/ledger/accounts/${seg(wallet)}/balance?at=${first}`);
    expect(atFirst.balances).toMatchObject({
      creditsPosted: '10.00',
      posted: '10.00',
      debitsPending: '0.00',
    });
    expect(atFirst.at).not.toBeNull();
    const atTime = await read(`/v1/ledger/accounts/${seg(wallet)}/balance?at=${seg(between)}`);
    expect(atTime.balances).toMatchObject({ creditsPosted: '10.00', posted: '10.00' });
    // The same instant written with an offset.
    const shifted = new Date(Date.parse(between) + 3 * 3_600_000).toISOString().replace('Z', '+03:00');
    const atOffset = await read(`/v1/ledger/accounts/${seg(wallet)}/balance?at=${seg(shifted)}`);
    expect(atOffset.balances).toEqual(atTime.balances);
    const atSecond = await read(`/v1/ledger/accounts/${seg(wallet)}/balance?at=${second}`);
    expect(atSecond.balances).toMatchObject({ creditsPosted: '15.00', debitsPending: '0.00' });
    const now = await read(`/v1/ledger/accounts/${seg(wallet)}/balance?at=${seg(new Date().toISOString())}`);
    expect(now.balances).toMatchObject({ creditsPosted: '15.00', debitsPending: '3.00', available: '12.00' });
    // A malformed `at` is bad input.
    const bad = await get(`/v1/ledger/accounts/${seg(wallet)}/balance?at=yesterday`);
    expect(bad.status, show(bad)).toBe(400);
    expect(JSON.stringify(bad.body.error)).toMatch(/at/);
  });

  // ---------------------------------------------------------------------------------------
  // Lists
  // ---------------------------------------------------------------------------------------

  test('accounts list: cursor pages without gaps or repeats, prefix taken literally', async () => {
    const root = unique('pg');
    const addresses = Array.from({ length: 7 }, (_, i) => `${root}:acct:a${i}`);
    for (const address of addresses) await open(address);
    // Near misses for the prefix: an underscore and a longer root.
    const under = unique('ab_c');
    const look = under.replace('_', 'x');
    await open(`${under}:one`);
    await open(`${look}:two`);
    await open(`${root}x:not`);
    const { items, pages } = await allPages(`/v1/ledger/accounts?prefix=${seg(`${root}:`)}&limit=2`);
    const got = items.map((a: { address: string }) => a.address);
    expect(pages).toBe(4);
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual([...addresses].sort());
    expect(got).toEqual([...got].sort()); // by address
    // `_` is not a wildcard; `%` is not either.
    const literal = await read(`/v1/ledger/accounts?prefix=${seg(under)}`);
    expect(literal.items.map((a: { address: string }) => a.address)).toEqual([`${under}:one`]);
    const percent = await read(`/v1/ledger/accounts?prefix=${seg('%')}`);
    expect(percent.items).toEqual([]);
    // Filter by asset.
    const usd = unique('pgusd');
    await open(`${usd}:x`, { asset: 'USD' });
    await open(`${usd}:y`);
    const byAsset = await read(`/v1/ledger/accounts?prefix=${seg(usd)}&asset=USD`);
    expect(byAsset.items.map((a: { address: string }) => a.address)).toEqual([`${usd}:x`]);
    // limit bounds (README: default 50, at most 200) and a bad cursor are bad input.
    for (const query of ['limit=0', 'limit=201', 'limit=abc', 'cursor=not-a-cursor']) {
      const answer = await get(`/v1/ledger/accounts?${query}`);
      expect(answer.status, `${query}: ${show(answer)}`).toBe(400);
    }
  });

  test('transfers list: pages without gaps or repeats (batches included), oldest first, with filters', async () => {
    const wallet = unique('tl:wallet');
    const float = unique('tl:float');
    const fees = unique('tl:fees');
    await open(wallet);
    await open(float, { type: 'asset' });
    await open(fees, { type: 'revenue' });
    const expected: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const id = unique('tl_single_');
      expected.push(id);
      expect((await one(item(id, 'world:KES', wallet, '10.00', { reference: 'order-1' }))).result).toBe(
        'created',
      );
    }
    // A batch of five: one position shared by all of them.
    const batchIds = ['e', 'a', 'd', 'b', 'c'].map((s) => unique(`tl_batch_${s}_`));
    await transfers(batchIds.map((id) => item(id, wallet, fees, '1.00', { code: 'fee' })));
    expected.push(...batchIds);
    const hold = unique('tl_hold_');
    expect((await one(item(hold, wallet, float, '2.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    const voided = unique('tl_void_');
    expect(
      (await one(item(voided, wallet, float, '2.00', { pending: { timeoutSeconds: 3600 } }))).result,
    ).toBe('created');
    await expectStatus('POST', `/v1/ledger/transfers/${voided}/void`, {}, 200);
    expected.push(hold, voided);

    for (const limit of [1, 2, 3, 4, 200]) {
      const { items } = await allPages(`/v1/ledger/transfers?account=${seg(wallet)}&limit=${limit}`);
      const got = items.map((t: { transferId: string }) => t.transferId);
      expect(got.length, `limit ${limit}`).toBe(expected.length);
      expect(new Set(got).size, `limit ${limit}: no repeats`).toBe(got.length);
      expect([...got].sort(), `limit ${limit}: no gaps`).toEqual([...expected].sort());
      // Oldest first: singles before the batch before the holds.
      expect(got.slice(0, 4), `limit ${limit}`).toEqual(expected.slice(0, 4));
      expect(got.slice(9), `limit ${limit}`).toEqual([hold, voided]);
      expect([...got.slice(4, 9)].sort()).toEqual([...batchIds].sort());
      // Positions never go backwards.
      const positions = items.map((t: { position: string }) => t.position.split('-').map(BigInt));
      for (let i = 1; i < positions.length; i += 1) {
        const [c0, p0] = positions[i - 1]!;
        const [c1, p1] = positions[i]!;
        expect(c1! > c0! || (c1 === c0 && p1! >= p0!), `order at ${i}`).toBe(true);
      }
    }
    // New transfers written between two pages: no repeat, no gap; they come after.
    const first = await read(`/v1/ledger/transfers?account=${seg(wallet)}&limit=3`);
    const later = [unique('tl_later_'), unique('tl_later_')];
    await transfers(later.map((id) => item(id, 'world:KES', wallet, '1.00')));
    const rest = await allPages(
      `/v1/ledger/transfers?account=${seg(wallet)}&limit=3`,
      undefined,
      first.nextCursor as string,
    );
    const walked = [...first.items, ...rest.items].map((t: { transferId: string }) => t.transferId);
    expect(walked.slice(0, expected.length).sort()).toEqual([...expected].sort());
    expect(walked.slice(expected.length).sort()).toEqual([...later].sort());
    const ids = (body: { items: { transferId: string }[] }): string[] => body.items.map((t) => t.transferId);
    expect(ids(await read(`/v1/ledger/transfers?account=${seg(wallet)}&status=pending`))).toEqual([hold]);
    expect(ids(await read(`/v1/ledger/transfers?account=${seg(wallet)}&status=voided`))).toEqual([voided]);
    expect(ids(await read(`/v1/ledger/transfers?account=${seg(wallet)}&code=fee&limit=200`)).sort()).toEqual(
      [...batchIds].sort(),
    );
    expect(ids(await read(`/v1/ledger/transfers?reference=order-1&account=${seg(wallet)}`))).toEqual(
      expected.slice(0, 4),
    );
    expect(ids(await read(`/v1/ledger/transfers?account=${seg(fees)}&limit=200`)).sort()).toEqual(
      [...batchIds].sort(),
    );
    const posted = ids(await read(`/v1/ledger/transfers?account=${seg(wallet)}&status=posted&limit=200`));
    expect(posted.sort()).toEqual([...expected.slice(0, 9), ...later].sort());
    // Filters that match nothing answer an empty page.
    expect(await read(`/v1/ledger/transfers?account=${seg(unique('tl:none'))}`)).toEqual({
      items: [],
      nextCursor: null,
    });
    const badStatus = await get('/v1/ledger/transfers?status=settled');
    expect(badStatus.status, show(badStatus)).toBe(400);
    expect(JSON.stringify(badStatus.body.error)).toMatch(/status/);
  });

  test('account history: every change, oldest first, paged, summing to the balances', async () => {
    const { wallet, float } = await walletAndFloat('hist');
    await fund(wallet, '100.00');
    const a = unique('hist_a_');
    const b = unique('hist_b_');
    const c = unique('hist_c_');
    expect((await one(item(a, wallet, float, '60.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    await expectStatus('POST', `/v1/ledger/transfers/${a}/post`, { amount: '50.00' }, 200);
    expect((await one(item(b, wallet, float, '7.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    await expectStatus('POST', `/v1/ledger/transfers/${b}/void`, {}, 200);
    expect((await one(item(c, wallet, float, '3.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    await expectStatus(
      'POST',
      `/v1/ledger/transfers/${a}/reverse`,
      { reversalId: unique('hist_r_'), amount: '5.00' },
      201,
    );

    const full = await allPages(`/v1/ledger/accounts/${seg(wallet)}/history?limit=200`);
    const paged = await allPages(`/v1/ledger/accounts/${seg(wallet)}/history?limit=2`);
    expect(paged.items).toEqual(full.items);
    const keys = full.items.map((h: { position: string; seq: number }) => `${h.position}/${h.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(full.items.map((h: { transferId: string }) => h.transferId)).toContain(a);
    // Each side and phase sums to its balance (releases are negative).
    const cents = (s: string): bigint => {
      const negative = s.startsWith('-');
      const [whole, frac = ''] = s.replace('-', '').split('.');
      const value = BigInt(whole!) * 100n + BigInt(frac.padEnd(2, '0'));
      return negative ? -value : value;
    };
    const sum = (side: string, phase: string): bigint =>
      full.items
        .filter((h: { side: string; phase: string }) => h.side === side && h.phase === phase)
        .reduce((acc: bigint, h: { amount: string }) => acc + cents(h.amount), 0n);
    const balances = await balanceOf(wallet);
    expect(sum('debit', 'posted')).toBe(cents(balances.debitsPosted));
    expect(sum('credit', 'posted')).toBe(cents(balances.creditsPosted));
    expect(sum('debit', 'pending')).toBe(cents(balances.debitsPending));
    expect(sum('credit', 'pending')).toBe(cents(balances.creditsPending));
    expect(balances).toEqual({
      debitsPosted: '50.00',
      creditsPosted: '105.00',
      debitsPending: '3.00',
      creditsPending: '0.00',
      posted: '55.00',
      available: '52.00',
    });
    const missing = await get(`/v1/ledger/accounts/${seg(unique('hist:none'))}/history`);
    expect(missing.status, show(missing)).toBe(404);
  });

  // ---------------------------------------------------------------------------------------
  // Isolation
  // ---------------------------------------------------------------------------------------

  test("another organization's accounts and transfers answer exactly like missing ones", async () => {
    // Organization A (the demo organization) has money and transfers.
    const { wallet, float } = await walletAndFloat('iso');
    await fund(wallet, '40.00');
    const paid = unique('iso_paid_');
    const held = unique('iso_held_');
    expect((await one(item(paid, wallet, float, '10.00'))).result).toBe('created');
    expect((await one(item(held, wallet, float, '5.00', { pending: { timeoutSeconds: 3600 } }))).result).toBe(
      'created',
    );
    const beforeA = await snapshot([wallet, float]);
    const paidBefore = await transferOf(paid);
    const heldBefore = await transferOf(held);

    // Organization B, with a token of its own.
    const email = `${unique('iso')}@blackbox.test`;
    const created = await expectStatus(
      'POST',
      '/v1/organizations',
      { name: unique('Other org '), admin: { email, name: 'Other admin', password: PASSWORD } },
      201,
      app.adminKey,
    );
    const settled = await get('/v1/organization', app.adminKey);
    expect(settled.status).toBe(200);
    const login = await app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, show(login)).toBe(200);
    const tokenB = login.body.accessToken as string;
    expect(created['orgId']).not.toBe(app.demoOrgId);

    const normalize = (answer: TestResponse, ids: string[]): string => {
      let text = JSON.stringify({ ...answer.body, error: { ...answer.body?.error, requestId: '<req>' } });
      for (const id of ids) text = text.split(id).join('<id>');
      return `${answer.status} ${text}`;
    };
    const same = async (
      method: string,
      pathOf: (id: string) => string,
      foreign: string,
      missing: string,
      body?: (id: string) => unknown,
    ): Promise<void> => {
      const a = await send(method, pathOf(foreign), body?.(foreign), tokenB);
      const b = await send(method, pathOf(missing), body?.(missing), tokenB);
      expect(a.status, `${method} ${pathOf(foreign)}: ${show(a)}`).toBe(404);
      expect(normalize(a, [foreign, missing]), `${method} ${pathOf(foreign)}`).toBe(
        normalize(b, [foreign, missing]),
      );
    };
    const missingTransfer = unique('iso_absent_');
    const missingAccount = unique('iso:absent');
    await same('GET', (id) => `/v1/ledger/transfers/${id}`, paid, missingTransfer);
    await same('GET', (id) => `/v1/ledger/accounts/${seg(id)}/balance`, wallet, missingAccount);
    await same('GET', (id) => `/v1/ledger/accounts/${seg(id)}/history`, wallet, missingAccount);
    await same(
      'POST',
      (id) => `/v1/ledger/transfers/${id}/post`,
      held,
      missingTransfer,
      () => ({}),
    );
    await same(
      'POST',
      (id) => `/v1/ledger/transfers/${id}/void`,
      held,
      missingTransfer,
      () => ({}),
    );
    await same(
      'POST',
      (id) => `/v1/ledger/transfers/${id}/reverse`,
      paid,
      missingTransfer,
      () => ({
        reversalId: 'iso_rev_by_b',
      }),
    );
    await same(
      'POST',
      (id) => `/v1/ledger/accounts/${seg(id)}/close`,
      float,
      missingAccount,
      () => ({}),
    );
    await same(
      'POST',
      (id) => `/v1/ledger/accounts/${seg(id)}/limit`,
      wallet,
      missingAccount,
      () => ({
        creditLimit: '1000.00',
      }),
    );

    // A transfer in B naming A's account: like a missing account.
    const foreignLeg = await send(
      'POST',
      '/v1/ledger/transfers',
      { transfers: [item('iso_b_1', wallet, float, '1.00')] },
      tokenB,
    );
    const missingLeg = await send(
      'POST',
      '/v1/ledger/transfers',
      { transfers: [item('iso_b_1', missingAccount, unique('iso:absent'), '1.00')] },
      tokenB,
    );
    expect(foreignLeg.status, show(foreignLeg)).toBe(missingLeg.status);
    expect(foreignLeg.body.results[0].result).toBe('NOT_FOUND');
    expect(missingLeg.body.results[0].result).toBe('NOT_FOUND');

    await same(
      'GET',
      (id) => `/v1/ledger/accounts/${seg(id)}/balance?at=${position}`,
      wallet,
      missingAccount,
    );
    await same('GET', (id) => `/v1/ledger/transfers/${id}?consistentWith=${position}`, held, missingTransfer);

    // A's cursor in B's hands shows nothing of A.
    const pageA = await read(`/v1/ledger/transfers?account=${seg(wallet)}&limit=1`);
    expect(pageA.nextCursor).not.toBeNull();
    for (const path of [
      `/v1/ledger/transfers?account=${seg(wallet)}&limit=1&cursor=${seg(pageA.nextCursor as string)}`,
      `/v1/ledger/transfers?limit=200&cursor=${seg(pageA.nextCursor as string)}`,
    ]) {
      const withCursor = await get(path, tokenB);
      if (withCursor.status === 200) {
        const seen = JSON.stringify(withCursor.body);
        expect(seen).not.toContain(paid);
        expect(seen).not.toContain(held);
      } else expect(withCursor.status, show(withCursor)).toBe(400);
    }

    // B's lists show nothing of A.
    const listB = await read(`/v1/ledger/transfers?account=${seg(wallet)}`, tokenB);
    expect(listB).toEqual({ items: [], nextCursor: null });
    const accountsB = await read(`/v1/ledger/accounts?prefix=${seg('iso:')}`, tokenB);
    expect(accountsB.items).toEqual([]);

    // B may use the same names for its own, and they stay apart.
    await open(wallet, {}, tokenB);
    await fund(wallet, '1.00', 'KES', tokenB);
    const mine = await one(item(paid, 'world:KES', wallet, '2.00'), tokenB);
    expect(mine.result).toBe('created');
    expect((await balanceOf(wallet, tokenB)).creditsPosted).toBe('3.00');

    // A is untouched.
    await expectNothingWritten(beforeA, ['iso_b_1', 'iso_rev_by_b']);
    expect(await transferOf(paid)).toEqual(paidBefore);
    expect(await transferOf(held)).toEqual(heldBefore);
  });
});
