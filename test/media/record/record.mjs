// Records real Chromium MediaRecorder captures for the test media, chunk by chunk.
//
//   node test/media/record/record.mjs <scenario> <output folder>
//
// Scenarios:
//   fmp4-restart  recorder A (fragmented MP4, H.264 + Opus: Debian's Chromium has no AAC encoder) for 8 s, stop(), then recorder B on the same stream for 8 s
//                 (what Safari sends when a page restarts its recorder): a/ and b/.
//   h264-cut      recorder A (WebM H.264 + Opus, 500 ms timeslice) whose chunks stop being kept after 6.2 s without a
//                 stop(), as when a tab is closed; recorder B then starts on the same stream for 8 s: a/ and b/.
//   vp8-cut       as h264-cut with VP8.
//
// Chromium is LIVESTREAM_CHROMIUM, else `chromium`. It runs headless with the fake camera and microphone and a fresh
// profile; the page is served from a loopback port and posts every dataavailable chunk back to it.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const scenarios = {
  "fmp4-restart": { mime: "video/mp4;codecs=avc1,opus", cutAfterMs: null, aMs: 8000, bMs: 8000 },
  "h264-cut": { mime: "video/webm;codecs=h264,opus", cutAfterMs: 6200, aMs: null, bMs: 8000 },
  "vp8-cut": { mime: "video/webm;codecs=vp8,opus", cutAfterMs: 6200, aMs: null, bMs: 8000 },
};

const [name, out] = process.argv.slice(2);
const scenario = scenarios[name];
if (!scenario || !out) {
  console.error(`usage: record.mjs <${Object.keys(scenarios).join("|")}> <output folder>`);
  process.exit(2);
}

const page = `<!doctype html><meta charset="utf-8"><script type="module">
const s = ${JSON.stringify(scenario)};
window.addEventListener("error", (e) => fetch("/error", { method: "POST", body: String(e.error?.stack ?? e.message) }));
window.addEventListener("unhandledrejection", (e) => fetch("/error", { method: "POST", body: String(e.reason) }));
if (!MediaRecorder.isTypeSupported(s.mime)) throw new Error("not supported: " + s.mime);
const post = (path, body) => fetch(path, { method: "POST", body });
const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 }, audio: true });
const options = { mimeType: s.mime, videoBitsPerSecond: 1000000, audioBitsPerSecond: 64000, videoKeyFrameIntervalDuration: 1000 };
const track = stream.getVideoTracks()[0].getSettings();
const audio = stream.getAudioTracks()[0].getSettings();
let lastChunkAt = 0;
// Chunks are posted one at a time, in event order.
let queue = Promise.resolve();
function record(part, keepMs, runMs) {
  return new Promise((resolve) => {
    const rec = new MediaRecorder(stream, options);
    const started = performance.now();
    const meta = { part, chunks: [], requestedMime: s.mime, gapAfterPreviousMs: part === "b" ? null : undefined };
    let keeping = true;
    let firstAt = null;
    rec.ondataavailable = (e) => {
      const at = performance.now();
      if (!keeping) return;
      if (firstAt === null) {
        firstAt = at;
        // Chrome reports the container it really writes (x-matroska for H.264) only once data flows.
        meta.actualMime = rec.mimeType;
        if (part === "b") meta.gapAfterPreviousMs = +(at - lastChunkAt).toFixed(1);
      }
      lastChunkAt = at;
      const index = meta.chunks.length;
      meta.chunks.push({ index, bytes: e.data.size, msSinceStart: +(at - started).toFixed(1) });
      queue = queue.then(() => post("/chunk/" + part + "/" + index, e.data));
    };
    rec.onstop = () => { meta.durationMs = +(performance.now() - started).toFixed(1); resolve(meta); };
    rec.start(500);
    if (keepMs !== null) {
      // The tab "closes": nothing after this moment is kept, and the recorder is not stopped cleanly first.
      setTimeout(() => { keeping = false; meta.cutAtMs = keepMs; rec.stop(); }, keepMs);
    } else {
      setTimeout(() => rec.stop(), runMs);
    }
  });
}
const a = await record("a", s.cutAfterMs, s.aMs);
const b = await record("b", null, s.bMs);
await queue;
const common = { width: track.width, height: track.height, frameRate: track.frameRate, userAgent: navigator.userAgent,
  audioSampleRate: audio.sampleRate, audioChannelCount: audio.channelCount, timesliceMs: 500, keyframeIntervalMs: 1000,
  videoBitsPerSecond: 1000000, audioBitsPerSecond: 64000 };
await post("/done", JSON.stringify({ a: { ...common, ...a }, b: { ...common, ...b } }));
</script>`;

const parts = { a: [], b: [] };
let chromium;
const server = createServer((req, res) => {
  const body = [];
  req.on("data", (d) => body.push(d));
  req.on("end", () => {
    const data = Buffer.concat(body);
    const chunk = req.url.match(/^\/chunk\/([ab])\/(\d+)$/);
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/html" }).end(page);
      return;
    }

    res.writeHead(204).end();
    if (chunk) {
      parts[chunk[1]][Number(chunk[2])] = data;
    } else if (req.url === "/error") {
      console.error(`page error: ${data}`);
      chromium.kill("SIGKILL");
      process.exit(1);
    } else if (req.url === "/done") {
      const meta = JSON.parse(data.toString());
      const head = parts.a[0].subarray(0, 64).toString("latin1");
      const ext = scenario.mime.startsWith("video/mp4") ? "mp4" : head.includes("matroska") ? "mkv" : "webm";
      for (const part of ["a", "b"]) {
        const dir = join(out, part);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `stream.${ext}`), Buffer.concat(parts[part]));
        writeFileSync(join(dir, "chunks.json"), JSON.stringify({ restartPart: part, ...meta[part] }, null, 2) + "\n");
      }

      console.log(`recorded ${name}: a ${parts.a.length} chunks, b ${parts.b.length} chunks`);
      chromium.kill("SIGKILL");
      server.close();
    }
  });
});

server.listen(0, "127.0.0.1", () => {
  const profile = mkdtempSync(join(tmpdir(), "record-profile-"));
  const url = `http://127.0.0.1:${server.address().port}/`;
  chromium = spawn(process.env.LIVESTREAM_CHROMIUM || "chromium", [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding", `--user-data-dir=${profile}`,
    "--remote-debugging-port=0", url,
  ], { stdio: "ignore" });
  chromium.on("exit", () => rmSync(profile, { recursive: true, force: true }));
  setTimeout(() => { console.error("timed out"); chromium.kill("SIGKILL"); process.exit(1); }, 60000).unref();
});
