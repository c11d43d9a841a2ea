// Unit tests of the external load client's framing and ack bookkeeping. Run by ./test.sh with node --test; needs no
// npm install (bookkeeping.mjs imports nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckTracker, Closes, HEADER_BYTES, LoopedStream, percentiles, readAck, redact } from './bookkeeping.mjs';

test('a message is the big-endian offset followed by the looped capture from that offset', () => {
  const stream = new LoopedStream(Uint8Array.of(0, 1, 2, 3, 4), 4);
  const { message, end } = stream.message(3);

  assert.equal(end, 16);
  assert.equal(message.readBigInt64BE(0), 12n);
  assert.deepEqual([...message.subarray(HEADER_BYTES)], [2, 3, 4, 0]);
});

test('a resume inside a chunk sends only the rest of that chunk', () => {
  const stream = new LoopedStream(Uint8Array.of(0, 1, 2, 3, 4), 4);
  const { message, end } = stream.message(stream.chunkAt(6), 6);

  assert.equal(end, 8);
  assert.equal(message.readBigInt64BE(0), 6n);
  assert.deepEqual([...message.subarray(HEADER_BYTES)], [1, 2]);
});

test('publishers at the same chunk share one framed message, and only the last few are kept', () => {
  const stream = new LoopedStream(new Uint8Array(10), 2, 3);
  const first = stream.message(0).message;

  assert.equal(stream.message(0).message, first);
  [1, 2, 3].forEach((i) => stream.message(i));
  assert.notEqual(stream.message(0).message, first);
});

test('an ack covers every chunk whose last byte is below its offset, and times only those sent after the ramp-up', () => {
  const tracker = new AckTracker(100);
  const latencies = [];
  tracker.sent(10, 90);
  tracker.sent(20, 110);
  tracker.sent(30, 120);

  assert.equal(tracker.ack(20, 150, latencies), 20);
  assert.deepEqual(latencies, [40]);
  assert.equal(tracker.pending, 1);
  assert.equal(tracker.ack(25, 160, latencies), 5);
  assert.deepEqual(latencies, [40], 'a partial ack does not cover the chunk');
  assert.equal(tracker.ack(30, 170, latencies), 5);
  assert.deepEqual(latencies, [40, 50]);
  assert.equal(tracker.pending, 0);
});

test('a repeated or older ack adds no bytes and no timings', () => {
  const tracker = new AckTracker(0, 1000);
  const latencies = [];
  tracker.sent(1100, 5);

  assert.equal(tracker.ack(1000, 6, latencies), 0);
  assert.equal(tracker.ack(1100, 7, latencies), 100);
  assert.equal(tracker.ack(1100, 8, latencies), 0);
  assert.deepEqual(latencies, [2]);
  assert.equal(tracker.acked, 1100);
});

test('a long run keeps its pending queue short', () => {
  const tracker = new AckTracker(0);
  const latencies = [];
  for (let i = 1; i <= 5000; i++) {
    tracker.sent(i * 10, i);
    tracker.ack(i * 10, i + 1, latencies);
  }

  assert.equal(tracker.pending, 0);
  assert.equal(latencies.length, 5000);
});

test('only ack messages with a non-negative integer offset are read as acks', () => {
  assert.equal(readAck('{"type":"ack","offset":62500}'), 62500);
  assert.equal(readAck('{"type":"hello","sessionId":"s","resumeFrom":0}'), -1);
  assert.equal(readAck('{"type":"ack","offset":-1}'), -1);
  assert.equal(readAck('not json'), -1);
});

test('closes that end a run as planned are counted but are not errors', () => {
  const closes = new Closes();
  closes.add('expected 1000 (end)');
  closes.add('4503 (cluster at capacity; retry later)');
  closes.add('expected 1000 (end)');

  assert.deepEqual(closes.all(), { '4503 (cluster at capacity; retry later)': 1, 'expected 1000 (end)': 2 });
  assert.deepEqual(closes.errors(), { '4503 (cluster at capacity; retry later)': 1 });
});

test('percentiles are nearest-rank, as the project generator computes them', () => {
  const values = Array.from({ length: 200 }, (_, i) => 200 - i);

  assert.deepEqual(percentiles(values), { count: 200, p50: 100, p95: 190, p99: 198, max: 200 });
  assert.equal(percentiles([]).count, 0);
});

test('a stream key never survives into an error text', () => {
  assert.equal(redact('Unexpected server response: 429 ws://127.0.0.1:5000/stream/live/lsk_secret'), 'Unexpected server response: 429 ws://127.0.0.1:5000/stream/live/[redacted]');
});
