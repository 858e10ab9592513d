/**
 * Closing the HTTP server without waiting on idle keep-alive connections. Fastify closes the
 * connections that are idle when the close begins; a connection still busy then (a request in
 * flight, say a callback or a `consistentWith` wait) stays open once its answer is written, and
 * the close waits for the client to hang up, which a keep-alive client may not do for minutes.
 * So while the close runs, connections that have gone idle are closed as they go, and requests
 * still running after a grace are cut off: shutdown is bounded, and every request that finishes
 * in time still gets its answer.
 */
import type { FastifyInstance } from 'fastify';

/** How often connections that went idle during the close are closed. */
export const IDLE_SWEEP_MS = 50;
/** Requests still running this long after the close began are cut off. */
export const REQUESTS_GRACE_MS = 5_000;

export async function closeServer(app: FastifyInstance, graceMs = REQUESTS_GRACE_MS): Promise<void> {
  const sweep = setInterval(() => {
    app.server.closeIdleConnections();
  }, IDLE_SWEEP_MS);
  const cutOff = setTimeout(() => {
    app.server.closeAllConnections();
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(cutOff);
  }
}
