// The pure parts of the LiveStream browser client: the offset-keyed chunk queue, livestream.v1 framing, backoff,
// close-code classes and codec choice. No DOM, no WebSocket, no Node APIs, so Node's test runner imports it as is.

/** Close codes after which the client stops for good (see docs/protocol.md, "Close codes"). */
export const STOP_CODES = Object.freeze([4401, 4403, 4409, 4410, 4415, 4423, 4500]);

/** True when a close with this code means "stop" rather than "reconnect". */
export function isStopCode(code) {
  return STOP_CODES.includes(code);
}

const CLOSE_TEXTS = Object.freeze({
  1000: 'the session ended',
  1009: 'a message was too big',
  1011: 'the server had an internal error',
  1012: 'the gateway is restarting',
  4400: 'protocol violation',
  4401: 'invalid stream key',
  4403: 'this page\'s origin is not allowed',
  4408: 'idle for too long',
  4409: 'superseded: another publisher took over this stream',
  4410: 'the stream was ended by the operator',
  4415: 'unsupported or malformed media',
  4423: 'the stream already has a live publisher',
  4429: 'bitrate over the limit',
  4500: 'the session failed on the server',
  4503: 'the cluster is unavailable',
});

/** A short text for people that says what a close code means (programs act on the code). */
export function describeClose(code) {
  return CLOSE_TEXTS[code] ?? `connection closed (${code})`;
}

/** Bytes of the livestream.v1 offset header. */
export const HEADER_BYTES = 8;

/**
 * One livestream.v1 binary message: the 8-byte big-endian offset, then the payload.
 * @param {number} offset byte offset of the payload in the session's byte stream (a safe integer)
 * @param {Uint8Array} payload
 * @returns {ArrayBuffer}
 */
export function frame(offset, payload) {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a non-negative safe integer, got ${offset}`);
  }
  const message = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(message.buffer);
  // Two 32-bit halves rather than setBigInt64, so the math stays in plain numbers.
  view.setUint32(0, Math.floor(offset / 0x1_0000_0000));
  view.setUint32(4, offset % 0x1_0000_0000);
  message.set(payload, HEADER_BYTES);
  return message.buffer;
}

/** Reads the offset of a livestream.v1 binary message (the inverse of {@link frame}). */
export function readOffset(message) {
  const view = new DataView(message instanceof ArrayBuffer ? message : message.buffer, message.byteOffset ?? 0);
  return view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4);
}

/**
 * Jittered exponential backoff ("equal jitter"): half the exponential step is fixed, half is random, so retries
 * from many clients spread out but never come back at once.
 * @param {number} attempt 0 for the first retry
 * @param {{ baseMs?: number, maxMs?: number, random?: () => number }} [options]
 */
export function backoffDelay(attempt, { baseMs = 250, maxMs = 5000, random = Math.random } = {}) {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * The recorder's unacknowledged bytes, keyed by their offset in the session's byte stream.
 *
 * Offsets: [startOffset, endOffset) is held; [startOffset, sendOffset) has been handed to the socket and waits for
 * an ack; [sendOffset, endOffset) is still to send. An ack drops what it covers; a reconnect rewinds sendOffset to
 * the server's resumeFrom, which the queue can honour only while it still holds those bytes.
 */
export class ChunkQueue {
  /** @param {number} [offset] the offset of the first byte the queue will hold */
  constructor(offset = 0) {
    /** @type {Uint8Array[]} */
    this._chunks = [];
    this._start = offset;
    this._end = offset;
    this._send = offset;
  }

  /** Offset of the first byte held. */
  get startOffset() { return this._start; }

  /** Offset just after the last byte held: where the next appended chunk goes. */
  get endOffset() { return this._end; }

  /** Offset of the next byte to send. */
  get sendOffset() { return this._send; }

  /** Bytes held (sent but unacknowledged, and unsent). */
  get byteLength() { return this._end - this._start; }

  /** Bytes not handed to the socket yet. */
  get unsentBytes() { return this._end - this._send; }

  /**
   * Appends a recorder chunk at the end of the byte stream; returns its offset. Empty chunks are ignored.
   * @param {Uint8Array} bytes
   */
  append(bytes) {
    const offset = this._end;
    if (bytes.byteLength > 0) {
      this._chunks.push(bytes);
      this._end += bytes.byteLength;
    }
    return offset;
  }

  /**
   * The next bytes to send, at most maxBytes, or null when everything held has been sent. Marks them sent.
   * @param {number} maxBytes
   * @returns {{ offset: number, bytes: Uint8Array } | null}
   */
  takeNext(maxBytes) {
    if (this._send >= this._end) {
      return null;
    }
    let position = this._start;
    for (const chunk of this._chunks) {
      const chunkEnd = position + chunk.byteLength;
      if (this._send < chunkEnd) {
        const from = this._send - position;
        const length = Math.min(maxBytes, chunk.byteLength - from);
        const bytes = chunk.subarray(from, from + length);
        const offset = this._send;
        this._send += length;
        return { offset, bytes };
      }
      position = chunkEnd;
    }
    return null;
  }

  /**
   * The server has committed the first `offset` bytes: forget them. Acks below what is already forgotten, or
   * beyond what was sent, change nothing they cannot (an ack never moves past endOffset).
   * @param {number} offset
   */
  ack(offset) {
    const target = Math.min(offset, this._end);
    while (this._chunks.length > 0 && this._start < target) {
      const first = this._chunks[0];
      const drop = target - this._start;
      if (drop >= first.byteLength) {
        this._chunks.shift();
        this._start += first.byteLength;
      } else {
        this._chunks[0] = first.subarray(drop);
        this._start += drop;
      }
    }
    if (this._chunks.length === 0) {
      this._start = this._end;
    }
    if (this._send < this._start) {
      this._send = this._start;
    }
  }

  /**
   * A reconnect: send again from resumeFrom. Returns false when the queue no longer holds the bytes from there on
   * (they were dropped, or the server holds more than this queue ever had): the caller starts a new recording.
   * @param {number} resumeFrom
   */
  rewind(resumeFrom) {
    if (resumeFrom < this._start || resumeFrom > this._end) {
      return false;
    }
    this.ack(resumeFrom);
    this._send = resumeFrom;
    return true;
  }

  /** Drops everything held; the next chunk appended gets `offset`. */
  reset(offset) {
    this._chunks = [];
    this._start = offset;
    this._end = offset;
    this._send = offset;
  }
}

/**
 * Recorder mime types in order of preference: H.264 first (the server passes it through without encoding; Chrome
 * records `video/webm;codecs=h264,opus` as Matroska, Safari records MP4), then VP8 and VP9, which the server
 * encodes.
 */
export const MIME_PREFERENCE = Object.freeze([
  'video/webm;codecs=h264,opus',
  'video/x-matroska;codecs=avc1,opus',
  'video/mp4;codecs=avc1,opus',
  'video/mp4;codecs=avc1,mp4a.40.2',
  'video/mp4',
  'video/webm;codecs=vp8,opus',
  'video/webm;codecs=vp9,opus',
  'video/webm',
]);

/** Audio-only recordings (a stream without a camera track). */
export const AUDIO_MIME_PREFERENCE = Object.freeze(['audio/webm;codecs=opus', 'audio/mp4', 'audio/webm']);

/**
 * The first supported mime type, or '' to let the browser choose.
 * @param {(mime: string) => boolean} isTypeSupported MediaRecorder.isTypeSupported
 * @param {{ hasVideo?: boolean, preferred?: string }} [options]
 */
export function chooseMimeType(isTypeSupported, { hasVideo = true, preferred } = {}) {
  const candidates = [...(preferred ? [preferred] : []), ...(hasVideo ? MIME_PREFERENCE : AUDIO_MIME_PREFERENCE)];
  return candidates.find((mime) => isTypeSupported(mime)) ?? '';
}

/** True when a recorder mime type carries H.264 video, which the server passes through. */
export function isH264(mime) {
  return /avc1|h264/i.test(mime) || /^video\/mp4\s*$/i.test(mime);
}

/**
 * Watches the uplink: congested when the socket's own buffer or the local queue holds more than the high-water
 * marks; clear again only below half of them, so it does not flap.
 */
export class CongestionMonitor {
  /** @param {{ bufferedHighWater: number, queueHighWater: number }} marks */
  constructor({ bufferedHighWater, queueHighWater }) {
    this._buffered = bufferedHighWater;
    this._queue = queueHighWater;
    this.congested = false;
  }

  /**
   * Feeds a sample; returns 'congested' when the state turns congested, 'clear' when it clears, else null.
   * @param {number} bufferedAmount WebSocket.bufferedAmount
   * @param {number} queueBytes ChunkQueue.byteLength
   */
  sample(bufferedAmount, queueBytes) {
    if (!this.congested && (bufferedAmount > this._buffered || queueBytes > this._queue)) {
      this.congested = true;
      return 'congested';
    }
    if (this.congested && bufferedAmount <= this._buffered / 2 && queueBytes <= this._queue / 2) {
      this.congested = false;
      return 'clear';
    }
    return null;
  }
}

/** The bitrate for the next recording after congestion: 60% of the current one, not below the floor. */
export function lowerBitrate(current, floor = 150_000) {
  return Math.max(floor, Math.round(current * 0.6));
}
