// The transport: a plain TCP listener whose sockets are handed to a grpc-js server through its
// connection injector. Owning the sockets is what lets a test cut every connection at once (as a
// network failure or a server crash would) while the listener keeps accepting new ones on the
// same port.
import { createServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import type { ConnectionInjector } from '@grpc/grpc-js';
import { CONNECTIONS_OPEN_MAX, GRPC_MESSAGE_BYTES_MAX, SOCKET_CLOSE_WAIT_MS_MAX } from './limits.js';
import { StreamsService } from './proto.js';
import type { StreamsServerT } from './proto.js';

export class EmulatorTransport {
  private readonly sockets = new Set<Socket>();
  private accepting = true;

  private constructor(
    private readonly tcp: TcpServer,
    private readonly grpc: GrpcServer,
    private readonly injector: ConnectionInjector,
  ) {
    tcp.on('connection', (socket) => {
      if (!this.accepting || this.sockets.size >= CONNECTIONS_OPEN_MAX) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      // A reset from the client side is normal here (tests drop and dispose clients freely).
      socket.on('error', () => undefined);
      this.injector.injectConnection(socket);
    });
  }

  static async listen(host: string, port: number, streams: StreamsServerT): Promise<EmulatorTransport> {
    const grpc = new GrpcServer({
      'grpc.max_receive_message_length': GRPC_MESSAGE_BYTES_MAX,
      'grpc.max_send_message_length': GRPC_MESSAGE_BYTES_MAX,
    });
    grpc.addService(StreamsService, streams);
    const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    return new EmulatorTransport(tcp, grpc, injector);
  }

  get port(): number {
    const address = this.tcp.address();
    if (address === null || typeof address === 'string')
      throw new Error('emulator: listener has no TCP address');
    return address.port;
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  /** While false, new TCP connections are closed on arrival (the client sees UNAVAILABLE). */
  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
  }

  /**
   * Destroys every open socket: each in-flight call (reads, subscriptions, appends) ends on the
   * client as UNAVAILABLE, exactly as when the network drops. Resolves once the sockets closed.
   */
  async dropConnections(): Promise<void> {
    const closing = [...this.sockets].map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) {
            resolve();
            return;
          }
          socket.once('close', () => {
            resolve();
          });
          socket.destroy();
        }),
    );
    await withTimeout(Promise.all(closing), SOCKET_CLOSE_WAIT_MS_MAX);
  }

  async close(): Promise<void> {
    this.accepting = false;
    const listenerClosed = new Promise<void>((resolve) => {
      this.tcp.close(() => {
        resolve();
      });
    });
    await this.dropConnections();
    this.injector.destroy();
    this.grpc.forceShutdown();
    await withTimeout(listenerClosed, SOCKET_CLOSE_WAIT_MS_MAX);
  }
}

/** Waits for `promise`, but never longer than `timeoutMs`: shutdown must not hang a test run. */
async function withTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
