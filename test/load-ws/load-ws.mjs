#!/usr/bin/env node
// An external load client for LiveStream: one `ws` socket per publisher, livestream.v1 as docs/protocol.md specifies
// it, written without the project's code so that capacity figures do not depend on one generator's shape.
//
//   node test/load-ws/load-ws.mjs [--capture FILE] [--chunk-bytes 62500] [--interval-ms 500] [--ramp-up S]
//     [--duration S] [--measure-after S] [--end-timeout S]  < ingest-urls.txt
//
// Ingest URLs (ws://host/stream/live/{streamKey}, one per line, one publisher each) come on stdin: a stream key is
// a secret and never goes on a command line or into this program's output. Publisher i starts at i/N of the
// ramp-up and sends a fixed-size chunk of the looped capture every interval, each when it falls due and once the
// previous one was written to the socket, until --duration (from the start); then it waits for the ack of
// everything it sent and sends {"type":"end"}, expecting close 1000. No reconnects: any other close is an error.
//
// stdout, one JSON object a line: {"event":"started"}, {"event":"measuring"} at --measure-after,
// {"event":"stopping"} at --duration, then {"event":"summary",...} (ack latency, and endToCloseMs: from each "end"
// to its close 1000, all publishers ending at once). A caller that samples CPU between
// "measuring" and "stopping" measures the same window as the summary's acked bytes. The run stops by itself:
// at most duration + 2 × end-timeout + 5 s.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { AckTracker, Closes, HEADER_BYTES, LoopedStream, percentiles, readAck, redact } from './bookkeeping.mjs';

const SUBPROTOCOL = 'livestream.v1';
const END_MESSAGE = JSON.stringify({ type: 'end' });

const { values: options } = parseArgs({
  options: {
    capture: { type: 'string', default: fileURLToPath(new URL('../media/h264-opus-mkv/stream.mkv', import.meta.url)) },
    'chunk-bytes': { type: 'string', default: '62500' },
    'interval-ms': { type: 'string', default: '500' },
    'ramp-up': { type: 'string', default: '0' },
    duration: { type: 'string', default: '10' },
    'measure-after': { type: 'string' },
    'end-timeout': { type: 'string', default: '15' },
  },
});
const number = (name) => {
  const value = Number(options[name]);
  if (!Number.isFinite(value) || value < 0) usage(`--${name} must be a non-negative number`);
  return value;
};
const chunkBytes = number('chunk-bytes');
const intervalMs = number('interval-ms');
const rampUpMs = number('ramp-up') * 1000;
const durationMs = number('duration') * 1000;
const measureAfterMs = options['measure-after'] === undefined ? rampUpMs : number('measure-after') * 1000;
const endTimeoutMs = number('end-timeout') * 1000;
if (chunkBytes < 1 || intervalMs <= 0) usage('--chunk-bytes and --interval-ms must be positive');

const urls = readFileSync(0, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
if (urls.length === 0) usage('no ingest URLs on stdin');
const stream = new LoopedStream(readFileSync(options.capture), chunkBytes);

const closes = new Closes();
const latencies = [];
// From each "end" sent to its close 1000: what the server's closing costs, and how it queues when many end at once.
const endLatencies = [];
let bytesSent = 0;
let bytesAcked = 0;
let connected = 0;
let measured = null;
let done = 0;

const origin = performance.now();
const measureFrom = origin + measureAfterMs;
const stopAt = origin + durationMs;
const cpuAtStart = process.cpuUsage();
emit({ event: 'started', pid: process.pid, publishers: urls.length, masking: masking() });

const publishers = urls.map((url, i) => new Publisher(url, origin + (rampUpMs * i) / urls.length));
setTimeout(() => {
  measured = { from: performance.now(), bytesAcked, cpu: process.cpuUsage() };
  emit({ event: 'measuring' });
}, Math.max(0, measureFrom - performance.now()));
const stopMeasuring = () => {
  if (measured === null || measured.to !== undefined) return;
  measured.to = performance.now();
  measured.bytesAcked = bytesAcked - measured.bytesAcked;
  measured.cpu = process.cpuUsage(measured.cpu);
  emit({ event: 'stopping' });
};
setTimeout(stopMeasuring, Math.max(measureAfterMs + 1, durationMs) - (performance.now() - origin));
// The hard limit: whatever is still open then is cut and counted.
setTimeout(() => {
  for (const publisher of publishers) publisher.abandon();
  finish();
}, durationMs + 2 * endTimeoutMs + 5000).unref();

function Publisher(url, startAt) {
  let socket = null;
  let tracker = null;
  let offset = 0;
  let state = 'waiting'; // waiting → connecting → sending → ending → done
  let failed = false;
  let endTimer = null;
  let endSent = false;
  let endSentAt = 0;

  const finished = (kind) => {
    if (state === 'done') return;
    state = 'done';
    clearTimeout(endTimer);
    if (kind) closes.add(kind);
    done++;
    if (done === publishers.length) finish();
  };

  const dueAt = (index) => startAt + index * intervalMs;

  const sendFrom = (index) => {
    if (state !== 'sending') return;
    const due = dueAt(index);
    if (due >= stopAt) {
      setTimeout(end, Math.max(0, stopAt - performance.now()));
      return;
    }
    const wait = due - performance.now();
    if (wait > 0) {
      setTimeout(() => sendFrom(index), wait);
      return;
    }
    const { message, end: to } = stream.message(index, Math.max(offset, index * stream.chunkBytes));
    tracker.sent(to, performance.now());
    bytesSent += message.length - HEADER_BYTES;
    offset = to;
    // The next chunk waits for this one to reach the socket, as a generator awaiting its send would.
    socket.send(message, { binary: true }, (error) => {
      if (!error) sendFrom(index + 1);
    });
  };

  const end = () => {
    if (state !== 'sending') return;
    state = 'ending';
    endTimer = setTimeout(() => {
      socket.terminate();
      finished(`end: no close 1000 within ${endTimeoutMs / 1000} s`);
    }, endTimeoutMs);
    sendEndOnceAcked();
  };

  // "end" only once everything sent is acknowledged, so that a close 1000 means every byte was committed.
  const sendEndOnceAcked = () => {
    if (state === 'ending' && !endSent && tracker.pending === 0) {
      endSent = true;
      endSentAt = performance.now();
      socket.send(END_MESSAGE);
    }
  };

  const onMessage = (data, isBinary) => {
    if (isBinary) {
      failed = true;
      socket.terminate();
      finished('binary message from the server');
      return;
    }
    const text = data.toString();
    if (tracker === null) {
      let hello;
      try {
        hello = JSON.parse(text);
      } catch {
        hello = null;
      }
      if (hello?.type !== 'hello' || !Number.isSafeInteger(hello.resumeFrom)) {
        failed = true;
        socket.terminate();
        finished('first message not a hello');
        return;
      }
      connected++;
      offset = hello.resumeFrom;
      tracker = new AckTracker(measureFrom, offset);
      state = 'sending';
      sendFrom(stream.chunkAt(offset));
      return;
    }
    const acked = readAck(text);
    if (acked >= 0) {
      bytesAcked += tracker.ack(acked, performance.now(), latencies);
      sendEndOnceAcked();
    }
  };

  const open = () => {
    state = 'connecting';
    try {
      socket = new WebSocket(url, SUBPROTOCOL, { perMessageDeflate: false, handshakeTimeout: 30_000 });
    } catch (error) {
      // A malformed URL throws here, with the URL (and its key) in the message.
      failed = true;
      finished('connect: ' + redact(error.message));
      return;
    }
    socket.on('message', onMessage);
    socket.on('error', (error) => {
      if (failed) return;
      failed = true;
      finished((tracker === null ? 'connect: ' : 'socket error: ') + redact(error.message));
    });
    socket.on('close', (code, reason) => {
      if (failed) return;
      if (state === 'ending' && code === 1000) {
        if (endSent) endLatencies.push(performance.now() - endSentAt);
        finished('expected 1000 (end)');
      }
      else finished(tracker === null ? `before hello: ${code}` : `${code}${reason.length > 0 ? ` (${redact(reason.toString())})` : ''}`);
    });
  };

  this.abandon = () => {
    if (state === 'done') return;
    failed = true;
    socket?.terminate();
    finished('cancelled (run over its hard limit)');
  };

  setTimeout(open, Math.max(0, startAt - performance.now()));
}

function finish() {
  stopMeasuring();
  const cpu = process.cpuUsage(cpuAtStart);
  const window = measured?.to === undefined ? null : measured;
  const seconds = window === null ? 0 : (window.to - window.from) / 1000;
  emit({
    event: 'summary',
    publishers: urls.length,
    connected,
    masking: masking(),
    mbSent: round(bytesSent / 1e6),
    mbAcked: round(bytesAcked / 1e6),
    ackMs: percentiles(latencies),
    endToCloseMs: percentiles(endLatencies),
    measuredSeconds: round(seconds),
    mbAckedMeasured: round((window?.bytesAcked ?? 0) / 1e6),
    ackedMbitPerSecond: seconds > 0 ? round((window.bytesAcked * 8) / 1e6 / seconds) : null,
    // This process's own CPU (user + system), as cores over the measured window and seconds over the whole run.
    clientCoresMeasured: seconds > 0 ? round((window.cpu.user + window.cpu.system) / 1e6 / seconds) : null,
    clientCpuSeconds: round((cpu.user + cpu.system) / 1e6),
    closes: closes.all(),
    errors: closes.errors(),
  });
  process.exit(0);
}

function emit(object) {
  process.stdout.write(JSON.stringify(object) + '\n');
}

function round(value) {
  return Math.round(value * 1000) / 1000;
}

/** Whether ws masks with the native `bufferutil` (a JS loop costs about 100 times more CPU per byte). */
function masking() {
  const require = createRequire(import.meta.url);
  try {
    return require('bufferutil') === require('bufferutil/fallback.js') ? 'js fallback' : 'bufferutil (native)';
  } catch {
    return 'js (bufferutil missing)';
  }
}

function usage(problem) {
  process.stderr.write(`load-ws: ${problem}\nusage: node load-ws.mjs [--capture FILE] [--chunk-bytes B] [--interval-ms MS] [--ramp-up S] [--duration S] [--measure-after S] [--end-timeout S] < ingest-urls\n`);
  process.exit(2);
}
