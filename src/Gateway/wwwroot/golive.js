// The Go Live page: camera preview, stream key, Start/Stop, live status and the session's own HLS preview.
// `?debug` keeps every recorder chunk in window.goLive.chunks (the end-to-end tests compare them to the archive) and
// the time of the first one in window.goLive.firstChunkAt.
import { goLive } from '/client/livestream.js';

const $ = (id) => document.getElementById(id);
const debug = new URLSearchParams(location.search).has('debug');
const page = { controller: null, chunks: [], events: [], media: null };
window.goLive = page;

const MESSAGES = {
  4401: 'Invalid stream key: check the key and try again.',
  4409: 'Superseded: another page or device is now publishing to this stream. This page has stopped sending.',
  4410: 'Ended: the operator ended this stream.',
  4423: 'This stream already has a live publisher.',
};

function setStatus(state, text = state) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

function say(text) {
  $('message').textContent = text;
}

function formatBytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

async function camera() {
  if (page.media) {
    return page.media;
  }
  try {
    page.media = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
  } catch (e) {
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    setStatus('error', denied ? 'camera denied' : 'no camera');
    say(denied
      ? 'Camera or microphone permission was denied. Allow access in the browser\'s site settings and press Start again.'
      : `No camera or microphone could be opened (${e?.name ?? 'error'}).`);
    return null;
  }
  $('preview').srcObject = page.media;
  return page.media;
}

let hlsWait = 0;
let hlsPlayer = null;

// The vendored hls.js (npm hls.js 1.7.4, served by the gateway), loaded only where the browser has no native HLS.
const HLS_MODULE = '/vendor/hls.js/hls.light.min.mjs';

/**
 * Plays the playlist through hls.js over MediaSource where the browser has it (Chromium answers "maybe" for native
 * HLS yet does not play it), natively where it has no MediaSource but HLS (Safari on iPhone); else the link stays.
 */
async function attachHls(video, url, native) {
  hlsPlayer?.destroy();
  hlsPlayer = null;
  const { default: Hls } = await import(HLS_MODULE);
  if (Hls.isSupported()) {
    hlsPlayer = new Hls();
    hlsPlayer.loadSource(url);
    hlsPlayer.attachMedia(video);
  } else if (native) {
    video.src = url;
  } else {
    return;
  }
  video.play().catch(() => {});
}

function playHls(url) {
  const link = $('hls-link');
  link.href = url;
  link.hidden = false;
  const video = $('hls');
  const native = video.canPlayType('application/vnd.apple.mpegurl') !== '';
  // The playlist appears once FFmpeg has written its first segment: wait for it rather than fail on a 404.
  const wait = ++hlsWait;
  const deadline = Date.now() + 60_000;
  const poll = async () => {
    if (wait !== hlsWait || Date.now() > deadline) {
      return;
    }
    try {
      const response = await fetch(url, { cache: 'no-store' });
      if (response.ok && (await response.text()).includes('#EXTINF')) {
        await attachHls(video, url, native);
        return;
      }
    } catch {
      // Not there yet, or the connection dropped: try again.
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 3000);
}

let lastBytes = 0;
let lastAt = 0;

function showStats(stats) {
  const now = performance.now();
  if (lastAt > 0 && now > lastAt) {
    const bps = ((stats.bytesAcked - lastBytes) * 8 * 1000) / (now - lastAt);
    $('bitrate').textContent = `${(Math.max(0, bps) / 1000).toFixed(0)} kbit/s (recorder ${(stats.videoBitsPerSecond / 1000).toFixed(0)} kbit/s)`;
  }
  lastBytes = stats.bytesAcked;
  lastAt = now;
  $('bytes').textContent = `${formatBytes(stats.bytesSent)} / ${formatBytes(stats.bytesAcked)} (queued ${formatBytes(stats.queueBytes)})`;
  $('reconnects').textContent = String(stats.reconnects);
}

async function start(event) {
  event.preventDefault();
  const streamKey = $('key').value.trim();
  if (!streamKey) {
    return;
  }
  const media = await camera();
  if (!media) {
    return;
  }
  say('');
  setStatus('connecting');
  $('start').disabled = true;
  $('stop').disabled = false;
  lastAt = 0;
  // ?mime=... asks the recorder for a given type (when the browser records it); else the client picks its default.
  const mimeType = new URLSearchParams(location.search).get('mime') || undefined;
  const controller = goLive({ url: location.origin, streamKey, mediaStream: media, mimeType });
  page.controller = controller;
  page.chunks = [];
  page.firstChunkAt = null;
  const record = (type) => controller.on(type, (detail) => page.events.push({ type, detail }));
  ['live', 'reconnecting', 'resumed', 'congested', 'ended', 'error'].forEach(record);
  if (debug) {
    controller.on('chunk', ({ blob }) => {
      page.firstChunkAt ??= performance.now();
      page.chunks.push(blob);
    });
  }
  controller.on('live', ({ hlsUrl }) => {
    setStatus('live');
    $('codec').textContent = `${controller.mimeType || 'browser default'}${controller.passthrough ? ' (video passed through)' : ' (video re-encoded)'}`;
    if (hlsUrl) {
      playHls(hlsUrl);
    }
  });
  controller.on('reconnecting', ({ reason, attempt }) => {
    setStatus('reconnecting');
    say(`Connection lost (${reason}); reconnecting, attempt ${attempt}…`);
  });
  controller.on('resumed', ({ newSession, hlsUrl }) => {
    setStatus('live');
    say(newSession ? 'Reconnected in a new session.' : 'Reconnected.');
    if (newSession && hlsUrl) {
      playHls(hlsUrl);
    }
  });
  controller.on('congested', ({ nextVideoBitsPerSecond }) => {
    say(`The connection cannot keep up; the next recording uses ${(nextVideoBitsPerSecond / 1000).toFixed(0)} kbit/s.`);
  });
  controller.on('stats', showStats);
  controller.on('error', ({ code, reason }) => {
    setStatus('error', code === 4409 ? 'superseded' : code === 4401 ? 'invalid key' : 'ended');
    say(MESSAGES[code] ?? `Stopped: ${reason} (${code}).`);
  });
  controller.on('ended', ({ code }) => {
    if ($('status').dataset.state !== 'error') {
      setStatus('ended');
      if (code === 1000) {
        say('The broadcast has ended.');
      }
    }
    $('start').disabled = false;
    $('stop').disabled = true;
  });
}

async function stop() {
  $('stop').disabled = true;
  await page.controller?.stop();
}

$('form').addEventListener('submit', start);
$('stop').addEventListener('click', stop);
camera();
