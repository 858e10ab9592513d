/**
 * Every secret a test uses, registered as it is made, so that a scan can prove none of them
 * reached an event, a read-model row, a log line or an error answer in plain text.
 *
 * Register with `registerSecret(value, label)` wherever a test makes or receives a secret (a
 * password, an API key, an access or refresh token, provider credentials, a master or data
 * key). Registrations live in the test file's module (vitest isolates files), so a file scans
 * what it registered itself: test/api/secretScan.test.ts drives every secret-bearing surface
 * end to end, then scans the whole schema and the captured log.
 *
 * A secret is looked for as written and in the encodings it could be stored in by mistake:
 * base64, base64url, hex, and JSON-escaped.
 */
import type { SqlClient } from '../../src/adapters/db/database.js';

/** Shorter values would match by chance (a shortcode, a 4-character suffix); they are not secrets. */
export const SECRET_LENGTH_MIN = 8;

interface Registered {
  readonly label: string;
  readonly forms: readonly string[];
}

const registry = new Map<string, Registered>();

function formsOf(value: string | Uint8Array): string[] {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  const forms = new Set<string>([
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
  ]);
  if (typeof value === 'string') {
    forms.add(value);
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  return [...forms].filter((form) => form.length >= SECRET_LENGTH_MIN);
}

/** Remembers a secret (text, or raw key bytes) for the scans below; answers it for chaining. */
export function registerSecret<T extends string | Uint8Array>(value: T, label: string): T {
  const key = typeof value === 'string' ? `s:${value}` : `b:${Buffer.from(value).toString('hex')}`;
  if ((typeof value === 'string' ? value.length : value.length) < SECRET_LENGTH_MIN) {
    throw new Error(`${label}: a secret shorter than ${SECRET_LENGTH_MIN} cannot be scanned for reliably`);
  }
  registry.set(key, { label, forms: formsOf(value) });
  return value;
}

/** Registers every string value of an object (provider credentials), skipping short ones. */
export function registerSecrets(
  values: Readonly<Record<string, unknown>>,
  label: string,
  skip: readonly string[] = [],
): void {
  for (const [field, value] of Object.entries(values)) {
    if (typeof value === 'string' && value.length >= SECRET_LENGTH_MIN && !skip.includes(field)) {
      registerSecret(value, `${label}.${field}`);
    }
  }
}

export function registeredSecretCount(): number {
  return registry.size;
}

export interface SecretFinding {
  readonly secret: string;
  readonly where: string;
}

/** Every registered secret found in `text` (in any of its forms), labelled `where`. */
export function findSecrets(text: string, where: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const lower = text.toLowerCase();
  for (const { label, forms } of registry.values()) {
    // Hex is case-insensitive in PostgreSQL's output; everything else is compared exactly.
    if (forms.some((form) => text.includes(form) || (/^[0-9a-f]+$/.test(form) && lower.includes(form)))) {
      findings.push({ secret: label, where });
    }
  }
  return findings;
}

/** Rows scanned per statement: the scan reads every table of the schema a page at a time. */
const SCAN_PAGE_ROWS = 500;
/** A test schema holds far fewer rows than this; more means a runaway test, not a scan. */
const SCAN_ROWS_MAX = 1_000_000;

/**
 * Scans every row of every table in the current schema (events, read models, idempotency
 * answers, keys, checkpoints — everything), each row whole as JSON text (bytea columns come
 * out as hex), for every registered secret. Answers what it found and how much it read.
 */
export async function scanSchema(
  db: SqlClient,
): Promise<{ findings: SecretFinding[]; tables: string[]; rows: number }> {
  const { rows: tables } = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const findings: SecretFinding[] = [];
  let total = 0;
  for (const { table_name: table } of tables) {
    for (let offset = 0; offset < SCAN_ROWS_MAX; offset += SCAN_PAGE_ROWS) {
      const { rows } = await db.query<{ row: string }>(
        `SELECT to_jsonb(t)::text AS row FROM "${table.replaceAll('"', '""')}" t ORDER BY to_jsonb(t)::text LIMIT $1 OFFSET $2`,
        [SCAN_PAGE_ROWS, offset],
      );
      for (const { row } of rows) findings.push(...findSecrets(row, table));
      total += rows.length;
      if (rows.length < SCAN_PAGE_ROWS) break;
    }
  }
  return { findings, tables: tables.map((row) => row.table_name), rows: total };
}

/** Collects log lines (pass as startTestApp's logStream) for scanning. */
export class LogCapture {
  readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }

  scan(): SecretFinding[] {
    return this.lines.flatMap((line, index) => findSecrets(line, `log line ${index + 1}`));
  }
}
