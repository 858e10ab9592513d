// One server-streaming `Read` call seen from the producer side: writes that respect HTTP/2 flow
// control, and a signal that fires when the call is over (client cancel, dropped connection,
// emulator shutdown), so reads and subscriptions stop producing instead of buffering for nobody.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { GrpcFailure } from './errors.js';
import type { ReadReqT, ReadRespT } from './proto.js';

export type ReadCall = ServerWritableStream<ReadReqT, ReadRespT>;

export class ResponseWriter {
  private readonly controller = new AbortController();

  constructor(private readonly call: ReadCall) {
    const stop = (): void => {
      this.controller.abort();
    };
    call.once('cancelled', stop);
    call.once('close', stop);
    call.once('finish', stop);
  }

  /** Aborted once nothing more can be sent on this call. */
  get closed(): AbortSignal {
    return this.controller.signal;
  }

  /** Sends one message; resolves false when the call ended before it could be sent. */
  async send(message: ReadRespT): Promise<boolean> {
    if (this.closed.aborted) return false;
    if (this.call.write(message)) return true;
    // The transport buffer is full: wait for it to drain (or for the call to end) before the
    // producer fetches its next page, so a slow client holds back the server instead of growing
    // an unbounded buffer.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.call.off('drain', done);
        this.closed.removeEventListener('abort', done);
        resolve();
      };
      this.call.once('drain', done);
      this.closed.addEventListener('abort', done, { once: true });
    });
    return !this.closed.aborted;
  }

  /** Ends the call with status OK. */
  end(): void {
    if (!this.closed.aborted) this.call.end();
  }

  /** Ends the call with an error status (grpc-js turns an 'error' event into the call's status). */
  fail(failure: GrpcFailure): void {
    if (!this.closed.aborted) this.call.emit('error', failure);
  }
}
