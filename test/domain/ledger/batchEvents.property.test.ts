/**
 * What a batch of transfers is stored as: one TransferCreated for one transfer; for several,
 * TransfersCreated events that hold every created transfer once, in the order decided, each
 * small enough for the event store (EVENT_BYTES_MAX) whatever the metadata holds — checked
 * against the real encoded size, since the decider only estimates it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/domain/canonicalJson.js';
import { EVENT_BYTES_MAX } from '../../../src/adapters/eventstore/newEvents.js';
import { TRANSFERS_EVENT_BYTES_MAX } from '../../../src/domain/ledger/decide.js';
import type { LedgerEvent, TransferRecord } from '../../../src/domain/ledger/events.js';
import { createTransfers, decideOn, opened, transferRequest } from '../../support/ledgerSpec.js';

const RUNS = 200;
const WORLD = 'world:KES';
const BANK = 'assets:bank:kes';
/** Room left for the envelope (actor, channel, ids), which is stored with the data. */
const ENVELOPE_BYTES_MAX = 4 * 1024;

const history: LedgerEvent[] = [opened(BANK, 'KES')];

function created(events: readonly LedgerEvent[]): TransferRecord[] {
  return events.flatMap((event) => {
    if (event.type === 'TransferCreated') return [event.data];
    if (event.type === 'TransfersCreated') return [...event.data.transfers];
    throw new Error(`a batch made ${event.type}`);
  });
}

// Any text the store takes (no U+0000), including what JSON escapes and what takes several
// bytes in UTF-8.
const storable = (value: string): boolean => !value.includes('\u0000');
const text = fc.string({ unit: 'binary', maxLength: 500 }).filter(storable);
const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }).filter(storable);
const metadata = fc.dictionary(key, text, {
  maxKeys: 32,
});

describe('the events of a batch of transfers', () => {
  it('stores one transfer as one TransferCreated and several as one TransfersCreated', () => {
    const one = decideOn(history, createTransfers([transferRequest('a', WORLD, BANK, '1.00')])).decision;
    expect(one.ok && one.events.map((event) => event.type)).toEqual(['TransferCreated']);
    const many = decideOn(
      history,
      createTransfers(Array.from({ length: 1_000 }, (_, i) => transferRequest(`t${i}`, WORLD, BANK, '1.00'))),
    ).decision;
    expect(many.ok && many.events.map((event) => event.type)).toEqual(['TransfersCreated']);
  });

  it('splits a batch heavy with metadata into several events of one append, in order', () => {
    const heavy = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'x'.repeat(500)]));
    const requests = Array.from({ length: 100 }, (_, i) =>
      transferRequest(`h${i}`, WORLD, BANK, '1.00', { metadata: heavy }),
    );
    const { decision } = decideOn(history, createTransfers(requests, true));
    if (!decision.ok) throw new Error(decision.error.message);
    expect(decision.events.length).toBeGreaterThan(1);
    expect(created(decision.events).map((record) => record.transferId)).toEqual(
      requests.map((request) => request.transferId),
    );
    for (const event of decision.events) {
      expect(Buffer.byteLength(canonicalJson(event.data))).toBeLessThanOrEqual(TRANSFERS_EVENT_BYTES_MAX);
    }
  });

  it(`keeps every created transfer once, in order, each event within the store's bound (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ metadata, reference: fc.option(text, { nil: null }) }), {
          minLength: 1,
          maxLength: 120,
        }),
        (items) => {
          const requests = items.map((item, i) =>
            transferRequest(`p${i}`, WORLD, BANK, '0.01', {
              metadata: item.metadata,
              reference: item.reference,
            }),
          );
          const { decision } = decideOn(history, createTransfers(requests));
          if (!decision.ok) throw new Error(decision.error.message);
          expect(created(decision.events).map((record) => record.transferId)).toEqual(
            requests.map((request) => request.transferId),
          );
          if (requests.length === 1) expect(decision.events[0]?.type).toBe('TransferCreated');
          for (const event of decision.events) {
            const bytes = Buffer.byteLength(canonicalJson(event.data), 'utf8');
            expect(bytes + ENVELOPE_BYTES_MAX).toBeLessThanOrEqual(EVENT_BYTES_MAX);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
