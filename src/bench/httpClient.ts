/**
 * The load generator's HTTP client: HTTP/1.1 over kept-alive loopback sockets, one request in
 * flight per socket, requests written as one buffer and answers read by Content-Length. It
 * does what node:http's client does for these requests at a fraction of its CPU (about a
 * sixth, measured), which matters because the generator shares two cores with the server and
 * PostgreSQL it is measuring. It speaks only what the bench needs; it is not a general client.
 */
import net from 'node:net';

/** Bytes of one answer's head, at most: the server's headers are a few hundred bytes. */
const HEAD_BYTES_MAX = 16 * 1024;
/** Bytes of one answer's body, at most (a batch of 1,000 results is about 80 KB). */
const BODY_BYTES_MAX = 16 * 1024 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

interface Pending {
  resolve(answer: HttpAnswer): void;
  reject(error: Error): void;
}

class Connection {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private head: { status: number; length: number; bodyAt: number } | null = null;
  broken = false;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    const fail = (error: Error): void => {
      this.broken = true;
      const pending = this.pending;
      this.pending = null;
      pending?.reject(error);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => {
      fail(new Error('the server closed the connection'));
    });
  }

  send(request: Buffer): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  private parse(): void {
    if (!this.head) {
      const end = this.buffer.indexOf(HEAD_END);
      if (end < 0) {
        if (this.buffer.length > HEAD_BYTES_MAX) this.socket.destroy(new Error('answer head too long'));
        return;
      }
      const text = this.buffer.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? NaN);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? NaN);
      if (!Number.isInteger(status) || !Number.isInteger(length) || length > BODY_BYTES_MAX) {
        this.socket.destroy(new Error(`unexpected answer head: ${text.slice(0, 200)}`));
        return;
      }
      this.head = { status, length, bodyAt: end + HEAD_END.length };
    }
    const { status, length, bodyAt } = this.head;
    if (this.buffer.length < bodyAt + length) return;
    const body = this.buffer.subarray(bodyAt, bodyAt + length).toString('utf8');
    this.buffer = this.buffer.subarray(bodyAt + length);
    this.head = null;
    const pending = this.pending;
    this.pending = null;
    pending?.resolve({ status, body });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sockets to one server, at most `connectionsMax` of them, each used by one request at a time. */
export class BenchHttpClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;

  constructor(
    baseUrl: string,
    private readonly authorization: string,
    private readonly connectionsMax: number,
  ) {
    const url = new URL(baseUrl);
    if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' && url.hostname !== '[::1]') {
      throw new Error(`the bench measures loopback servers only, not ${url.hostname}`);
    }
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port);
    this.hostHeader = url.host;
  }

  async post(path: string, body: unknown): Promise<HttpAnswer> {
    const data = Buffer.from(JSON.stringify(body), 'utf8');
    const head =
      `POST ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\nauthorization: ${this.authorization}\r\n` +
      `content-type: application/json\r\ncontent-length: ${data.length}\r\n\r\n`;
    const connection = this.acquire();
    try {
      return await connection.send(Buffer.concat([Buffer.from(head, 'latin1'), data]));
    } finally {
      this.release(connection);
    }
  }

  close(): void {
    for (const connection of this.all) connection.close();
    this.all.clear();
    this.idle.length = 0;
  }

  private acquire(): Connection {
    const reused = this.idle.pop();
    if (reused) return reused;
    if (this.all.size >= this.connectionsMax) throw new Error('more requests in flight than connections');
    const connection = new Connection(this.host, this.port);
    this.all.add(connection);
    return connection;
  }

  private release(connection: Connection): void {
    if (connection.broken) {
      this.all.delete(connection);
      connection.close();
    } else {
      this.idle.push(connection);
    }
  }
}
