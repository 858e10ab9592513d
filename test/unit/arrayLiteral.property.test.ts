/**
 * Array literals written by hand for column-array parameters must mean exactly the values
 * given, whatever the text holds (quotes, backslashes, braces, commas, the word NULL, empty
 * strings, any Unicode but U+0000): PostgreSQL and PGlite read them back unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { plainArray, textArray } from '../../src/adapters/db/arrayLiteral.js';
import type { Database } from '../../src/adapters/db/database.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { probePostgres, serviceGate } from '../support/services.js';

const RUNS = 1_000;
const run = serviceGate('array literals on PostgreSQL', await probePostgres());

const element = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('NULL', 'null', '', ' ', '"', '\\', '{', '}', ',', '{"a":"b\\\\"}', 'a,b', ' x '),
  fc.string({ unit: fc.constantFrom('"', '\\', ',', '{', '}', ' ', 'a'), maxLength: 8 }),
);
const texts = fc.array(fc.option(element.filter((text) => !text.includes('\u0000'))), { maxLength: 20 });

async function roundTrip(db: Database, literal: string, type: string): Promise<unknown[]> {
  const { rows } = await db.query<{ v: unknown }>(
    `SELECT v FROM unnest($1::${type}[]) WITH ORDINALITY AS u(v, o) ORDER BY o`,
    [literal],
  );
  return rows.map((row) => row.v);
}

function suite(name: string, open: () => Promise<TestDatabase>, enabled: boolean): void {
  describe.skipIf(!enabled)(`array literals on ${name}`, () => {
    let test: TestDatabase;
    beforeAll(async () => {
      test = await open();
    });
    afterAll(async () => {
      await test.dispose();
    });

    it('reads back any list of texts and nulls unchanged', async () => {
      await fc.assert(
        fc.asyncProperty(texts, async (values) => {
          expect(await roundTrip(test.db, textArray(values), 'text')).toEqual(values);
        }),
        { numRuns: RUNS },
      );
    });

    it('reads back integers and booleans unchanged', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 20 }),
          fc.array(fc.boolean(), { maxLength: 20 }),
          async (numbers, flags) => {
            expect(await roundTrip(test.db, plainArray(numbers), 'int')).toEqual(numbers);
            expect(await roundTrip(test.db, plainArray(flags), 'boolean')).toEqual(flags);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('refuses a number that is not a safe integer rather than write something else', () => {
      expect(() => plainArray([1.5])).toThrow(/safe integer/);
      expect(() => plainArray([2 ** 60])).toThrow(/safe integer/);
    });
  });
}

suite('PGlite', freshPglite, true);
suite('PostgreSQL', () => freshPostgres('arrays'), run);
