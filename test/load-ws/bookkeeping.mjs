// The pure parts of the external load client: livestream.v1 framing of a looped capture, ack bookkeeping, closes by
// kind and nearest-rank percentiles. No sockets, no timers, so `node --test` imports it without `npm ci`.

/** Bytes of the livestream.v1 offset header (docs/protocol.md, "Client → server: binary messages"). */
export const HEADER_BYTES = 8;

/**
 * The byte stream every publisher sends: byte `p` is `capture[p % capture.length]` (a looped capture repeats its
 * header, which the server splices as a recorder restart with the same tracks), cut in fixed chunks. The framed
 * message of a chunk is the same for every publisher, so the last few are kept and shared; `ws` copies a message
 * while it masks it and never writes to the buffer it was given.
 */
export class LoopedStream {
  #capture;
  #chunkBytes;
  #frames = new Map();
  #keep;

  /**
   * @param {Uint8Array} capture the recording's bytes
   * @param {number} chunkBytes payload bytes per message
   * @param {number} keep framed chunks kept for reuse (publishers started within a ramp-up are a few chunks apart)
   */
  constructor(capture, chunkBytes, keep = 64) {
    if (capture.length === 0) throw new RangeError('the capture is empty');
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be positive, got ${chunkBytes}`);
    this.#capture = capture;
    this.#chunkBytes = chunkBytes;
    this.#keep = keep;
  }

  get chunkBytes() {
    return this.#chunkBytes;
  }

  /** The index of the chunk that holds byte `offset`. */
  chunkAt(offset) {
    return Math.floor(offset / this.#chunkBytes);
  }

  /**
   * The message that sends chunk `index` from byte `from` on (a resume may start inside a chunk): the offset
   * header, then the payload.
   * @returns {{ message: Buffer, end: number }} the message and the offset just past its last byte
   */
  message(index, from = index * this.#chunkBytes) {
    const start = index * this.#chunkBytes;
    const end = start + this.#chunkBytes;
    if (from < start || from >= end) throw new RangeError(`offset ${from} is not in chunk ${index}`);
    if (from === start) {
      let message = this.#frames.get(index);
      if (message === undefined) {
        message = this.#frame(start, end);
        this.#frames.set(index, message);
        if (this.#frames.size > this.#keep) this.#frames.delete(this.#frames.keys().next().value);
      }
      return { message, end };
    }
    return { message: this.#frame(from, end), end };
  }

  #frame(from, end) {
    const message = Buffer.allocUnsafe(HEADER_BYTES + end - from);
    message.writeBigInt64BE(BigInt(from), 0);
    let at = HEADER_BYTES;
    for (let position = from; position < end;) {
      const within = position % this.#capture.length;
      const n = Math.min(end - position, this.#capture.length - within);
      message.set(this.#capture.subarray(within, within + n), at);
      at += n;
      position += n;
    }
    return message;
  }
}

/**
 * The offset of an `{"type":"ack","offset":N}` text message, or -1 for anything else (`hello`, malformed JSON).
 * @param {string} text
 */
export function readAck(text) {
  try {
    const message = JSON.parse(text);
    return message?.type === 'ack' && Number.isSafeInteger(message.offset) && message.offset >= 0 ? message.offset : -1;
  } catch {
    return -1;
  }
}

/**
 * One publisher's chunks in flight. Ack latency is a chunk's send → the first ack whose offset covers the chunk's
 * last byte ("ack N: the first N bytes are committed"); chunks sent before `measureFrom` (the ramp-up) are not
 * timed. Acks arrive in offset order on one socket, so the pending chunks are a queue.
 */
export class AckTracker {
  #ends = [];
  #sentAt = [];
  #head = 0;
  #acked;
  #measureFrom;

  /**
   * @param {number} measureFrom time (ms, the caller's clock) from which sends are timed
   * @param {number} acked bytes already committed (hello.resumeFrom)
   */
  constructor(measureFrom, acked = 0) {
    this.#measureFrom = measureFrom;
    this.#acked = acked;
  }

  /** The highest offset acknowledged. */
  get acked() {
    return this.#acked;
  }

  /** Chunks sent and not yet covered by an ack. */
  get pending() {
    return this.#ends.length - this.#head;
  }

  /** A chunk whose last byte is at `end - 1` was handed to the socket at `at`. */
  sent(end, at) {
    this.#ends.push(end);
    this.#sentAt.push(at);
  }

  /**
   * An ack of `offset` arrived at `at`. Pushes the latency (ms) of every chunk it newly covers, if timed, onto
   * `latencies`, and returns the bytes it newly acknowledges (0 for a repeated or older offset).
   */
  ack(offset, at, latencies) {
    while (this.#head < this.#ends.length && this.#ends[this.#head] <= offset) {
      const sentAt = this.#sentAt[this.#head];
      if (sentAt >= this.#measureFrom) latencies.push(at - sentAt);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ends.length) {
      this.#ends = this.#ends.slice(this.#head);
      this.#sentAt = this.#sentAt.slice(this.#head);
      this.#head = 0;
    }
    const added = Math.max(0, offset - this.#acked);
    this.#acked = Math.max(this.#acked, offset);
    return added;
  }
}

/** Counts of closes and failures by kind; kinds starting with `expected ` are not errors. */
export class Closes {
  #counts = new Map();

  add(kind) {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
  }

  /** Every kind, sorted. */
  all() {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** The kinds that are errors. */
  errors() {
    return Object.fromEntries(Object.entries(this.all()).filter(([kind]) => !kind.startsWith('expected ')));
  }
}

/**
 * Nearest-rank percentiles, as the project's generator reports them (`Percentiles.Of` in test/Shared/Load).
 * @param {number[]} values
 */
export function percentiles(values) {
  if (values.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.min(Math.max(Math.ceil(p * sorted.length) - 1, 0), sorted.length - 1)];
  const round = (ms) => Math.round(ms * 100) / 100;
  return { count: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

/** An error's text with any stream key taken out (a key is a secret; ws puts the URL in some messages). */
export function redact(text) {
  return String(text).replace(/\/stream\/live\/[^\s'"]*/g, '/stream/live/[redacted]');
}
