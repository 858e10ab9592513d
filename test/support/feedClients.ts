/**
 * Clients of the live event feed for tests: an SSE reader over fetch (parsing `id:`, `data:`,
 * `event:` and comment lines as EventSource does) and a WebSocket one over `ws`. Both collect
 * what arrives; tests poll them with bounded waits.
 */
import WebSocket from 'ws';
import type { BusEvent } from '../../src/adapters/bus/busEvent.js';

export interface FeedClient {
  readonly events: BusEvent[];
  /** The `id:` of every event, in order (SSE) or the `id` field (WebSocket). */
  readonly ids: string[];
  /** Comment lines (heartbeats) seen. */
  heartbeats: number;
  /** The close reason the server sent, if it did. */
  closeReason: { code: string; message: string } | null;
  /** True once the server ended the connection. */
  ended: boolean;
  close(): void;
}

export interface FeedRefusal {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers freely
  readonly body: any;
  readonly headers: Headers | Record<string, string | string[] | undefined>;
}

/** Opens /v1/events; resolves once the answer's headers arrived (or with the refusal). */
export async function openSse(
  baseUrl: string,
  token: string | null,
  options: { query?: string; lastEventId?: string } = {},
): Promise<FeedClient | FeedRefusal> {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const response = await fetch(`${baseUrl}/v1/events${options.query ? `?${options.query}` : ''}`, {
    headers,
    signal: controller.signal,
  });
  if (response.status !== 200 || !response.body) {
    const text = await response.text();
    return {
      status: response.status,
      body: text === '' ? null : JSON.parse(text),
      headers: response.headers,
    };
  }
  const client: FeedClient = {
    events: [],
    ids: [],
    heartbeats: 0,
    closeReason: null,
    ended: false,
    close: () => {
      controller.abort();
    },
  };
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          handleFrame(client, buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted by the test.
    } finally {
      client.ended = true;
    }
  })();
  return client;
}

function handleFrame(client: FeedClient, frame: string): void {
  let id: string | null = null;
  let name: string | null = null;
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':')) client.heartbeats += 1;
    else if (line.startsWith('id: ')) id = line.slice(4);
    else if (line.startsWith('event: ')) name = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (data.length === 0) return;
  const payload: unknown = JSON.parse(data.join('\n'));
  if (name === 'close') {
    client.closeReason = payload as { code: string; message: string };
    return;
  }
  client.events.push(payload as BusEvent);
  if (id !== null) client.ids.push(id);
}

export function isClient(value: FeedClient | FeedRefusal): value is FeedClient {
  return 'events' in value;
}

/** Opens /v1/ws; resolves once open (or with the refusal the server answered the upgrade with). */
export function openWs(
  baseUrl: string,
  token: string | null,
  options: { query?: string } = {},
): Promise<FeedClient | FeedRefusal> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/v1/ws${options.query ? `?${options.query}` : ''}`;
  const socket = new WebSocket(url, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  return new Promise((resolve) => {
    const client: FeedClient = {
      events: [],
      ids: [],
      heartbeats: 0,
      closeReason: null,
      ended: false,
      close: () => {
        socket.close();
      },
    };
    socket.on('open', () => {
      resolve(client);
    });
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id: string; event: BusEvent };
      client.ids.push(message.id);
      client.events.push(message.event);
    });
    socket.on('ping', () => {
      client.heartbeats += 1;
    });
    socket.on('close', (code: number, reason: Buffer) => {
      client.ended = true;
      if (reason.length > 0) client.closeReason = { code: reason.toString(), message: String(code) };
    });
    socket.on('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          body: text === '' ? null : JSON.parse(text),
          headers: response.headers,
        });
      });
    });
    socket.on('error', () => undefined);
  });
}
