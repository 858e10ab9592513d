/**
 * The HTTP plumbing the provider adapters share: one request with a timeout and a bounded
 * answer, telling apart "never sent" (safe to repeat anything) from "sent, no answer" (the
 * provider may have acted); bounded retries for calls that are safe to repeat; scrubbing of
 * secrets from any text that leaves an adapter.
 */

export type FetchFunction = typeof fetch;

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
}

export type HttpOutcome =
  | {
      readonly kind: 'answered';
      readonly status: number;
      readonly headers: Headers;
      readonly text: string;
      /** The body parsed as JSON, or undefined when it is not JSON. */
      readonly json: unknown;
    }
  /** The connection was never made: the provider cannot have seen the request. */
  | { readonly kind: 'not_sent'; readonly message: string }
  /** Sent (or possibly sent) without a usable answer: a timeout, a reset, a truncated body. */
  | { readonly kind: 'no_answer'; readonly message: string };

/** Providers answer in kilobytes; anything past this is not an answer we want to hold. */
export const RESPONSE_BYTES_MAX = 1024 * 1024;
/** A provider message longer than this is cut: it is for people, not a payload carrier. */
export const MESSAGE_LENGTH_MAX = 300;
/** Secrets shorter than this are not scrubbed character by character (they would mangle text). */
const SECRET_LENGTH_MIN = 4;
/** Connection errors raised before any byte left: repeating the request is always safe. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export async function sendHttp(fetchFunction: FetchFunction, request: HttpRequest): Promise<HttpOutcome> {
  let response: Response;
  try {
    response = await fetchFunction(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(request.timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    return describeFetchError(error, request.timeoutMs);
  }
  let text: string;
  try {
    text = await readBounded(response, AbortSignal.timeout(request.timeoutMs));
  } catch (error) {
    return { kind: 'no_answer', message: `the answer could not be read (${errorName(error)})` };
  }
  let json: unknown;
  try {
    json = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { kind: 'answered', status: response.status, headers: response.headers, text, json };
}

async function readBounded(response: Response, signal: AbortSignal): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const abort = (): void => {
    void reader.cancel();
  };
  signal.addEventListener('abort', abort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal.aborted) throw new Error('timed out reading the answer');
      if (done) break;
      bytes += value.byteLength;
      if (bytes > RESPONSE_BYTES_MAX) {
        await reader.cancel();
        throw new Error(`answer larger than ${RESPONSE_BYTES_MAX} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener('abort', abort);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Only the error's class, never its message: an HTTP stack may quote the request (headers with
 * credentials included) in its messages.
 */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown error';
}

function describeFetchError(error: unknown, timeoutMs: number): HttpOutcome {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return { kind: 'no_answer', message: `no answer within ${timeoutMs} ms` };
  }
  const code = causeCode(error);
  if (code !== undefined && NOT_SENT_CODES.has(code)) {
    return { kind: 'not_sent', message: `could not connect (${code})` };
  }
  return { kind: 'no_answer', message: `the connection failed (${code ?? errorName(error)})` };
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  // Errors from fetch wrap the socket error one or two levels down.
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/** Replaces every secret in `text` and cuts it to a readable length. */
export function scrub(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= SECRET_LENGTH_MIN) result = result.split(secret).join('[redacted]');
  }
  return result.length > MESSAGE_LENGTH_MAX ? `${result.slice(0, MESSAGE_LENGTH_MAX)}…` : result;
}

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff for attempt `n` (1-based) from `baseMs`, capped. */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** (attempt - 1));
}

/** `Authorization: Basic …` for a user and password (never logged). */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
