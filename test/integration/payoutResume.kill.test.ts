/**
 * A bulk payout whose server process is killed (SIGKILL) in the middle of the batch, on real
 * PostgreSQL: the built CLI serves the batch in a child process, which dies while payouts are
 * being sent; a server started afterwards on the same database resumes the batch. Whatever
 * instant the kill hit: no payout's provider request is ever recorded twice (so none is paid
 * twice), every payout never sent is sent once by the resumer and paid, those the dead process
 * had already sent are never sent again, the float never goes below zero, the ledger balances.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { FLOAT, POLL_MS, setMpesaCredentials, stkPush, until, untilPayment } from '../support/mpesaHttp.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('a bulk payout killed mid-batch on PostgreSQL', await probePostgres());

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const START_TIMEOUT_MS = 30_000;
/** The largest batch: long enough to be killed in the middle of. */
const PAYOUTS = 500;
/** Payouts initiated before the kill, at least (the kill lands after this many). */
const KILL_AFTER = 40;
const NEVER_MS = String(60 * 60 * 1000);
/** Waiting for the resumer to finish the batch: at most this many polls, POLL_MS apart. */
const DISPATCH_POLLS_MAX = 2_000;
const KEYS = {
  LEDGERLINE_JWT_SECRET: randomBytes(24).toString('hex'),
  LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
};

function serve(
  schema: string,
  dataDir: string,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    env: {
      ...process.env,
      ...KEYS,
      DATABASE_URL: POSTGRES_URL,
      LEDGERLINE_DATABASE_SCHEMA: schema,
      EVENTSTORE_URL: '',
      NATS_URL: '',
      LOG_LEVEL: 'silent',
      LEDGERLINE_LIMITS: 'off',
      LEDGERLINE_SIMULATOR_DELAY_MS: '0',
      LEDGERLINE_MPESA_RESUMER_INTERVAL_MS: NEVER_MS,
    },
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1] && stderr.includes('read models:')) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${String(code)}: ${stderr}`));
    });
  });
}

describe.skipIf(!run)('a bulk payout killed mid-batch, resumed by the next server', () => {
  let first: TestApp;
  let next: TestApp | null = null;
  let dataDir: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm test builds it first (npm run build)`);
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-kill-'));
    first = await startTestApp('postgres', {
      env: { ...KEYS, LEDGERLINE_MPESA_RESUMER_INTERVAL_MS: NEVER_MS },
    });
    await setMpesaCredentials(first, first.demoKey);
  });

  afterAll(async () => {
    await next?.close();
    await first.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('pays every payout at most once and every unsent one exactly once', { timeout: 180_000 }, async () => {
    const token = first.demoKey;
    const orgId = first.demoOrgId;
    const db = first.server.runtime.services.db;
    // The float covers the whole batch.
    const funded = await stkPush(first, token, '0733000222', String(PAYOUTS * 100));
    await untilPayment(first, token, funded.paymentId, (payment) => payment.status === 'succeeded');

    const { child, url } = await serve(first.schema ?? '', dataDir);
    const payouts = Array.from({ length: PAYOUTS }, (_, index) => ({
      phone: `2547124${String(index).padStart(5, '0')}`,
      amount: '100',
      reference: `killed-${index}`,
    }));
    const request = fetch(`${url}/v1/mpesa/bulk-payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batchId: 'killed-midway', remarks: 'Salaries', payouts }),
    }).catch(() => null);
    const initiated = async (): Promise<number> =>
      Number(
        (
          await db.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM rm_payments WHERE org_id = $1 AND batch_id = 'killed-midway'`,
            [orgId],
          )
        ).rows[0]?.n ?? 0,
      );
    await until(initiated, (count) => count >= KILL_AFTER);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await request;

    const store = first.server.runtime.store;
    const batchEvents = await store.readStream(`${orgId}.payout_batch-killed-midway`, { maxCount: 10 });
    expect(batchEvents[0]?.type).toBe('PayoutBatchCreated');
    const items = (batchEvents[0]?.data as { items: { paymentId: string }[] }).items;
    expect(items).toHaveLength(PAYOUTS);
    const requests = async (paymentId: string) =>
      (await store.readStream(`${orgId}.payment-${paymentId}`, { maxCount: 100 })).filter(
        (event) => event.type === 'ProviderRequestStarted',
      );
    const before = new Map<string, number>();
    for (const item of items) before.set(item.paymentId, (await requests(item.paymentId)).length);

    next = await startTestApp('postgres', {
      sameSchemaAs: first,
      env: { ...KEYS, LEDGERLINE_MPESA_RESUMER_INTERVAL_MS: '40', LEDGERLINE_MPESA_RESUMER_GRACE_MS: '0' },
    });
    const resumed = next;
    // The resumer sends at most RESUMER_PAYOUTS_MAX a round: several rounds, polled (bounded).
    let dispatched = false;
    for (let poll = 0; poll < DISPATCH_POLLS_MAX && !dispatched; poll += 1) {
      const events = await store.readStream(`${orgId}.payout_batch-killed-midway`, { maxCount: 10 });
      dispatched = events.some((event) => event.type === 'PayoutBatchDispatched');
      if (!dispatched) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    expect(dispatched).toBe(true);
    let sentByResumer = 0;
    for (const item of items) {
      const after = await requests(item.paymentId);
      // Never a second provider request: never paid twice.
      expect(after.length, item.paymentId).toBeLessThanOrEqual(1);
      if (before.get(item.paymentId) === 0) {
        const status = await untilPayment(resumed, token, item.paymentId, (payment) =>
          ['succeeded', 'held'].includes(payment.status),
        );
        if (status.status === 'held') continue;
        expect(after.map((event) => event.data)).toEqual([
          { paymentId: item.paymentId, requestRef: item.paymentId, resumed: true },
        ]);
        sentByResumer += 1;
      } else {
        // Sent by the dead process: settled, or pending for the status query — never sent again.
        expect(after.map((event) => (event.data as { resumed: boolean }).resumed)).toEqual([false]);
      }
    }
    expect(sentByResumer).toBeGreaterThan(0);
    const ledger = await resumed.server.runtime.services.ledger.state(orgId);
    const float = ledger.accounts.get(FLOAT);
    expect(float).toBeDefined();
    const balances = float!.balances;
    // Available = posted less what reservations hold: never below zero.
    expect(balances.debitsPosted - balances.creditsPosted - balances.creditsPending).toBeGreaterThanOrEqual(
      0n,
    );
    let debits = 0n;
    let credits = 0n;
    for (const account of ledger.accounts.values()) {
      debits += account.balances.debitsPosted + account.balances.debitsPending;
      credits += account.balances.creditsPosted + account.balances.creditsPending;
    }
    expect(debits).toBe(credits);
  });
});
