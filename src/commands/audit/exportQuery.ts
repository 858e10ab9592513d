/** `GET /v1/audit/export`: a signed export of an organization's events, a bounded window at a time. */
import { z } from 'zod';
import { defineQuery } from '../catalog.js';
import { grantParam, resolveAuditTarget } from './access.js';
import { parseBound, writeExport } from './exportFile.js';

/** Events one export request holds; the CLI (`ledgerline audit export`) has no such bound. */
export const EXPORT_EVENTS_PER_REQUEST_MAX = 5_000;

const manifest = z.object({
  format: z.string(),
  orgId: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  count: z.number(),
  firstPosition: z.string().nullable(),
  lastPosition: z.string().nullable(),
  sha256: z.string(),
  createdAt: z.string(),
  keyId: z.string(),
  algorithm: z.string(),
});

export const auditExport = defineQuery({
  name: 'audit_export',
  title: 'Export events with a signed manifest',
  description: `Evidence for an auditor: the organization's events in global order as a JSON-lines file (one event with its full envelope per line) ending in a manifest line signed with the platform's Ed25519 key (count, first and last position, SHA-256 of the lines before it). Save "file" as is and check it with \`ledgerline audit verify-export <file> --public-key <pem>\`. Window: from and to are each a position ("<commit>-<prepare>"; from exclusive, to inclusive) or an ISO 8601 time (from inclusive, to exclusive); both optional. At most ${EXPORT_EVENTS_PER_REQUEST_MAX.toLocaleString('en')} events per request: when nextFrom is not null, request the next file with from=nextFrom. Read-only; reads the caller's organization, or with grantId the organization that gave that audit grant.`,
  params: z.strictObject({
    from: z.string().max(64).optional(),
    to: z.string().max(64).optional(),
    grantId: grantParam,
  }),
  result: z.object({ orgId: z.string(), manifest, nextFrom: z.string().nullable(), file: z.string() }),
  scope: 'audit:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/audit/export' },
  async run(params, context) {
    const window = { from: parseBound(params.from, 'from'), to: parseBound(params.to, 'to') };
    const target = await resolveAuditTarget(
      context.services,
      context.principal,
      params.grantId,
      'audit:read',
      'audit_export',
      `export ${params.from ?? 'start'}..${params.to ?? 'now'}`,
      context.now,
    );
    const parts: string[] = [];
    const result = await writeExport(
      context.services.store,
      target.orgId,
      window,
      context.services.auditSigning,
      (text) => {
        parts.push(text);
        return Promise.resolve();
      },
      { eventsMax: EXPORT_EVENTS_PER_REQUEST_MAX, now: context.now },
    );
    return {
      orgId: target.orgId,
      manifest: result.manifest,
      nextFrom: result.nextFrom,
      file: parts.join(''),
    };
  },
});
