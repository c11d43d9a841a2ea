// The controller's offset handling over fake WebSocket and MediaRecorder: resend from resumeFrom, a new recording
// when the bytes are gone, end on stop, and the stop codes. Run by ./test.sh: node --test test/client/
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

const sockets = [];
const controllers = [];
const recorders = [];

class FakeWebSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  constructor(url, protocol) {
    super();
    this.url = url;
    this.protocol = protocol;
    this.readyState = FakeWebSocket.CONNECTING;
    this.bufferedAmount = 0;
    this.sent = [];
    sockets.push(this);
  }

  send(data) {
    this.sent.push(data);
  }

  close() {
    this.readyState = FakeWebSocket.CLOSED;
  }

  // Server side of the fake.
  serverHello(resumeFrom, sessionId = 's1') {
    this.readyState = FakeWebSocket.OPEN;
    this.onmessage?.({ data: JSON.stringify({ type: 'hello', sessionId, resumeFrom, reconnectWindowSeconds: 30 }) });
  }

  serverAck(offset) {
    this.onmessage?.({ data: JSON.stringify({ type: 'ack', offset }) });
  }

  serverClose(code, reason = '') {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ code, reason });
  }

  frames() {
    return this.sent.filter((m) => typeof m !== 'string').map((m) => {
      const view = new DataView(m);
      return { offset: view.getUint32(0) * 2 ** 32 + view.getUint32(4), length: m.byteLength - 8 };
    });
  }
}

class FakeMediaRecorder extends EventTarget {
  static isTypeSupported(mime) {
    return mime === 'video/webm;codecs=h264,opus';
  }

  constructor(stream, options) {
    super();
    this.options = options;
    this.mimeType = 'video/x-matroska;codecs=avc1,opus';
    this.state = 'inactive';
    recorders.push(this);
  }

  start(timeslice) {
    this.timeslice = timeslice;
    this.state = 'recording';
  }

  stop() {
    this.state = 'inactive';
    this.chunk(3);
    this.dispatchEvent(new Event('stop'));
  }

  chunk(size) {
    this.ondataavailable?.({ data: new Blob([new Uint8Array(size)]) });
  }
}

globalThis.WebSocket = FakeWebSocket;
globalThis.MediaRecorder = FakeMediaRecorder;
const { goLive } = await import('../../src/Gateway/wwwroot/client/livestream.js');

const media = { getVideoTracks: () => [{}] };
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const until = async (condition) => {
  for (let i = 0; i < 200 && !condition(); i++) {
    await settle();
  }
  assert.ok(condition(), 'condition not reached');
};
const start = (options = {}) => {
  const controller = goLive({ url: 'https://example.test:8443', streamKey: 'lsk_a/b', mediaStream: media, backoffBaseMs: 1, backoffMaxMs: 2, pumpIntervalMs: 5, ...options });
  controllers.push(controller);
  const events = [];
  for (const type of ['live', 'reconnecting', 'resumed', 'congested', 'ended', 'error']) {
    controller.on(type, (detail) => events.push({ type, detail }));
  }
  return { controller, events };
};

afterEach(() => {
  // A failed assertion must not leave a controller's timers running.
  controllers.splice(0).forEach((c) => c._finish(1000, 'test over'));
});

beforeEach(() => {
  sockets.length = 0;
  recorders.length = 0;
});

test('the client connects to the ingest URL with livestream.v1, records H.264 with 1 s keyframes after hello, and frames chunks at their offsets', async () => {
  const { controller, events } = start();
  assert.equal(sockets[0].url, 'wss://example.test:8443/stream/live/lsk_a%2Fb');
  assert.equal(sockets[0].protocol, 'livestream.v1');
  assert.equal(sockets[0].binaryType, 'arraybuffer');
  assert.equal(recorders.length, 0, 'no recording before hello');

  sockets[0].serverHello(0);
  assert.equal(recorders[0].options.mimeType, 'video/webm;codecs=h264,opus');
  assert.equal(recorders[0].options.videoKeyFrameIntervalDuration, 1000);
  assert.equal(events[0].type, 'live');
  recorders[0].chunk(10);
  recorders[0].chunk(0);
  recorders[0].chunk(20);
  await until(() => sockets[0].frames().length === 2);
  assert.deepEqual(sockets[0].frames(), [{ offset: 0, length: 10 }, { offset: 10, length: 20 }]);
  sockets[0].serverAck(10);
  assert.deepEqual({ ...controller.stats, bufferedAmount: 0 }, { ...controller.stats, bytesSent: 30, bytesAcked: 10, queueBytes: 20, reconnects: 0, recordings: 1, bufferedAmount: 0 });
});

test('after a drop the client reconnects and resends from resumeFrom, trimming what the server has', async () => {
  const { controller, events } = start();
  sockets[0].serverHello(0);
  recorders[0].chunk(10);
  recorders[0].chunk(20);
  await until(() => sockets[0].frames().length === 2);
  sockets[0].serverAck(10);
  sockets[0].serverClose(1006);
  assert.equal(events.at(-1).type, 'reconnecting');
  assert.equal(controller.state, 'reconnecting');
  await until(() => sockets.length === 2);

  recorders[0].chunk(5); // recorded while offline: queued
  await settle();
  sockets[1].serverHello(15);
  await until(() => sockets[1].frames().length === 2);
  assert.deepEqual(sockets[1].frames(), [{ offset: 15, length: 15 }, { offset: 30, length: 5 }]);
  assert.equal(events.at(-1).type, 'resumed');
  assert.equal(events.at(-1).detail.newRecording, false);
  assert.equal(controller.stats.reconnects, 1);
  assert.equal(recorders.length, 1, 'the same recording goes on');
});

test('when the client no longer holds the bytes from resumeFrom it starts a new recording there', async () => {
  const { controller, events } = start();
  sockets[0].serverHello(0);
  recorders[0].chunk(10);
  await until(() => sockets[0].frames().length === 1);
  sockets[0].serverClose(1012);
  await until(() => sockets.length === 2);
  sockets[1].serverHello(500); // the server has bytes this client never sent (another tab published meanwhile)
  assert.equal(recorders.length, 2);
  assert.equal(recorders[0].state, 'inactive');
  assert.equal(events.at(-1).detail.newRecording, true);
  recorders[0].chunk(7); // a late chunk of the old recording is dropped
  recorders[1].chunk(8);
  await until(() => sockets[1].frames().length === 1);
  assert.deepEqual(sockets[1].frames(), [{ offset: 500, length: 8 }]);
});

test('stop sends the recorder\'s last chunk, then end, and resolves when the server closes', async () => {
  const { controller, events } = start();
  sockets[0].serverHello(0);
  recorders[0].chunk(10);
  const stopped = controller.stop();
  await until(() => sockets[0].sent.some((m) => typeof m === 'string'));
  assert.deepEqual(sockets[0].frames(), [{ offset: 0, length: 10 }, { offset: 10, length: 3 }]);
  assert.equal(sockets[0].sent.at(-1), '{"type":"end"}');
  sockets[0].serverClose(1000, 'session ended');
  assert.deepEqual(await stopped, { code: 1000, reason: 'session ended' });
  assert.equal(events.at(-1).type, 'ended');
  assert.equal(sockets.length, 1);
});

for (const code of [4401, 4409, 4410, 4500]) {
  test(`close code ${code} stops the client with an error and no reconnect`, async () => {
    const { controller, events } = start();
    sockets[0].serverHello(0);
    sockets[0].serverClose(code, 'because');
    assert.deepEqual(events.slice(-2).map((e) => e.type), ['error', 'ended']);
    assert.equal(events.at(-2).detail.code, code);
    assert.equal(controller.state, 'ended');
    assert.equal(recorders[0].state, 'inactive');
    await settle();
    assert.equal(sockets.length, 1);
  });
}

test('a queue over its bound is dropped and recording starts again at a lower bitrate', async () => {
  const { controller, events } = start({ maxQueueBytes: 100, videoBitsPerSecond: 1_000_000 });
  sockets[0].serverHello(0);
  sockets[0].bufferedAmount = 10 ** 9; // the uplink sends nothing
  recorders[0].chunk(60);
  recorders[0].chunk(60);
  await until(() => recorders.length === 2);
  assert.ok(events.some((e) => e.type === 'congested' && e.detail.overflow));
  assert.equal(recorders[1].options.videoBitsPerSecond, 600_000);
  assert.equal(controller.stats.queueBytes, 0);
  sockets[0].bufferedAmount = 0;
  recorders[1].chunk(4);
  await until(() => sockets[0].frames().length === 1);
  assert.deepEqual(sockets[0].frames(), [{ offset: 0, length: 4 }], 'nothing was sent, so the new recording starts at 0');
});

test('after 4429 the client resumes, ends its recording cleanly and records the next one at a lower bitrate', async () => {
  const { controller, events } = start({ videoBitsPerSecond: 1_000_000 });
  sockets[0].serverHello(0);
  recorders[0].chunk(10);
  await until(() => sockets[0].frames().length === 1);
  sockets[0].serverClose(4429, 'bitrate over the limit');
  assert.ok(events.some((e) => e.type === 'congested' && e.detail.code === 4429 && e.detail.nextVideoBitsPerSecond === 600_000));
  await until(() => sockets.length === 2);
  sockets[1].serverHello(10);
  // The old recording's last chunk (3 bytes, flushed by stop) goes first, then the new recording at 600 kbit/s.
  await until(() => recorders.length === 2);
  assert.equal(recorders[0].state, 'inactive');
  assert.equal(recorders[1].options.videoBitsPerSecond, 600_000);
  recorders[1].chunk(8);
  await until(() => sockets[1].frames().length === 2);
  assert.deepEqual(sockets[1].frames(), [{ offset: 10, length: 3 }, { offset: 13, length: 8 }]);
  assert.equal(events.filter((e) => e.type === 'resumed').at(-1).detail.newRecording, true);
  assert.equal(controller.state, 'live');
});
