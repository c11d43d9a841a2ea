// LiveStream browser client: records a MediaStream with MediaRecorder and publishes it over livestream.v1.
// Plain ES module, browser APIs only (ArrayBuffer, Blob, WebSocket, MediaRecorder). See docs/client.md.

import {
  ChunkQueue,
  CongestionMonitor,
  HEADER_BYTES,
  backoffDelay,
  chooseMimeType,
  describeClose,
  frame,
  isH264,
  isStopCode,
  lowerBitrate,
} from './livestream-core.js';

export { describeClose, isStopCode, chooseMimeType } from './livestream-core.js';

const SUBPROTOCOL = 'livestream.v1';

const DEFAULTS = Object.freeze({
  timesliceMs: 500,
  videoBitsPerSecond: 2_500_000,
  audioBitsPerSecond: 128_000,
  minVideoBitsPerSecond: 150_000,
  keyFrameIntervalMs: 1000,
  mimeType: undefined,
  maxQueueBytes: 32 * 1024 * 1024,
  maxMessageBytes: 1024 * 1024,
  sendWindowBytes: 512 * 1024,
  congestionSeconds: 5,
  reconnectWindowSeconds: 30,
  backoffBaseMs: 250,
  backoffMaxMs: 5000,
  stopTimeoutMs: 10_000,
  pumpIntervalMs: 100,
  statsIntervalMs: 1000,
});

/**
 * Starts publishing `mediaStream` to the stream with `streamKey` on the gateway at `url`.
 * @param {{ url: string, streamKey: string, mediaStream: MediaStream } & Partial<typeof DEFAULTS>} options
 * @returns {LiveStreamController}
 */
export function goLive({ url, streamKey, mediaStream, ...options }) {
  if (!url || !streamKey || !mediaStream) {
    throw new TypeError('goLive needs url, streamKey and mediaStream');
  }
  const controller = new LiveStreamController(ingestUrl(url, streamKey), mediaStream, { ...DEFAULTS, ...options });
  controller._connect();
  return controller;
}

/** The ingest WebSocket URL for a gateway origin (`https://host` → `wss://host/stream/live/{key}`). */
export function ingestUrl(origin, streamKey) {
  const base = new URL(origin);
  const scheme = base.protocol === 'https:' || base.protocol === 'wss:' ? 'wss:' : 'ws:';
  return `${scheme}//${base.host}/stream/live/${encodeURIComponent(streamKey)}`;
}

/**
 * One publication. Events (CustomEvent, details in docs/client.md): live, reconnecting, resumed, congested, ended,
 * error, stats, chunk.
 */
export class LiveStreamController extends EventTarget {
  constructor(url, mediaStream, options) {
    super();
    this._url = url;
    this._media = mediaStream;
    this._opt = options;
    this._queue = new ChunkQueue(0);
    this._state = 'connecting';
    this._ws = null;
    this._hello = null;
    this._attempt = 0;
    this._lostAt = null;
    this._windowSeconds = options.reconnectWindowSeconds;
    this._retryTimer = null;
    this._pumpTimer = null;
    this._statsTimer = null;
    this._recorder = null;
    this._generation = 0;
    this._appending = Promise.resolve();
    this._videoBitrate = options.videoBitsPerSecond;
    this._recordingBitrate = options.videoBitsPerSecond;
    this._bytesSent = 0;
    this._bytesAcked = 0;
    this._reconnects = 0;
    this._recordings = 0;
    this._stopping = false;
    this._recorderDone = false;
    this._endSent = false;
    this._ended = null;
    this._endedPromise = new Promise((resolve) => { this._resolveEnded = resolve; });
    this._monitor = this._newMonitor();
    this.mimeType = options.mimeType
      ? options.mimeType
      : chooseMimeType((m) => MediaRecorder.isTypeSupported(m), { hasVideo: mediaStream.getVideoTracks().length > 0 });
  }

  /** connecting, live, reconnecting, stopping or ended. */
  get state() { return this._state; }

  /** The session id from the last hello, or null. */
  get sessionId() { return this._hello?.sessionId ?? null; }

  /** The HLS playlist URL (absolute) from the last hello, or null when the stream has no HLS output. */
  get hlsUrl() {
    return this._hello?.hlsUrl ? new URL(this._hello.hlsUrl, this._url.replace(/^ws/, 'http')).href : null;
  }

  /** True when the recorder writes H.264, which the server passes through. */
  get passthrough() { return isH264(this._recorder?.mimeType || this.mimeType); }

  /** The video bitrate asked of the current recording. */
  get videoBitsPerSecond() { return this._recordingBitrate; }

  /** Counters: bytes sent (resends included), bytes acknowledged, bytes queued, reconnects, recordings. */
  get stats() {
    return {
      bytesSent: this._bytesSent,
      bytesAcked: this._bytesAcked,
      queueBytes: this._queue.byteLength,
      bufferedAmount: this._ws?.bufferedAmount ?? 0,
      reconnects: this._reconnects,
      recordings: this._recordings,
      videoBitsPerSecond: this._recordingBitrate,
      nextVideoBitsPerSecond: this._videoBitrate,
      congested: this._monitor.congested,
    };
  }

  /** Resolves with { code, reason } once the publication has ended, however it ended. */
  get ended() { return this._endedPromise; }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on(type, listener) {
    const handler = (e) => listener(e.detail);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  /**
   * Ends the broadcast: stops the recorder, sends what it still holds, then `{"type":"end"}`, so the session ends
   * at once and its outputs are finalised. Resolves when the server has closed (or after stopTimeoutMs).
   */
  stop() {
    if (this._ended || this._stopping) {
      return this._endedPromise;
    }
    this._stopping = true;
    this._state = 'stopping';
    const timeout = setTimeout(() => this._finish(1000, 'stopped without the server\'s answer'), this._opt.stopTimeoutMs);
    this._endedPromise.then(() => clearTimeout(timeout));
    const recorder = this._recorder;
    if (!recorder || recorder.state === 'inactive') {
      this._recorderDone = true;
      this._pump();
      return this._endedPromise;
    }
    recorder.addEventListener('stop', () => {
      // The last dataavailable comes before stop; wait until it is in the queue.
      this._appending.then(() => {
        this._recorderDone = true;
        this._pump();
      });
    }, { once: true });
    recorder.stop();
    return this._endedPromise;
  }

  // ---- connection ----

  _connect() {
    if (this._ended) {
      return;
    }
    const ws = new WebSocket(this._url, SUBPROTOCOL);
    ws.binaryType = 'arraybuffer';
    this._ws = ws;
    this._helloSeen = false;
    ws.onmessage = (e) => this._ws === ws && this._onMessage(e.data);
    ws.onclose = (e) => this._ws === ws && this._onClose(e.code, e.reason);
    // onerror is always followed by onclose, which carries the code; nothing to do here.
    ws.onerror = () => {};
  }

  _onMessage(data) {
    if (typeof data !== 'string') {
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === 'hello') {
      this._onHello(message);
    } else if (message.type === 'ack' && Number.isSafeInteger(message.offset)) {
      this._queue.ack(message.offset);
      this._bytesAcked = Math.max(this._bytesAcked, message.offset);
      this._pump();
    }
  }

  _onHello(hello) {
    const first = this._hello === null;
    const previous = this._hello;
    this._hello = hello;
    this._helloSeen = true;
    this._windowSeconds = Number.isFinite(hello.reconnectWindowSeconds) ? hello.reconnectWindowSeconds : this._windowSeconds;
    this._attempt = 0;
    this._lostAt = null;
    if (!this._stopping) {
      this._state = 'live';
    }
    if (!first) {
      this._reconnects += 1;
    }

    let newRecording = false;
    if (first) {
      if (!this._stopping) {
        this._queue.reset(hello.resumeFrom);
        this._startRecording();
        newRecording = true;
      }
    } else if (!this._queue.rewind(hello.resumeFrom) || (!this._recorder && !this._stopping)) {
      // The queue no longer holds the bytes from resumeFrom on (or recording was paused after an overflow):
      // a new recording continues the session from there.
      this._queue.reset(hello.resumeFrom);
      if (!this._stopping) {
        this._startRecording();
        newRecording = true;
      }
    } else if (this._restartRecorderOnResume && !this._stopping) {
      // Resumed after 4429: this recording ends cleanly (its last chunk is sent) and a lower-bitrate one follows it.
      this._restartRecorderGracefully();
      newRecording = true;
    }
    this._restartRecorderOnResume = false;

    this._startTimers();
    const detail = { sessionId: hello.sessionId, resumeFrom: hello.resumeFrom, hlsUrl: this.hlsUrl, reconnectWindowSeconds: this._windowSeconds, mimeType: this.mimeType, newRecording };
    if (first) {
      this._emit('live', detail);
    } else {
      this._emit('resumed', { ...detail, newSession: previous.sessionId !== hello.sessionId, reconnects: this._reconnects });
    }
    this._pump();
  }

  _onClose(code, reason) {
    this._ws = null;
    this._stopTimers();
    if (this._ended) {
      return;
    }
    if (this._endSent) {
      this._finish(code, reason);
      return;
    }
    if (isStopCode(code)) {
      this._fail(code, reason);
      return;
    }
    if (code === 1000 && this._helloSeen) {
      // The server ended the session (for example a write to a session that had already ended).
      this._finish(code, reason || describeClose(code));
      return;
    }

    if (code === 4429) {
      // Over the gateway's bitrate limit: coming back at the same rate would only be closed again. The next
      // recording asks for less, and starts as soon as the server has taken this one back.
      const from = this._recordingBitrate;
      this._lowerNextBitrate();
      this._restartRecorderOnResume = true;
      this._emit('congested', { code, videoBitsPerSecond: from, nextVideoBitsPerSecond: this._videoBitrate });
    }

    this._lostAt ??= Date.now();
    const windowEnds = this._lostAt + this._windowSeconds * 1000;
    const delayMs = backoffDelay(this._attempt, { baseMs: this._opt.backoffBaseMs, maxMs: this._opt.backoffMaxMs });
    if (Date.now() + delayMs > windowEnds) {
      this._fail(code, `reconnect window expired after: ${reason || describeClose(code)}`);
      return;
    }
    this._attempt += 1;
    if (!this._stopping) {
      this._state = 'reconnecting';
    }
    this._emit('reconnecting', { code, reason: reason || describeClose(code), attempt: this._attempt, delayMs });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._connect();
    }, delayMs);
  }

  _fail(code, reason) {
    const text = reason || describeClose(code);
    this._emit('error', { code, reason: text, message: describeClose(code) });
    this._finish(code, text);
  }

  _finish(code, reason) {
    if (this._ended) {
      return;
    }
    this._ended = { code, reason };
    this._state = 'ended';
    this._stopRecorder();
    this._stopTimers();
    clearTimeout(this._retryTimer);
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      ws.close(1000);
    }
    this._queue.reset(this._queue.endOffset);
    this._emitStats();
    this._emit('ended', { code, reason });
    this._resolveEnded({ code, reason });
  }

  // ---- sending ----

  _pump() {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this._helloSeen || this._endSent) {
      return;
    }
    const maxPayload = this._opt.maxMessageBytes - HEADER_BYTES;
    while (ws.bufferedAmount < this._opt.sendWindowBytes) {
      const next = this._queue.takeNext(maxPayload);
      if (!next) {
        break;
      }
      ws.send(frame(next.offset, next.bytes));
      this._bytesSent += next.bytes.byteLength;
    }
    if (this._stopping && this._recorderDone && this._queue.unsentBytes === 0) {
      // Messages are handled in order, so every byte sent above is committed before the end.
      this._endSent = true;
      ws.send(JSON.stringify({ type: 'end' }));
      return;
    }
    this._watchCongestion(ws);
  }

  _watchCongestion(ws) {
    const change = this._monitor.sample(ws.bufferedAmount, this._queue.byteLength);
    if (change === 'congested') {
      const from = this._recordingBitrate;
      this._lowerNextBitrate();
      this._emit('congested', { bufferedAmount: ws.bufferedAmount, queueBytes: this._queue.byteLength, videoBitsPerSecond: from, nextVideoBitsPerSecond: this._videoBitrate });
    }
  }

  /** The next recording asks for less: once per recording, however often this one is found congested. */
  _lowerNextBitrate() {
    if (this._videoBitrate === this._recordingBitrate) {
      this._videoBitrate = lowerBitrate(this._recordingBitrate, this._opt.minVideoBitsPerSecond);
    }
  }

  _newMonitor() {
    const bytesPerSecond = (this._videoBitrate + this._opt.audioBitsPerSecond) / 8;
    const queueHighWater = Math.min(this._opt.maxQueueBytes / 2, bytesPerSecond * this._opt.congestionSeconds);
    return new CongestionMonitor({ bufferedHighWater: this._opt.sendWindowBytes * 2, queueHighWater });
  }

  _startTimers() {
    this._stopTimers();
    this._pumpTimer = setInterval(() => this._pump(), this._opt.pumpIntervalMs);
    this._statsTimer = setInterval(() => this._emitStats(), this._opt.statsIntervalMs);
  }

  _stopTimers() {
    clearInterval(this._pumpTimer);
    clearInterval(this._statsTimer);
    this._pumpTimer = null;
    this._statsTimer = null;
  }

  // ---- recording ----

  _startRecording() {
    this._stopRecorder();
    const generation = ++this._generation;
    this._recordingBitrate = this._videoBitrate;
    const options = {
      videoBitsPerSecond: this._videoBitrate,
      audioBitsPerSecond: this._opt.audioBitsPerSecond,
      // Keyframes at most 2 s apart: passed-through H.264 is cut into segments only at keyframes.
      videoKeyFrameIntervalDuration: Math.min(2000, this._opt.keyFrameIntervalMs),
    };
    if (this.mimeType) {
      options.mimeType = this.mimeType;
    }
    let recorder;
    try {
      recorder = new MediaRecorder(this._media, options);
    } catch (e) {
      this._fail(0, `cannot record: ${e.message}`);
      return;
    }
    recorder.ondataavailable = (e) => this._onData(generation, e.data);
    recorder.onerror = (e) => this._fail(0, `recorder error: ${e.error?.message ?? 'unknown'}`);
    this._recorder = recorder;
    this._recordings += 1;
    this._monitor = this._newMonitor();
    recorder.start(this._opt.timesliceMs);
  }

  /**
   * Stops the recorder so that it flushes its last chunk into the queue, then starts the next recording after it: the
   * server sees a recording that ends on a whole element and splices the next one in.
   */
  _restartRecorderGracefully() {
    const recorder = this._recorder;
    if (!recorder || recorder.state === 'inactive') {
      this._startRecording();
      return;
    }
    recorder.addEventListener('stop', () => {
      this._appending = this._appending.then(() => {
        if (this._recorder === recorder && !this._ended && !this._stopping) {
          this._startRecording();
        }
      });
    }, { once: true });
    recorder.stop();
  }

  _stopRecorder() {
    const recorder = this._recorder;
    this._recorder = null;
    if (!recorder) {
      return;
    }
    this._generation += 1;
    recorder.ondataavailable = null;
    recorder.onerror = null;
    if (recorder.state !== 'inactive') {
      recorder.stop();
    }
  }

  _onData(generation, blob) {
    if (blob.size === 0) {
      return;
    }
    this._appending = this._appending.then(async () => {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      if (generation !== this._generation || this._ended) {
        return;
      }
      const offset = this._queue.append(bytes);
      this._emit('chunk', { offset, size: bytes.byteLength, blob, recording: this._recordings });
      if (this._queue.byteLength > this._opt.maxQueueBytes) {
        this._overflow();
      }
      this._pump();
    });
  }

  /**
   * The queue is over its bound: forget what was never sent and start again with a lower bitrate (at once when
   * connected; at the next hello otherwise, since only the server knows where the new recording must start).
   */
  _overflow() {
    const from = this._recordingBitrate;
    this._lowerNextBitrate();
    this._emit('congested', { bufferedAmount: this._ws?.bufferedAmount ?? 0, queueBytes: this._queue.byteLength, videoBitsPerSecond: from, nextVideoBitsPerSecond: this._videoBitrate, overflow: true });
    this._stopRecorder();
    this._queue.reset(this._queue.sendOffset);
    if (this._ws?.readyState === WebSocket.OPEN && this._helloSeen && !this._stopping) {
      this._startRecording();
    }
  }

  // ---- events ----

  _emitStats() {
    this._emit('stats', this.stats);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
