/**
 * NATS for tests: the shared server (NATS_URL, default 127.0.0.1:4222) probed like PostgreSQL,
 * names of a JetStream stream and subject prefix of each test's own (streams may not share
 * subjects, and files run in parallel), and a private nats-server on a loopback port that a
 * test may stop and start again — never the shared one, which other suites use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import type { ServiceProbe } from './services.js';

export const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
export const NATS_SERVER_BINARY = process.env['NATS_SERVER_BINARY'] ?? '/usr/sbin/nats-server';
const PROBE_TIMEOUT_MS = 3_000;
/** A private server gets this long to accept connections after it is spawned. */
const SERVER_START_MAX_MS = 15_000;
const SERVER_POLL_MS = 50;

export async function probeNats(url = NATS_URL): Promise<ServiceProbe> {
  try {
    const nc = await connect({ servers: url, timeout: PROBE_TIMEOUT_MS, reconnect: false });
    try {
      await (await nc.jetstreamManager()).getAccountInfo();
    } finally {
      await nc.close();
    }
    return { available: true, reason: '' };
  } catch (error) {
    return { available: false, reason: `NATS JetStream at ${url}: ${(error as Error).message}` };
  }
}

export function uniqueBusNames(label: string): { stream: string; prefix: string } {
  const suffix = randomBytes(5).toString('hex');
  return { stream: `T_${label}_${suffix}`.toUpperCase(), prefix: `t_${label}_${suffix}` };
}

/** Deletes a test's stream (when it exists). */
export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: PROBE_TIMEOUT_MS, reconnect: false });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export interface PrivateNats {
  readonly url: string;
  /** Kills the server (SIGKILL: an outage, not a goodbye); its store stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
  /** Stops it and deletes its store. */
  dispose(): Promise<void>;
}

/** A nats-server of the test's own on a free loopback port, JetStream in a temporary folder. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), 'ledgerline-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let log = '';

  async function start(): Promise<void> {
    const spawned = spawn(
      NATS_SERVER_BINARY,
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = spawned;
    spawned.stderr.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4_000);
    });
    const deadline = Date.now() + SERVER_START_MAX_MS;
    for (;;) {
      if ((await probeNats(url)).available) return;
      if (Date.now() > deadline || spawned.exitCode !== null) {
        throw new Error(`the private nats-server did not start on ${url}: ${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, SERVER_POLL_MS));
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    url,
    stop,
    start,
    async dispose() {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

/** Every message of a stream, oldest first (at most `max`), parsed as JSON. */
export async function readWholeStream<T>(url: string, stream: string, max: number): Promise<T[]> {
  const nc = await connect({ servers: url, timeout: PROBE_TIMEOUT_MS, reconnect: false });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(stream);
    const out: T[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < max; seq += 1) {
      const message = await jsm.streams.getMessage(stream, { seq });
      out.push(message.json<T>());
    }
    return out;
  } finally {
    await nc.close();
  }
}
