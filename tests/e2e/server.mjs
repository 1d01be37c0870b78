// A static server for the page tests: serves www/ on 127.0.0.1 (free port) with Range support,
// application/wasm, cross-origin isolation headers, and a count of the bytes sent per file.

import http from "node:http";
import { readFileSync } from "node:fs";
import { HEADERS as ISOLATION, WWW, serveFile } from "../../tools/serve.mjs";

export { WWW };

/**
 * Starts the server. Returns {url, bytesSent: Map(path -> bytes), requests: [{path, range, status}],
 * ignoreRange: Set(paths answered 200 despite a Range header), slow: Set(paths whose Range answers
 * trickle out at about 160 kB/s, to watch progress and cancel), close()}.
 */
export async function startServer() {
  const bytesSent = new Map();
  const requests = [];
  const ignoreRange = new Set();
  const slow = new Set();
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (slow.has(path) && req.headers.range) return trickle(req, res, path);
    if (ignoreRange.has(path)) delete req.headers.range;
    const range = req.headers.range ?? null;
    const count = (chunk) => {
      if (chunk && typeof chunk !== "function") bytesSent.set(path, (bytesSent.get(path) ?? 0) + chunk.length);
    };
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.write = (chunk, ...rest) => (count(chunk), write(chunk, ...rest));
    res.end = (chunk, ...rest) => (count(chunk), end(chunk, ...rest));
    res.on("finish", () => requests.push({ path, range, status: res.statusCode }));
    serveFile(req, res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    bytesSent,
    requests,
    ignoreRange,
    slow,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    }),
  };
}

/** Answers a single-range request slowly: 8 kB every 50 ms. */
function trickle(req, res, path) {
  const file = readFileSync(WWW + path.slice(1));
  const [, a, b] = /bytes=(\d+)-(\d*)/.exec(req.headers.range);
  const start = Number(a);
  const end = b ? Math.min(Number(b), file.length - 1) : file.length - 1;
  res.writeHead(206, {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(end - start + 1),
    "Content-Range": `bytes ${start}-${end}/${file.length}`,
    ...Object.fromEntries(ISOLATION.map((h) => [h.key, h.value])),
  });
  let at = start;
  const timer = setInterval(() => {
    if (res.destroyed || at > end) {
      clearInterval(timer);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(file.subarray(at, Math.min(end + 1, at + 8192)));
    at += 8192;
  }, 50);
  req.on("close", () => clearInterval(timer));
}
