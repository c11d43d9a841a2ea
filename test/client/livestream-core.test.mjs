// Unit tests of the client's pure queue, offset and backoff logic. Run by ./test.sh: node --test test/client/
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  readOffset,
} from '../../src/Gateway/wwwroot/client/livestream-core.js';

const bytes = (n, fill = 1) => new Uint8Array(n).fill(fill);
const drain = (queue, max = 1 << 20) => {
  const sent = [];
  for (let next = queue.takeNext(max); next; next = queue.takeNext(max)) {
    sent.push({ offset: next.offset, length: next.bytes.byteLength, first: next.bytes[0] });
  }
  return sent;
};

test('frame writes the offset as 8 big-endian bytes followed by the payload', () => {
  const message = new Uint8Array(frame(0x0102_0304_0506, Uint8Array.of(9, 8, 7)));
  assert.deepEqual([...message], [0, 0, 1, 2, 3, 4, 5, 6, 9, 8, 7]);
  assert.equal(HEADER_BYTES, 8);
});

test('frame round-trips offsets above 32 bits and rejects negative or unsafe ones', () => {
  for (const offset of [0, 1, 4096, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
    assert.equal(readOffset(frame(offset, new Uint8Array(0))), offset);
  }
  assert.throws(() => frame(-1, new Uint8Array(0)), RangeError);
  assert.throws(() => frame(2 ** 53, new Uint8Array(0)), RangeError);
  assert.throws(() => frame(1.5, new Uint8Array(0)), RangeError);
});

test('appended chunks get consecutive offsets from the starting offset, and empty chunks are ignored', () => {
  const queue = new ChunkQueue(100);
  assert.equal(queue.append(bytes(10)), 100);
  assert.equal(queue.append(new Uint8Array(0)), 110);
  assert.equal(queue.append(bytes(5)), 110);
  assert.equal(queue.endOffset, 115);
  assert.equal(queue.byteLength, 15);
  assert.equal(queue.unsentBytes, 15);
});

test('takeNext sends every byte once, in order, split at the message limit', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10, 1));
  queue.append(bytes(7, 2));
  assert.deepEqual(drain(queue, 4), [
    { offset: 0, length: 4, first: 1 }, { offset: 4, length: 4, first: 1 }, { offset: 8, length: 2, first: 1 },
    { offset: 10, length: 4, first: 2 }, { offset: 14, length: 3, first: 2 },
  ]);
  assert.equal(queue.takeNext(4), null);
  assert.equal(queue.unsentBytes, 0);
  assert.equal(queue.byteLength, 17, 'sent bytes stay until acknowledged');
});

test('an ack forgets the bytes it covers, trimming a chunk it ends inside', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10, 1));
  queue.append(bytes(10, 2));
  drain(queue);
  queue.ack(15);
  assert.equal(queue.startOffset, 15);
  assert.equal(queue.byteLength, 5);
  queue.ack(12);
  assert.equal(queue.startOffset, 15, 'an older ack changes nothing');
  queue.ack(20);
  assert.equal(queue.byteLength, 0);
});

test('an ack beyond what the queue holds never moves past its end', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10));
  drain(queue);
  queue.ack(50);
  assert.equal(queue.startOffset, 10);
  assert.equal(queue.endOffset, 10);
  assert.equal(queue.append(bytes(1)), 10);
});

test('rewind to resumeFrom resends from there, trimming what the server already has', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10, 1));
  queue.append(bytes(10, 2));
  queue.append(bytes(10, 3));
  drain(queue);
  queue.ack(10);
  assert.equal(queue.rewind(14), true);
  assert.deepEqual(drain(queue), [{ offset: 14, length: 6, first: 2 }, { offset: 20, length: 10, first: 3 }]);
});

test('rewind to the start of what is held resends all of it', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10, 1));
  drain(queue);
  assert.equal(queue.rewind(0), true);
  assert.deepEqual(drain(queue), [{ offset: 0, length: 10, first: 1 }]);
});

test('rewind fails when the queue no longer holds the bytes from resumeFrom', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10));
  drain(queue);
  queue.ack(10);
  queue.append(bytes(10));
  assert.equal(queue.rewind(5), false, 'bytes below the oldest held were acknowledged and forgotten');
  assert.equal(queue.rewind(25), false, 'the server holds more than this queue ever had');
  assert.equal(queue.sendOffset, 10, 'a failed rewind changes nothing');
});

test('rewind to the end of what is held succeeds and sends nothing again', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10));
  drain(queue);
  assert.equal(queue.rewind(10), true);
  assert.equal(queue.byteLength, 0);
  assert.equal(queue.takeNext(100), null);
});

test('reset starts a new recording at a given offset with nothing held', () => {
  const queue = new ChunkQueue(0);
  queue.append(bytes(10));
  queue.reset(1234);
  assert.equal(queue.byteLength, 0);
  assert.equal(queue.append(bytes(3)), 1234);
  assert.deepEqual(drain(queue), [{ offset: 1234, length: 3, first: 1 }]);
});

test('the queue holds only unacknowledged bytes over a long run', () => {
  const queue = new ChunkQueue(0);
  let acked = 0;
  for (let i = 0; i < 1000; i++) {
    queue.append(bytes(1000));
    for (let next = queue.takeNext(300); next; next = queue.takeNext(300)) {
      acked = next.offset + next.bytes.byteLength;
    }
    queue.ack(acked);
    assert.equal(queue.byteLength, 0);
  }
  assert.equal(queue.startOffset, 1_000_000);
});

test('backoff grows exponentially with jitter and stays under its cap', () => {
  const low = (attempt) => backoffDelay(attempt, { baseMs: 100, maxMs: 3000, random: () => 0 });
  const high = (attempt) => backoffDelay(attempt, { baseMs: 100, maxMs: 3000, random: () => 1 });
  assert.deepEqual([0, 1, 2, 3].map(low), [50, 100, 200, 400]);
  assert.deepEqual([0, 1, 2, 3].map(high), [100, 200, 400, 800]);
  assert.equal(high(10), 3000);
  assert.equal(high(1000), 3000);
  for (let attempt = 0; attempt < 20; attempt++) {
    const delay = backoffDelay(attempt, { baseMs: 100, maxMs: 3000 });
    assert.ok(delay >= low(attempt) && delay <= high(attempt), `attempt ${attempt}: ${delay}`);
  }
});

test('the stop codes of the close-code table stop; the others retry', () => {
  for (const code of [4401, 4403, 4409, 4410, 4415, 4423, 4500]) {
    assert.equal(isStopCode(code), true, String(code));
  }
  for (const code of [1000, 1001, 1006, 1009, 1011, 1012, 4400, 4408, 4429, 4503]) {
    assert.equal(isStopCode(code), false, String(code));
  }
  assert.match(describeClose(4401), /invalid stream key/);
  assert.match(describeClose(4409), /superseded/);
  assert.match(describeClose(4410), /ended/);
  assert.match(describeClose(4999), /4999/);
});

test('codec choice prefers H.264, then VP8 and VP9', () => {
  const chrome = new Set(['video/webm;codecs=h264,opus', 'video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm']);
  assert.equal(chooseMimeType((m) => chrome.has(m)), 'video/webm;codecs=h264,opus');
  const safari = new Set(['video/mp4', 'video/mp4;codecs=avc1,mp4a.40.2']);
  assert.equal(chooseMimeType((m) => safari.has(m)), 'video/mp4;codecs=avc1,mp4a.40.2');
  const noH264 = new Set(['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus']);
  assert.equal(chooseMimeType((m) => noH264.has(m)), 'video/webm;codecs=vp8,opus');
  assert.equal(chooseMimeType(() => false), '');
  assert.equal(chooseMimeType((m) => m === 'audio/webm;codecs=opus' || chrome.has(m), { hasVideo: false }), 'audio/webm;codecs=opus');
  assert.equal(chooseMimeType((m) => chrome.has(m), { preferred: 'video/webm;codecs=vp9,opus' }), 'video/webm;codecs=vp9,opus');
  assert.equal(isH264('video/x-matroska;codecs=avc1,opus'), true);
  assert.equal(isH264('video/mp4'), true);
  assert.equal(isH264('video/webm;codecs=vp8,opus'), false);
});

test('congestion turns on above a high-water mark and clears only below half of it', () => {
  const monitor = new CongestionMonitor({ bufferedHighWater: 1000, queueHighWater: 10_000 });
  assert.equal(monitor.sample(500, 5000), null);
  assert.equal(monitor.sample(1500, 0), 'congested');
  assert.equal(monitor.sample(2000, 0), null, 'reported once per episode');
  assert.equal(monitor.sample(800, 0), null, 'still above half the mark');
  assert.equal(monitor.sample(400, 4000), 'clear');
  assert.equal(monitor.sample(0, 20_000), 'congested');
});

test('a lowered bitrate drops to 60% and never below the floor', () => {
  assert.equal(lowerBitrate(2_500_000), 1_500_000);
  assert.equal(lowerBitrate(200_000), 150_000);
  assert.equal(lowerBitrate(100_000, 50_000), 60_000);
});
