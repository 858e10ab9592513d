/**
 * The audit export: an organization's events for a window, as JSON lines in global order, each
 * with its whole envelope (metadata, revision, position, prevHash, hash), and a last line
 * holding a signed manifest:
 *
 *   {"manifest":{"format","orgId","from","to","count","firstPosition","lastPosition","sha256",
 *                "createdAt","keyId","algorithm"},"signature":"<base64 Ed25519>"}
 *
 * `sha256` covers every byte before the manifest line; the signature covers the manifest's
 * canonical JSON (sorted keys, no whitespace). `verifyExport` checks all of it with nothing
 * but the public key, and recomputes each stream's hash chain inside the window.
 *
 * Windows: `from` and `to` are each a position ("<commit>-<prepare>") or an ISO 8601 time.
 * A position `from` is exclusive and a position `to` inclusive, so the next export can start
 * at the last one's lastPosition; a time `from` is inclusive and a time `to` exclusive.
 */
import { createHash } from 'node:crypto';
import { comparePositions, formatPosition, parsePosition } from '../../adapters/eventstore/position.js';
import { START, type EventStore, type Position, type RecordedEvent } from '../../adapters/eventstore/port.js';
import { GENESIS_HASH, linkHash, recordedContentHash } from '../../adapters/eventstore/hashChain.js';
import {
  AUDIT_SIGNATURE_ALGORITHM,
  type AuditSigningKey,
  type AuditVerifyingKey,
} from '../../adapters/crypto/auditSigningKey.js';
import { canonicalJson } from '../../domain/canonicalJson.js';
import { ValidationError } from '../../domain/errors.js';
import { orgStreamPrefix } from '../../domain/streamName.js';
import { envelope, toEnvelope, type Envelope } from './envelope.js';

export const EXPORT_FORMAT = 'ledgerline-audit-export/1';
/** Events read from the store per round trip. */
const EXPORT_READ_PAGE = 1_000;
/** No export line is longer: an event is at most 256 KiB of JSON, its envelope a little more. */
export const EXPORT_LINE_BYTES_MAX = 4 * 1024 * 1024;
/** Problems a verification lists before it stops looking. */
export const VERIFY_PROBLEMS_MAX = 20;

export type Bound = { readonly position: Position } | { readonly time: Date };

export interface ExportWindow {
  readonly from: Bound | null;
  readonly to: Bound | null;
}

export interface Manifest {
  readonly format: string;
  readonly orgId: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly count: number;
  readonly firstPosition: string | null;
  readonly lastPosition: string | null;
  readonly sha256: string;
  readonly createdAt: string;
  readonly keyId: string;
  readonly algorithm: string;
}

const POSITION_TEXT = /^\d{1,20}-\d{1,20}$/;

export function parseBound(text: string | undefined, field: string): Bound | null {
  if (text === undefined || text.trim() === '') return null;
  if (POSITION_TEXT.test(text)) return { position: parsePosition(text, field) };
  const time = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time.getTime()))
    throw new ValidationError(field, 'must be a position ("<commit>-<prepare>") or an ISO 8601 time');
  return { time };
}

function boundText(bound: Bound | null): string | null {
  if (bound === null) return null;
  return 'position' in bound ? formatPosition(bound.position) : bound.time.toISOString();
}

export interface ExportOptions {
  /** Stop after this many events (the manifest's `to` is then the last position written). */
  readonly eventsMax?: number;
  readonly onProgress?: (eventsWritten: number) => void;
  readonly now: Date;
}

export interface ExportResult {
  readonly manifest: Manifest;
  /** When eventsMax cut the window short: the `from` that continues it. */
  readonly nextFrom: string | null;
}

/**
 * Writes the export line by line through `write` (awaited, so a slow file or socket holds the
 * reader back and memory stays flat). The window ends at the newest event committed when the
 * export began, so a busy organization's export still ends.
 */
export async function writeExport(
  store: EventStore,
  orgId: string,
  window: ExportWindow,
  key: AuditSigningKey,
  write: (text: string) => Promise<void>,
  options: ExportOptions,
): Promise<ExportResult> {
  const hash = createHash('sha256');
  const head = (await store.headPosition?.()) ?? null;
  const toPosition = window.to !== null && 'position' in window.to ? window.to.position : null;
  const fromTime = window.from !== null && 'time' in window.from ? window.from.time.getTime() : null;
  const toTime = window.to !== null && 'time' in window.to ? window.to.time.getTime() : null;
  let from = window.from !== null && 'position' in window.from ? window.from.position : START;
  let count = 0;
  let first: string | null = null;
  let last: string | null = null;
  let cut = false;
  const within = (event: RecordedEvent): 'in' | 'skip' | 'past' => {
    if (toPosition !== null && comparePositions(event.position, toPosition) > 0) return 'past';
    if (head !== null && comparePositions(event.position, head) > 0) return 'past';
    const at = event.occurredAt.getTime();
    if ((fromTime !== null && at < fromTime) || (toTime !== null && at >= toTime)) return 'skip';
    return 'in';
  };
  scan: for (;;) {
    const page = await store.readAll({
      from,
      filter: { streamPrefix: orgStreamPrefix(orgId) },
      maxCount: EXPORT_READ_PAGE,
    });
    for (const event of page.events) {
      const verdict = within(event);
      if (verdict === 'past') break scan;
      if (verdict === 'skip') continue;
      const line = `${JSON.stringify(toEnvelope(event))}\n`;
      hash.update(line, 'utf8');
      await write(line);
      count += 1;
      last = formatPosition(event.position);
      first ??= last;
      if (count % EXPORT_READ_PAGE === 0) options.onProgress?.(count);
      if (options.eventsMax !== undefined && count >= options.eventsMax) {
        cut = true;
        break scan;
      }
    }
    if (page.isEnd) break;
    from = page.next;
  }
  options.onProgress?.(count);
  const manifest: Manifest = {
    format: EXPORT_FORMAT,
    orgId,
    from: boundText(window.from),
    to: cut ? last : boundText(window.to),
    count,
    firstPosition: first,
    lastPosition: last,
    sha256: hash.digest('hex'),
    createdAt: options.now.toISOString(),
    keyId: key.keyId,
    algorithm: AUDIT_SIGNATURE_ALGORITHM,
  };
  await write(`${JSON.stringify({ manifest, signature: key.sign(canonicalJson(manifest)) })}\n`);
  return { manifest, nextFrom: cut ? last : null };
}

/** An export's bytes, in chunks of any size: a file stream, or an array of buffers. */
export type ExportChunks = AsyncIterable<Buffer | string> | Iterable<Buffer | string>;

export interface ExportVerification {
  readonly ok: boolean;
  readonly manifest: Manifest | null;
  readonly eventsChecked: number;
  readonly streams: number;
  /** What is wrong, each naming the line (1-based); empty when ok. */
  readonly problems: readonly string[];
}

/** The exact bytes of each line (without its newline), from any stream of chunks. */
async function* linesOf(chunks: ExportChunks): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  for await (const chunk of chunks) {
    pending = Buffer.concat([pending, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk]);
    let newline = pending.indexOf(0x0a);
    while (newline >= 0) {
      yield pending.subarray(0, newline);
      pending = pending.subarray(newline + 1);
      newline = pending.indexOf(0x0a);
    }
    if (pending.length > EXPORT_LINE_BYTES_MAX)
      throw new ValidationError('file', `has a line longer than ${EXPORT_LINE_BYTES_MAX} bytes`);
  }
  // A last line without its newline is yielded with a marker byte the JSON can never hold.
  if (pending.length > 0) yield Buffer.concat([pending, UNTERMINATED]);
}

const UNTERMINATED = Buffer.from([0x00]);

function recordedOf(envelope: Envelope): RecordedEvent {
  const [commit = '0', prepare = '0'] = envelope.position.split('-');
  return {
    ...envelope,
    data: envelope.data as RecordedEvent['data'],
    revision: BigInt(envelope.revision),
    position: { commit: BigInt(commit), prepare: BigInt(prepare) },
    occurredAt: new Date(envelope.occurredAt),
    actor: envelope.actor as RecordedEvent['actor'],
    channel: envelope.channel as RecordedEvent['channel'],
  };
}

/**
 * Checks an export with the public key alone: the manifest's signature and key, the count, the
 * first and last positions and the SHA-256 of every byte before the manifest, that events are
 * in global order and all of the manifest's organization, and each stream's hash chain: every
 * event's hash recomputed from its content and prevHash, and consecutive events of a stream
 * linked revision by revision. Memory grows with the number of streams in the file (one
 * revision and hash each), never with the number of events.
 */
export async function verifyExport(
  chunks: ExportChunks,
  key: AuditVerifyingKey,
): Promise<ExportVerification> {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < VERIFY_PROBLEMS_MAX) problems.push(text);
  };
  const hash = createHash('sha256');
  const heads = new Map<string, { revision: bigint; hash: string }>();
  let previous: Buffer | null = null;
  let lineNumber = 0;
  let count = 0;
  // Held in an object: the closure below writes them, and the narrowing must not assume null.
  const seen: { first: string | null; last: Position | null; orgIds: Set<string> } = {
    first: null,
    last: null,
    orgIds: new Set(),
  };

  const checkEvent = (bytes: Buffer, at: number): void => {
    hash.update(bytes);
    hash.update('\n');
    count += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      problem(`line ${at}: not JSON`);
      return;
    }
    const checked = envelope.safeParse(parsed);
    if (
      !checked.success ||
      !/^\d{1,20}$/.test(checked.data.revision) ||
      !POSITION_TEXT.test(checked.data.position) ||
      Number.isNaN(Date.parse(checked.data.occurredAt))
    ) {
      problem(`line ${at}: not an event envelope`);
      return;
    }
    const event = recordedOf(checked.data);
    seen.orgIds.add(event.orgId);
    if (seen.last !== null && comparePositions(event.position, seen.last) <= 0)
      problem(`line ${at}: position ${checked.data.position} is not after the line before`);
    seen.last = event.position;
    seen.first ??= checked.data.position;
    if (!event.streamName.startsWith(orgStreamPrefix(event.orgId)))
      problem(`line ${at}: stream ${event.streamName} is not of organization ${event.orgId}`);
    const before = heads.get(event.streamName);
    if (before !== undefined) {
      if (event.revision !== before.revision + 1n)
        problem(
          `line ${at}: stream ${event.streamName} jumps from revision ${before.revision} to ${event.revision}`,
        );
      else if (event.prevHash !== before.hash)
        problem(
          `line ${at}: stream ${event.streamName} revision ${event.revision} does not link to the revision before`,
        );
    } else if (event.revision === 0n && event.prevHash !== GENESIS_HASH) {
      problem(`line ${at}: stream ${event.streamName} revision 0 does not start the chain`);
    }
    let expected: string | null = null;
    try {
      expected = linkHash(event.prevHash, recordedContentHash(event));
    } catch {
      // Content that cannot be encoded canonically cannot be what was hashed.
    }
    if (expected !== event.hash)
      problem(
        `line ${at}: stream ${event.streamName} revision ${event.revision}: the content does not match its hash`,
      );
    heads.set(event.streamName, { revision: event.revision, hash: event.hash });
  };

  for await (const line of linesOf(chunks)) {
    lineNumber += 1;
    if (previous !== null) checkEvent(previous, lineNumber - 1);
    previous = line;
  }
  if (previous === null)
    return { ok: false, manifest: null, eventsChecked: 0, streams: 0, problems: ['the file is empty'] };

  // Everything in the manifest is untrusted until checked: read it as unknown values.
  let manifest: Record<string, unknown> | null = null;
  const shown = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));
  try {
    const parsed = JSON.parse(previous.toString('utf8')) as { manifest?: unknown; signature?: unknown };
    if (
      typeof parsed.manifest !== 'object' ||
      parsed.manifest === null ||
      typeof parsed.signature !== 'string'
    )
      throw new Error('no manifest');
    manifest = parsed.manifest as Record<string, unknown>;
    // Exactly as written, newline-terminated: no byte of the manifest line may change either.
    if (previous.toString('utf8') !== JSON.stringify({ manifest, signature: parsed.signature }))
      problem(`line ${lineNumber}: the manifest line is not exactly as it was written`);
    if (manifest['keyId'] !== key.keyId)
      problem(`manifest: signed with key ${shown(manifest['keyId'])}, not the trusted key ${key.keyId}`);
    else if (!key.verify(canonicalJson(manifest), parsed.signature))
      problem('manifest: the signature does not verify');
  } catch {
    problem(`line ${lineNumber}: the last line is not a signed manifest`);
  }
  if (manifest !== null) {
    if (manifest['format'] !== EXPORT_FORMAT)
      problem(`manifest: unknown format ${shown(manifest['format'])}`);
    if (manifest['count'] !== count)
      problem(`manifest: ${shown(manifest['count'])} events, but the file holds ${count}`);
    const digest = hash.digest('hex');
    if (manifest['sha256'] !== digest)
      problem(`manifest: sha256 ${shown(manifest['sha256'])}, but the file hashes to ${digest}`);
    const lastText = seen.last === null ? null : formatPosition(seen.last);
    if (manifest['firstPosition'] !== seen.first || manifest['lastPosition'] !== lastText)
      problem(
        `manifest: positions ${shown(manifest['firstPosition'])}…${shown(manifest['lastPosition'])}, but the file holds ${shown(seen.first)}…${shown(lastText)}`,
      );
    for (const orgId of seen.orgIds)
      if (orgId !== manifest['orgId'])
        problem(`an event of organization ${orgId} in an export of ${shown(manifest['orgId'])}`);
  }
  return {
    ok: problems.length === 0,
    manifest: manifest as Manifest | null,
    eventsChecked: count,
    streams: heads.size,
    problems,
  };
}
