/**
 * The signed export: a round trip verifies; a flipped byte anywhere, a dropped line, an edited
 * manifest, a foreign key, and an edited event re-signed as if by the platform are each caught.
 * Windows by position and by time select exactly the events inside them, in global order.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditSigningKey,
  verifyingKey,
  type AuditSigningKey,
} from '../../src/adapters/crypto/auditSigningKey.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import {
  parseBound,
  verifyExport,
  writeExport,
  type ExportWindow,
} from '../../src/commands/audit/exportFile.js';
import { canonicalJson } from '../../src/domain/canonicalJson.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { newEvent, testOrg } from '../support/events.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const BACKENDS = [
  {
    name: 'PostgreSQL',
    run: serviceGate('audit export (PostgreSQL)', probe),
    open: () => freshPostgres('auditexport'),
  },
  { name: 'PGlite', run: true, open: freshPglite },
] as const;

function* chunksOf(text: string): Generator<Buffer> {
  const bytes = Buffer.from(text, 'utf8');
  // Odd-sized chunks, so lines straddle them.
  for (let at = 0; at < bytes.length; at += 97) yield bytes.subarray(at, at + 97);
}

for (const backend of BACKENDS) {
  describe.runIf(backend.run)(`audit export (${backend.name})`, () => {
    let database: TestDatabase;
    let store: SqlEventStore;
    let keyDir: string;
    let key: AuditSigningKey;
    let orgId: string;
    let file: string;

    async function exportOf(
      org: string,
      window: ExportWindow,
      eventsMax?: number,
    ): Promise<{ text: string; nextFrom: string | null }> {
      const parts: string[] = [];
      const result = await writeExport(
        store,
        org,
        window,
        key,
        (chunk) => {
          parts.push(chunk);
          return Promise.resolve();
        },
        { now: new Date('2030-01-01T00:00:00Z'), ...(eventsMax === undefined ? {} : { eventsMax }) },
      );
      return { text: parts.join(''), nextFrom: result.nextFrom };
    }

    beforeAll(async () => {
      database = await backend.open();
      store = new SqlEventStore(database.db);
      keyDir = await mkdtemp(join(tmpdir(), 'ledgerline-audit-key-'));
      key = await auditSigningKey({ auditSigningKey: null, dataDir: keyDir });
      orgId = testOrg();
      const other = testOrg();
      // Three streams interleaved, another organization between them.
      for (let round = 0; round < 4; round += 1) {
        for (const name of ['a', 'b', 'c']) {
          await store.append(
            `${orgId}.thing-${name}`,
            [newEvent('ThingHappened', { round, name, amount: '10.50' })],
            'any',
          );
        }
        await store.append(`${other}.thing-x`, [newEvent('ThingHappened', { round })], 'any');
      }
      file = (await exportOf(orgId, { from: null, to: null })).text;
    }, 60_000);

    afterAll(async () => {
      await database.dispose();
      await rm(keyDir, { recursive: true, force: true });
    });

    it('round-trips: every event of the organization, in global order, and a manifest that verifies', async () => {
      const lines = file.trimEnd().split('\n');
      expect(lines).toHaveLength(13);
      const events = lines
        .slice(0, -1)
        .map((line) => JSON.parse(line) as { orgId: string; position: string; hash: string });
      expect(events.every((event) => event.orgId === orgId)).toBe(true);
      const manifest = (JSON.parse(lines.at(-1) ?? '') as { manifest: Record<string, unknown> }).manifest;
      expect(manifest).toMatchObject({
        orgId,
        count: 12,
        firstPosition: events[0]?.position,
        lastPosition: events[11]?.position,
      });
      const result = await verifyExport(chunksOf(file), verifyingKey(key.publicKeyPem));
      expect(result.problems).toEqual([]);
      expect(result).toMatchObject({ ok: true, eventsChecked: 12, streams: 3 });
    });

    it('catches any single flipped byte, wherever it is', async () => {
      const bytes = Buffer.from(file, 'utf8');
      const verifier = verifyingKey(key.publicKeyPem);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: bytes.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          async (at, mask) => {
            const flipped = Buffer.from(bytes);
            flipped[at] = (flipped[at] ?? 0) ^ mask;
            const result = await verifyExport([flipped], verifier);
            expect(result.ok).toBe(false);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('catches a dropped line and an edited manifest', async () => {
      const verifier = verifyingKey(key.publicKeyPem);
      const lines = file.trimEnd().split('\n');
      const dropped = [...lines.slice(0, 5), ...lines.slice(6)].join('\n') + '\n';
      const droppedResult = await verifyExport([Buffer.from(dropped)], verifier);
      expect(droppedResult.ok).toBe(false);
      expect(droppedResult.problems.join('\n')).toMatch(/11 events|sha256/);

      const signed = JSON.parse(lines.at(-1) ?? '') as {
        manifest: Record<string, unknown>;
        signature: string;
      };
      const edited = { ...signed, manifest: { ...signed.manifest, count: 11 } };
      const editedResult = await verifyExport(
        [Buffer.from([...lines.slice(0, -1), JSON.stringify(edited)].join('\n') + '\n')],
        verifier,
      );
      expect(editedResult.problems).toContain('manifest: the signature does not verify');

      // Guards a bug the flipped-byte property found: the last newline turned into a tab, which
      // JSON.parse forgives as trailing whitespace.
      const retabbed = await verifyExport([Buffer.from(`${file.slice(0, -1)}\t`)], verifier);
      expect(retabbed.ok).toBe(false);

      // Re-signed by someone else's key: the verifier trusts only the platform's.
      const forger = await auditSigningKey({ auditSigningKey: null, dataDir: join(keyDir, 'forger') });
      const forged = { manifest: { ...signed.manifest, keyId: forger.keyId }, signature: '' };
      forged.signature = forger.sign(canonicalJson(forged.manifest));
      const forgedResult = await verifyExport(
        [Buffer.from([...lines.slice(0, -1), JSON.stringify(forged)].join('\n') + '\n')],
        verifier,
      );
      expect(forgedResult.ok).toBe(false);
      expect(forgedResult.problems[0]).toMatch(/not the trusted key/);
    });

    it('catches an edited event even when the file hash and signature are made anew', async () => {
      const lines = file.trimEnd().split('\n');
      const event = JSON.parse(lines[4] ?? '') as {
        data: Record<string, unknown>;
        streamName: string;
        revision: string;
      };
      event.data['amount'] = '1000000.00';
      const body = [...lines.slice(0, 4), JSON.stringify(event), ...lines.slice(5, -1)]
        .map((line) => `${line}\n`)
        .join('');
      const signed = JSON.parse(lines.at(-1) ?? '') as { manifest: Record<string, unknown> };
      const { createHash } = await import('node:crypto');
      const manifest = { ...signed.manifest, sha256: createHash('sha256').update(body).digest('hex') };
      const resigned = `${body}${JSON.stringify({ manifest, signature: key.sign(canonicalJson(manifest)) })}\n`;
      const result = await verifyExport([Buffer.from(resigned)], verifyingKey(key.publicKeyPem));
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([
        `line 5: stream ${event.streamName} revision ${event.revision}: the content does not match its hash`,
      ]);
    });

    it('selects a window by position (from exclusive, to inclusive) and by time, and continues a cut-short one', async () => {
      const all = file
        .trimEnd()
        .split('\n')
        .slice(0, -1)
        .map((line) => JSON.parse(line) as { position: string; occurredAt: string });
      const byPosition = await exportOf(orgId, {
        from: parseBound(all[2]?.position, 'from'),
        to: parseBound(all[6]?.position, 'to'),
      });
      const positions = byPosition.text
        .trimEnd()
        .split('\n')
        .slice(0, -1)
        .map((line) => (JSON.parse(line) as { position: string }).position);
      expect(positions).toEqual(all.slice(3, 7).map((event) => event.position));
      expect((await verifyExport([Buffer.from(byPosition.text)], verifyingKey(key.publicKeyPem))).ok).toBe(
        true,
      );

      const byTime = await exportOf(orgId, {
        from: parseBound(all[0]?.occurredAt, 'from'),
        to: parseBound('2999-01-01T00:00:00Z', 'to'),
      });
      expect(byTime.text.trimEnd().split('\n')).toHaveLength(13);

      const firstPart = await exportOf(orgId, { from: null, to: null }, 5);
      expect(firstPart.nextFrom).toBe(all[4]?.position);
      const rest = await exportOf(orgId, { from: parseBound(firstPart.nextFrom ?? '', 'from'), to: null });
      expect(rest.text.trimEnd().split('\n')).toHaveLength(8);
    });
  });
}
