/**
 * Every setting comes from the environment (README "Configuration" lists them all). A bad
 * value stops the process with a message naming the variable, before anything is opened.
 */
import { resolve } from 'node:path';
import { DARAJA_REQUEST_TIMEOUT_MS } from './adapters/providers/daraja/darajaMobileMoney.js';
import { ValidationError } from './domain/errors.js';

export const PORT_DEFAULT = 3000;
export const HOST_DEFAULT = '127.0.0.1';
export const DATA_DIR_DEFAULT = '.ledgerline-data';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly port: number;
  readonly host: string;
  /** PGlite's data folder, used when no DATABASE_URL is set. */
  readonly dataDir: string;
  /** Real PostgreSQL for events (unless EVENTSTORE_URL) and read models. */
  readonly databaseUrl: string | null;
  /** A schema of DATABASE_URL to keep every table in (created if missing); `public` when unset. */
  readonly databaseSchema: string | null;
  /** EventStoreDB for events. */
  readonly eventstoreUrl: string | null;
  readonly natsUrl: string | null;
  /** The JetStream stream events are published to (created when missing). */
  readonly natsStream: string;
  /** The first token of every event subject: `{prefix}.{orgId}.{category}.{type}`. */
  readonly natsSubjectPrefix: string;
  readonly logLevel: LogLevel;
  /** Signs access tokens; a generated key file in the data folder when unset. */
  readonly jwtSecret: string | null;
  /** The vault master key (base64 of 32 bytes); a generated key file in the data folder when unset. */
  readonly masterKey: string | null;
  /** Signs audit exports: an Ed25519 private key (PKCS#8 PEM); a generated key file in the data folder when unset. */
  readonly auditSigningKey: string | null;
  /** log2 of scrypt's N for new password hashes. */
  readonly passwordCostLog2: number;
  /** Run the projector in this process (the default) or leave it to `ledgerline project`. */
  readonly projector: 'in-process' | 'external';
  /** The payment providers: the simulators (the embedded default) or the real Daraja and Stripe APIs. */
  readonly providers: 'simulator' | 'live';
  /** The base URL providers call back at; the listening address when unset. */
  readonly publicUrl: string | null;
  /** Per-organization rate limits and quota; off where a gateway in front limits already. */
  readonly limits: 'on' | 'off';
  /** How long the M-Pesa simulator waits before it calls back; its own defaults when unset. */
  readonly simulatorDelayMs: number | null;
  /** Faults the M-Pesa simulator injects (for chaos tests and demos). */
  readonly simulatorFaults: {
    readonly callbackBeforeAnswer: boolean;
    readonly callbackCopies: number;
    readonly answerTimeout: boolean;
  };
  /**
   * The background resumer of bulk payouts whose run died: how often it runs and how long a
   * batch must have been quiet before it is resumed. Each null keeps its own default
   * (payoutResumer.ts).
   */
  readonly payoutResumer: {
    readonly intervalMs: number | null;
    readonly graceMs: number | null;
  };
  /**
   * The background M-Pesa resolver (asks about payments whose callback never came): how often
   * it runs, how long a payment waits before it is asked about, how many times at most. Each
   * null keeps the resolver's own default (mpesaResolver.ts).
   */
  readonly mpesaResolver: {
    readonly intervalMs: number | null;
    readonly graceMs: number | null;
    readonly attemptsMax: number | null;
  };
  /**
   * The background card resolver (asks about card payments and refunds whose outcome never
   * came): the same three settings as the M-Pesa resolver's; each null keeps its own default
   * (cardResolver.ts).
   */
  readonly cardResolver: {
    readonly intervalMs: number | null;
    readonly graceMs: number | null;
    readonly attemptsMax: number | null;
  };
  /** How long a payout's reservation holds the M-Pesa float; 24 hours when unset. */
  readonly payoutReservationSeconds: number | null;
  /** What `serve` serves: REST and MCP (hybrid), or one of them. */
  readonly mode: ServeMode;
  /** Browser origins allowed to reach /mcp and /sse besides loopback ones. */
  readonly mcpAllowedOrigins: readonly string[];
  /** Host header values allowed for /mcp and /sse (loopback names always are). */
  readonly mcpAllowedHosts: readonly string[];
}

export const SERVE_MODES = ['hybrid', 'rest', 'mcp'] as const;
export type ServeMode = (typeof SERVE_MODES)[number];

export type Environment = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Environment, overrides: Partial<Config> = {}): Config {
  const config: Config = {
    port: parsePort(env['PORT']),
    host: nonEmpty(env['HOST']) ?? HOST_DEFAULT,
    dataDir: resolve(nonEmpty(env['LEDGERLINE_DATA_DIR']) ?? DATA_DIR_DEFAULT),
    databaseUrl: url(env['DATABASE_URL'], 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseSchema: nonEmpty(env['LEDGERLINE_DATABASE_SCHEMA']),
    eventstoreUrl: url(env['EVENTSTORE_URL'], 'EVENTSTORE_URL', ['esdb:', 'esdb+discover:']),
    natsUrl: url(env['NATS_URL'], 'NATS_URL', ['nats:', 'tls:']),
    natsStream: natsToken(env['LEDGERLINE_NATS_STREAM'], 'LEDGERLINE_NATS_STREAM', NATS_STREAM_DEFAULT),
    natsSubjectPrefix: natsToken(
      env['LEDGERLINE_NATS_SUBJECT_PREFIX'],
      'LEDGERLINE_NATS_SUBJECT_PREFIX',
      NATS_SUBJECT_PREFIX_DEFAULT,
    ),
    logLevel: parseLogLevel(env['LOG_LEVEL']),
    jwtSecret: parseJwtSecret(env['LEDGERLINE_JWT_SECRET']),
    masterKey: parseMasterKey(env['LEDGERLINE_MASTER_KEY']),
    auditSigningKey: nonEmpty(env['LEDGERLINE_AUDIT_SIGNING_KEY']),
    passwordCostLog2: parseCost(env['LEDGERLINE_PASSWORD_COST']),
    projector: parseProjector(env['LEDGERLINE_PROJECTOR']),
    providers: parseProviders(env['LEDGERLINE_PROVIDERS']),
    publicUrl: url(env['LEDGERLINE_PUBLIC_URL'], 'LEDGERLINE_PUBLIC_URL', ['http:', 'https:']),
    limits: parseLimits(env['LEDGERLINE_LIMITS']),
    simulatorDelayMs: parseDelay(env['LEDGERLINE_SIMULATOR_DELAY_MS']),
    simulatorFaults: parseFaults(env['LEDGERLINE_SIMULATOR_FAULTS']),
    payoutResumer: {
      intervalMs: boundedInteger(
        env['LEDGERLINE_MPESA_RESUMER_INTERVAL_MS'],
        'LEDGERLINE_MPESA_RESUMER_INTERVAL_MS',
        10,
        RESUMER_INTERVAL_MAX_MS,
      ),
      graceMs: boundedInteger(
        env['LEDGERLINE_MPESA_RESUMER_GRACE_MS'],
        'LEDGERLINE_MPESA_RESUMER_GRACE_MS',
        0,
        RESUMER_GRACE_MAX_MS,
      ),
    },
    mpesaResolver: {
      intervalMs: boundedInteger(
        env['LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS'],
        'LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS',
        10,
        RESOLVER_INTERVAL_MAX_MS,
      ),
      graceMs: boundedInteger(
        env['LEDGERLINE_MPESA_RESOLVER_GRACE_MS'],
        'LEDGERLINE_MPESA_RESOLVER_GRACE_MS',
        0,
        RESOLVER_GRACE_MAX_MS,
      ),
      attemptsMax: boundedInteger(
        env['LEDGERLINE_MPESA_RESOLVER_ATTEMPTS'],
        'LEDGERLINE_MPESA_RESOLVER_ATTEMPTS',
        1,
        RESOLVER_ATTEMPTS_LIMIT,
      ),
    },
    cardResolver: {
      intervalMs: boundedInteger(
        env['LEDGERLINE_CARD_RESOLVER_INTERVAL_MS'],
        'LEDGERLINE_CARD_RESOLVER_INTERVAL_MS',
        10,
        RESOLVER_INTERVAL_MAX_MS,
      ),
      graceMs: boundedInteger(
        env['LEDGERLINE_CARD_RESOLVER_GRACE_MS'],
        'LEDGERLINE_CARD_RESOLVER_GRACE_MS',
        0,
        RESOLVER_GRACE_MAX_MS,
      ),
      attemptsMax: boundedInteger(
        env['LEDGERLINE_CARD_RESOLVER_ATTEMPTS'],
        'LEDGERLINE_CARD_RESOLVER_ATTEMPTS',
        1,
        RESOLVER_ATTEMPTS_LIMIT,
      ),
    },
    payoutReservationSeconds: boundedInteger(
      env['LEDGERLINE_MPESA_PAYOUT_RESERVATION_SECONDS'],
      'LEDGERLINE_MPESA_PAYOUT_RESERVATION_SECONDS',
      1,
      PAYOUT_RESERVATION_MAX_SECONDS,
    ),
    mode: parseMode(env['LEDGERLINE_MODE']),
    mcpAllowedOrigins: list(env['LEDGERLINE_MCP_ALLOWED_ORIGINS']),
    mcpAllowedHosts: list(env['LEDGERLINE_MCP_ALLOWED_HOSTS']).map((host) => host.toLowerCase()),
    ...overrides,
  };
  const grace = config.payoutResumer.graceMs;
  if (config.providers === 'live' && grace !== null && grace < RESUMER_GRACE_LIVE_MIN_MS) {
    throw new ValidationError(
      'LEDGERLINE_MPESA_RESUMER_GRACE_MS',
      `must be at least ${String(RESUMER_GRACE_LIVE_MIN_MS)} with live providers`,
    );
  }
  return config;
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value.trim() === '' ? null : value.trim();
}

function parsePort(value: string | undefined): number {
  const text = nonEmpty(value);
  if (text === null) return PORT_DEFAULT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535)
    throw new ValidationError('PORT', 'must be a port number from 0 to 65535');
  return port;
}

export const PASSWORD_COST_DEFAULT = 15;
const PASSWORD_COST_MIN = 10;
const PASSWORD_COST_MAX = 20;
const JWT_SECRET_LENGTH_MIN = 32;

function parseJwtSecret(value: string | undefined): string | null {
  const text = nonEmpty(value);
  if (text !== null && text.length < JWT_SECRET_LENGTH_MIN) {
    throw new ValidationError(
      'LEDGERLINE_JWT_SECRET',
      `must be at least ${JWT_SECRET_LENGTH_MIN} characters`,
    );
  }
  return text;
}

const MASTER_KEY_BYTES = 32;

/** The message never repeats the value: it is a secret, even when it is a wrong one. */
function parseMasterKey(value: string | undefined): string | null {
  const text = nonEmpty(value);
  if (text === null) return null;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || Buffer.from(text, 'base64').length !== MASTER_KEY_BYTES) {
    throw new ValidationError(
      'LEDGERLINE_MASTER_KEY',
      `must be ${MASTER_KEY_BYTES} random bytes in base64 (openssl rand -base64 32)`,
    );
  }
  return text;
}

function parseCost(value: string | undefined): number {
  const text = nonEmpty(value);
  if (text === null) return PASSWORD_COST_DEFAULT;
  const cost = Number(text);
  if (!Number.isInteger(cost) || cost < PASSWORD_COST_MIN || cost > PASSWORD_COST_MAX) {
    throw new ValidationError(
      'LEDGERLINE_PASSWORD_COST',
      `must be an integer from ${PASSWORD_COST_MIN} to ${PASSWORD_COST_MAX}`,
    );
  }
  return cost;
}

function parseProjector(value: string | undefined): 'in-process' | 'external' {
  const text = nonEmpty(value) ?? 'in-process';
  if (text !== 'in-process' && text !== 'external') {
    throw new ValidationError('LEDGERLINE_PROJECTOR', 'must be in-process or external');
  }
  return text;
}

function parseProviders(value: string | undefined): 'simulator' | 'live' {
  const text = nonEmpty(value) ?? 'simulator';
  if (text !== 'simulator' && text !== 'live') {
    throw new ValidationError('LEDGERLINE_PROVIDERS', 'must be simulator or live');
  }
  return text;
}

/** The payout resumer waking less than hourly, or waiting more than a day, is a misconfiguration. */
const RESUMER_INTERVAL_MAX_MS = 60 * 60 * 1000;
const RESUMER_GRACE_MAX_MS = 24 * 60 * 60 * 1000;
/**
 * With live providers the resumer waits at least this long: more than twice a Daraja request's
 * timeout, so a run still alive (waiting on M-Pesa, about to record a cancellation) is never
 * taken for a dead one. The simulator answers at once, so tests may wait less.
 */
export const RESUMER_GRACE_LIVE_MIN_MS = 2 * DARAJA_REQUEST_TIMEOUT_MS + 30_000;

/** A simulator that waits longer than this is a misconfiguration, not a simulation. */
const SIMULATOR_DELAY_MAX_MS = 60_000;
const CALLBACK_COPIES_MAX = 5;

function parseDelay(value: string | undefined): number | null {
  const text = nonEmpty(value);
  if (text === null) return null;
  const delay = Number(text);
  if (!/^\d+$/.test(text) || delay > SIMULATOR_DELAY_MAX_MS) {
    throw new ValidationError(
      'LEDGERLINE_SIMULATOR_DELAY_MS',
      `must be milliseconds from 0 to ${SIMULATOR_DELAY_MAX_MS}`,
    );
  }
  return delay;
}

function parseFaults(value: string | undefined): Config['simulatorFaults'] {
  let callbackBeforeAnswer = false;
  let answerTimeout = false;
  let callbackCopies = 1;
  for (const fault of (nonEmpty(value) ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const copies = /^callback-copies=(\d+)$/.exec(fault);
    if (fault === 'callback-before-answer') callbackBeforeAnswer = true;
    else if (fault === 'answer-timeout') answerTimeout = true;
    else if (
      copies?.[1] !== undefined &&
      Number(copies[1]) >= 1 &&
      Number(copies[1]) <= CALLBACK_COPIES_MAX
    ) {
      callbackCopies = Number(copies[1]);
    } else {
      throw new ValidationError(
        'LEDGERLINE_SIMULATOR_FAULTS',
        `must list callback-before-answer, answer-timeout and/or callback-copies=N (1 to ${CALLBACK_COPIES_MAX})`,
      );
    }
  }
  return { callbackBeforeAnswer, callbackCopies, answerTimeout };
}

/** A resolver (M-Pesa or cards) waking less than hourly, or waiting more than a day, is a misconfiguration. */
const RESOLVER_INTERVAL_MAX_MS = 60 * 60 * 1000;
const RESOLVER_GRACE_MAX_MS = 24 * 60 * 60 * 1000;
const RESOLVER_ATTEMPTS_LIMIT = 1_000;
/** A reservation beyond a week holds the float hostage; shorter than its result is a test setting. */
const PAYOUT_RESERVATION_MAX_SECONDS = 7 * 24 * 60 * 60;

/** An optional integer setting within [min, max]; null when unset. */
function boundedInteger(value: string | undefined, name: string, min: number, max: number): number | null {
  const text = nonEmpty(value);
  if (text === null) return null;
  const number = Number(text);
  if (!/^\d+$/.test(text) || number < min || number > max) {
    throw new ValidationError(name, `must be an integer from ${String(min)} to ${String(max)}`);
  }
  return number;
}

export const NATS_STREAM_DEFAULT = 'LEDGERLINE_EVENTS';
export const NATS_SUBJECT_PREFIX_DEFAULT = 'ledger';
/** One NATS subject token (no dots, wildcards or spaces); stream names follow the same rule. */
const NATS_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

function natsToken(value: string | undefined, name: string, fallback: string): string {
  const text = nonEmpty(value) ?? fallback;
  if (!NATS_TOKEN.test(text)) {
    throw new ValidationError(name, 'must be 1 to 64 letters, digits, _ or -');
  }
  return text;
}

function parseLimits(value: string | undefined): 'on' | 'off' {
  const text = nonEmpty(value) ?? 'on';
  if (text !== 'on' && text !== 'off') throw new ValidationError('LEDGERLINE_LIMITS', 'must be on or off');
  return text;
}

export function parseMode(value: string | undefined, name = 'LEDGERLINE_MODE'): ServeMode {
  const text = nonEmpty(value) ?? 'hybrid';
  const mode = SERVE_MODES.find((known) => known === text);
  if (!mode) throw new ValidationError(name, `must be one of ${SERVE_MODES.join(', ')}`);
  return mode;
}

/** A comma-separated list; empty entries dropped. */
function list(value: string | undefined): string[] {
  return (nonEmpty(value) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseLogLevel(value: string | undefined): LogLevel {
  const text = nonEmpty(value) ?? 'info';
  const level = LOG_LEVELS.find((known) => known === text);
  if (!level) throw new ValidationError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

function url(value: string | undefined, name: string, protocols: readonly string[]): string | null {
  const text = nonEmpty(value);
  if (text === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ValidationError(name, 'is not a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ValidationError(
      name,
      `must start with ${protocols.map((protocol) => `${protocol}//`).join(' or ')}`,
    );
  }
  return text;
}
