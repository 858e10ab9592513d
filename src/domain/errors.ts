/**
 * The one error registry. Every failure the platform reports has a stable code, a status
 * (HTTP at the edge, the same code in MCP tool errors) and a default message. Expected
 * failures are values or instances of LedgerlineError; anything else is a bug.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request is invalid.' },
  UNAUTHENTICATED: { status: 401, message: 'Authentication is required.' },
  INVALID_CREDENTIALS: { status: 401, message: 'The email or password is wrong.' },
  FORBIDDEN: { status: 403, message: 'This credential may not do that.' },
  ORG_SUSPENDED: {
    status: 403,
    message: 'The organization is suspended; its data can be read but nothing changed.',
  },
  NOT_FOUND: { status: 404, message: 'No such object.' },
  ALREADY_EXISTS: { status: 409, message: 'An object with this identity already exists.' },
  ID_REUSED: { status: 409, message: 'This id was already used with a different request.' },
  ALREADY_REVERSED: { status: 409, message: 'The transfer has already been reversed in full.' },
  INSUFFICIENT_FUNDS: { status: 422, message: 'The account cannot cover this amount.' },
  LIMIT_EXCEEDED: { status: 422, message: 'The amount would take the account past its limit.' },
  ACCOUNT_CLOSED: { status: 422, message: 'The account is closed.' },
  ASSET_MISMATCH: { status: 422, message: 'The accounts and the amount are not in one asset.' },
  PENDING_EXPIRED: { status: 409, message: 'The pending transfer has passed its timeout.' },
  LINKED_EVENT_FAILED: {
    status: 422,
    message: 'Another transfer of this linked batch failed, so none was made.',
  },
  INVALID_STATE: { status: 409, message: 'The object is not in a state that allows this.' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'This Idempotency-Key was used with a different request.' },
  NOT_YET_CONSISTENT: {
    status: 409,
    message: 'The read models have not reached the requested position yet.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  URI_TOO_LONG: { status: 414, message: 'The request URL is too long.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send JSON (Content-Type: application/json).' },
  QUOTA_EXCEEDED: { status: 402, message: 'The monthly command quota is used up.' },
  PROVIDER_UNAVAILABLE: {
    status: 502,
    message: 'The payment provider could not be reached or refused the request; nothing was sent.',
  },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down.' },
  CONCURRENCY_CONFLICT: { status: 409, message: 'The stream changed since it was read.' },
  DUPLICATE_EVENT_ID: { status: 409, message: 'An event with this id is already stored elsewhere.' },
  APPEND_TOO_LARGE: { status: 413, message: 'The append is larger than the event store accepts.' },
  STORE_UNAVAILABLE: { status: 503, message: 'The event store is unavailable.' },
  DATA_DIR_LOCKED: { status: 503, message: 'The data directory is in use by another process.' },
  MIGRATION_FAILED: { status: 500, message: 'A schema migration failed.' },
  READ_MODEL_KEYS_STALE: {
    status: 500,
    message: "The read models' keys were written by other hash functions than this database's; rebuild them.",
  },
  CREDENTIALS_REVOKED: { status: 410, message: 'These provider credentials were revoked.' },
  CREDENTIALS_SHREDDED: {
    status: 410,
    message: 'The data key that sealed these credentials was destroyed; they can never be read again.',
  },
  MASTER_KEY_MISMATCH: {
    status: 500,
    message: 'The vault master key is not the one that wrapped this data key.',
  },
  CANCELLED: { status: 409, message: 'The caller cancelled the request before it finished.' },
  INTERNAL: { status: 500, message: 'An internal error occurred.' },
} as const satisfies Record<string, { readonly status: number; readonly message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorDetails = Readonly<Record<string, unknown>>;

export class LedgerlineError extends Error {
  override readonly name: string = 'LedgerlineError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}

/** A bad input, naming the field (a dotted path) that is wrong. */
export class ValidationError extends LedgerlineError {
  override readonly name = 'ValidationError';
  readonly field: string;

  constructor(field: string, message: string, details: ErrorDetails = {}) {
    super('VALIDATION_FAILED', `${field}: ${message}`, { ...details, field });
    this.field = field;
  }
}

export function isLedgerlineError(error: unknown): error is LedgerlineError {
  return error instanceof LedgerlineError;
}

/** An append whose expected revision did not match the stream (optimistic concurrency). */
export class ConcurrencyError extends LedgerlineError {
  override readonly name = 'ConcurrencyError';

  constructor(
    readonly stream: string,
    /** A revision, `no_stream` or `any`. */
    readonly expected: bigint | 'no_stream' | 'any',
    /** The stream's revision now, or `no_stream`. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(
      'CONCURRENCY_CONFLICT',
      `Stream ${stream} is at revision ${String(actual)}, not the expected ${String(expected)}.`,
      { stream, expectedRevision: String(expected), actualRevision: String(actual) },
    );
  }
}
