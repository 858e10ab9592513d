/**
 * Shutdown is bounded by the server, not by its clients. A request in flight when the close
 * begins still gets its answer; its connection, kept alive by a client that never hangs up,
 * is then closed, so the close finishes (before, it waited for the client, up to the server's
 * keep-alive timeout: the hang seen in the M-Pesa suites, whose simulator's callbacks share
 * the test's keep-alive connections).
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../support/app.js';

/** Far beyond anything written: the read waits for it, then answers NOT_YET_CONSISTENT. */
const UNREACHED = '999999999-0';

describe('closing the server', () => {
  it('answers the request in flight, then closes its kept-alive connection and finishes', async () => {
    const app = await startTestApp('pglite');
    // Keeps every idle connection open for as long as the server lets it.
    const agent = new http.Agent({ keepAlive: true });
    try {
      const handling = new Promise<void>((resolve) => {
        app.server.app.server.once('request', () => {
          resolve();
        });
      });
      const answered = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const request = http.request(
          new URL(`/v1/organization?consistentWith=${UNREACHED}`, app.url),
          { agent, headers: { authorization: `Bearer ${app.demoKey}` } },
          (response) => {
            response.resume();
            response.on('end', () => {
              resolve({ status: response.statusCode ?? 0, connection: response.headers.connection });
            });
          },
        );
        request.on('error', reject);
        request.end();
      });
      await handling;
      const closed = app.close();
      const answer = await answered;
      expect(answer.status).toBe(409);
      await closed;
      expect(app.server.app.server.listening).toBe(false);
    } finally {
      agent.destroy();
    }
  });
});
