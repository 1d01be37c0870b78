// A static server for the page tests: serves www/ on 127.0.0.1 (free port) with Range support,
// application/wasm, cross-origin isolation headers, and a count of the bytes sent per file. Tests can
// also serve in-memory files, slow a file down, make a connection drop once, or ignore Range.
// It sends no Access-Control-Allow-Origin header: a second instance is a host without CORS.

import http from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { HEADERS as ISOLATION, WWW, serveFile } from "../../tools/serve.mjs";

export { WWW };

/**
 * Starts the server. Returns {url, port, bytesSent: Map(path -> bytes), requests: [{path, range, status}],
 * ignoreRange: Set(paths answered 200 despite a Range header), slow: Set(paths whose Range answers
 * trickle out at about 160 kB/s, to watch progress and cancel), files: Map(path -> Buffer, or
 * {size, read(start, end) -> Buffer} for a large virtual file), dropOnce: Map(path -> n: the next
 * answer for path sends n body bytes, then the server closes the connection), ended(path) -> Promise
 * (every such answer for path has ended), close()}.
 */
export async function startServer() {
  const bytesSent = new Map();
  const requests = [];
  const ignoreRange = new Set();
  const slow = new Set();
  const files = new Map();
  const dropOnce = new Map();
  const open = new Map(); // path -> answers from memory (or slowed, or dropped) still being sent
  const count = (path, n) => bytesSent.set(path, (bytesSent.get(path) ?? 0) + n);
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const onDisk = !path.includes("..") && existsSync(WWW + path.slice(1)) && !path.endsWith("/");
    if (files.has(path) || (onDisk && ((slow.has(path) && req.headers.range) || dropOnce.has(path)))) {
      const body = files.get(path) ?? readFileSync(WWW + path.slice(1));
      open.set(path, (open.get(path) ?? 0) + 1);
      return serveBytes(req, res, body, {
        range: ignoreRange.has(path) ? null : req.headers.range ?? null,
        slow: slow.has(path),
        dropAfter: dropOnce.get(path),
        count: (n) => count(path, n),
        dropped: () => dropOnce.delete(path),
        done: (status) => {
          open.set(path, open.get(path) - 1);
          requests.push({ path, range: req.headers.range ?? null, status });
        },
      });
    }
    if (ignoreRange.has(path)) delete req.headers.range;
    const range = req.headers.range ?? null;
    const counting = (chunk) => {
      if (chunk && typeof chunk !== "function") count(path, chunk.length);
    };
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.write = (chunk, ...rest) => (counting(chunk), write(chunk, ...rest));
    res.end = (chunk, ...rest) => (counting(chunk), end(chunk, ...rest));
    res.on("finish", () => requests.push({ path, range, status: res.statusCode }));
    serveFile(req, res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    bytesSent,
    requests,
    ignoreRange,
    slow,
    files,
    dropOnce,
    /** Resolves once every answer for `path` served from memory has ended: sent whole, or closed. */
    async ended(path) {
      while ((open.get(path) ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    }),
  };
}

const TYPES = { json: "application/json", safetensors: "application/octet-stream", png: "image/png", jpg: "image/jpeg", gif: "image/gif", txt: "text/plain" };

/**
 * Answers from memory: a Buffer or a virtual {size, read(start, end)}. A single `bytes=a-b` range
 * gets a 206 (416 past the end); the body goes out in 64 kB chunks, or 8 kB every 50 ms when `slow`;
 * with `dropAfter` the connection is closed after that many body bytes, half a second later. The
 * pause lets the page read every byte sent before it learns of the break (Chromium drops body bytes
 * still buffered when the connection fails), so a test knows exactly where the page must resume.
 */
function serveBytes(req, res, body, { range, slow, dropAfter, count, dropped, done }) {
  const size = Buffer.isBuffer(body) ? body.length : body.size;
  const read = Buffer.isBuffer(body) ? (a, b) => body.subarray(a, b) : body.read;
  const type = TYPES[req.url.split("?")[0].split(".").pop()] ?? "application/octet-stream";
  const headers = { "Content-Type": type, "Accept-Ranges": "bytes", ...Object.fromEntries(ISOLATION.map((h) => [h.key, h.value])) };
  let start = 0;
  let end = size; // exclusive
  let status = 200;
  const match = range && /^bytes=(\d+)-(\d*)$/.exec(range);
  if (match) {
    start = Number(match[1]);
    end = match[2] ? Math.min(Number(match[2]) + 1, size) : size;
    if (start >= size) {
      res.writeHead(416, { ...headers, "Content-Range": `bytes */${size}` }).end();
      return done(416);
    }
    status = 206;
    headers["Content-Range"] = `bytes ${start}-${end - 1}/${size}`;
  }
  res.writeHead(status, { ...headers, "Content-Length": String(end - start) });
  if (req.method === "HEAD") {
    res.end();
    return done(status);
  }
  let at = start;
  let sent = 0;
  let finished = false;
  const finish = () => {
    if (!finished) (finished = true), done(status);
  };
  res.on("close", finish);
  const step = () => {
    if (res.destroyed) return;
    if (at >= end) return res.end();
    let chunk = read(at, Math.min(end, at + (slow ? 8192 : 65536)));
    const drop = dropAfter !== undefined && sent + chunk.length >= dropAfter;
    if (drop) chunk = chunk.subarray(0, dropAfter - sent);
    at += chunk.length;
    sent += chunk.length;
    count(chunk.length);
    res.write(chunk, () => {
      if (drop) return dropped(), setTimeout(() => res.socket.destroy(), 500);
      setTimeout(step, slow ? 50 : 0);
    });
  };
  step();
}
