// Serves www/ on 127.0.0.1 with what the page needs: application/wasm, HTTP Range requests (for
// local checkpoints), and cross-origin isolation (COOP/COEP) for wasm threads.
// serve-handler (Vercel's, maintained) does the file serving, MIME types and Range; this file only
// sets the headers and the address.
//
//   node tools/serve.mjs [PORT]          (./build.sh serve does this after building)
//   import { start } from './tools/serve.mjs'   → { url, close() }, for the page tests
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import handler from 'serve-handler';

export const WWW = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'www') + path.sep;

/** Cross-origin isolation (for wasm threads), and no HTTP caching: the page keeps weights in the Cache API. */
export const HEADERS = [
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
  { key: 'Cache-Control', value: 'no-store' },
];

/**
 * Answers one request from www/ (MIME types, Range, 404s: serve-handler's). `/` is the page
 * (index.html); other folders have no listing and answer 404.
 */
export function serveFile(request, response) {
  return handler(request, response, {
    public: WWW,
    cleanUrls: false,
    directoryListing: false,
    rewrites: [{ source: '/', destination: '/index.html' }],
    headers: [
      { source: '**', headers: HEADERS },
      // Chromium fetches the icon again on every URL change (the page keeps its state in the hash, so
      // on every redraw): cached, it stays off the network.
      { source: 'favicon.svg', headers: [{ key: 'Cache-Control', value: 'max-age=86400' }] },
    ],
  });
}

export function start(port = 0) {
  const server = http.createServer(serveFile);
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}/`;
      resolve({ url, server, close: () => new Promise((done) => server.close(done)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  const { url } = await start(port);
  console.log(`siglip-lens: serving ${WWW} at ${url}`);
}
