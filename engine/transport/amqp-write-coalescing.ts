/**
 * One socket write for all the frames amqplib has ready, instead of one write per frame.
 *
 * amqplib's muxer moves frames from its channels to the socket in one loop (`_readIncoming`, run
 * at most once per turn of the event loop) but writes each frame on its own: under load that is
 * one `write` system call per publish, which bench:mllp showed as the engine's largest single
 * cost at eight connections. Corking the socket around that loop hands the frames to the kernel
 * in one `writev`. Nothing is delayed: the socket is uncorked before the loop returns.
 *
 * This reaches into amqplib's internals (`connection.muxer`, `connection.stream`), so it checks
 * their shape and does nothing when they are not what it expects: the publishes then simply go
 * out one write each, as before.
 */

interface Muxer {
  _readIncoming(): void;
}
interface CorkableStream {
  cork(): void;
  uncork(): void;
}
/** amqplib's ChannelModel (what `connect()` returns), as far as this module needs it. */
export interface AmqplibChannelModel {
  connection?: { muxer?: unknown; stream?: unknown };
}

const coalesced = new WeakSet<object>();

/** Makes the connection's muxer write each batch of frames in one go. Returns whether it could. */
export function coalesceWrites(model: AmqplibChannelModel | undefined): boolean {
  const muxer = model?.connection?.muxer as Muxer | undefined;
  const stream = model?.connection?.stream as CorkableStream | undefined;
  if (!muxer || !stream || typeof muxer._readIncoming !== 'function' || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') {
    return false;
  }
  if (coalesced.has(muxer)) return true;
  const readIncoming = muxer._readIncoming.bind(muxer);
  muxer._readIncoming = () => {
    stream.cork();
    try {
      readIncoming();
    } finally {
      stream.uncork();
    }
  };
  coalesced.add(muxer);
  return true;
}
