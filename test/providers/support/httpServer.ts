/**
 * A real HTTP server on 127.0.0.1:0 that records every request and lets a test decide each
 * answer — including never answering (a provider that times out). Used as a stand-in for
 * Daraja and Stripe, and as the organization's callback endpoint for the simulators.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read JSON answers freely
  readonly json: any;
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

export interface TestServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Replaces the handler for the requests to come. */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export async function startServer(initial: Handler): Promise<TestServer> {
  let handler = initial;
  const requests: RecordedRequest[] = [];
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body.length > 0 ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = {
        method: incoming.method ?? '',
        path: incoming.url ?? '',
        headers: incoming.headers,
        body,
        json,
      };
      requests.push(recorded);
      void Promise.resolve(handler(recorded, response)).catch((error: unknown) => {
        sendJson(response, 599, { testServerError: String(error) });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** Waits, a bounded number of short polls, until `condition` holds. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  pollsMax = 500,
  pollMs = 10,
): Promise<void> {
  for (let poll = 0; poll < pollsMax; poll += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}
