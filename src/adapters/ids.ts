/**
 * Identifier generation lives at the edge: deciders receive ids in their context.
 */
import { randomBytes } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then randomness. Time-ordered ids keep
 * the event-id index append-mostly instead of writing all over the B-tree.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  const bytes = randomSlice();
  // 48 bits of milliseconds, big-endian; a double holds them exactly (no bigint needed).
  let ms = Math.trunc(nowMs);
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Random bytes drawn from the system in blocks: one call per 256 ids instead of one per id. */
const RANDOM_POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomSlice(): Buffer {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(RANDOM_POOL_BYTES);
    poolOffset = 0;
  }
  // A copy, because the caller overwrites the timestamp and version bits.
  const slice = Buffer.from(pool.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return slice;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A prefixed, time-ordered id such as `org_01JD3…` (SPEC §1): the 128 bits of a UUIDv7 in
 * Crockford base32, 26 characters, so ids sort by creation time like ULIDs.
 */
export function newId(prefix: string, nowMs: number = Date.now()): string {
  let value = BigInt(`0x${uuidv7(nowMs).replaceAll('-', '')}`);
  let text = '';
  for (let i = 0; i < 26; i += 1) {
    text = (CROCKFORD[Number(value & 31n)] ?? '0') + text;
    value >>= 5n;
  }
  return `${prefix}_${text}`;
}
