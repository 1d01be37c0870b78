// Bytes over the network (or from a local File) for the loader: fetches whose failures say what
// happened and what to do, Range requests, and streams that report progress and tell a dropped
// connection (resumable) from everything else.

export const LOCAL_FILES = "“Local files…”";

function httpMessage(url, status) {
  const why = {
    401: " (access denied) — the repository may be gated or private: download its files on huggingface.co and open them with " + LOCAL_FILES,
    403: " (access denied) — the repository may be gated or private: download its files on huggingface.co and open them with " + LOCAL_FILES,
    404: " (not found) — check the hub id or folder address; the folder must hold config.json and model.safetensors",
    416: " (range not satisfiable) — the file is shorter than its header says; it is probably truncated",
  }[status];
  return `${url} answered HTTP ${status}${why ?? (status >= 500 ? " (server error) — try again later" : "")}`;
}

/**
 * Why a fetch threw. Cross-origin, a refused CORS check and an unreachable host look the same to a
 * page; a no-cors request tells them apart when it succeeds (under COEP require-corp it cannot).
 */
async function unreachable(url, error, signal) {
  const target = new URL(url);
  if (target.origin === self.location.origin) {
    return new Error(`could not reach ${target.origin} (${error.message}) — check your connection and that the server is running`);
  }
  const answers = await fetch(url, { method: "HEAD", mode: "no-cors", signal }).then(() => true, () => false);
  return new Error(
    `${target.origin} does not allow cross-origin downloads (CORS)${answers ? "" : ", or could not be reached"} — ` +
      `download config.json and model.safetensors from there yourself and open them with ${LOCAL_FILES}`,
  );
}

export async function fetchOk(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw Object.assign(await unreachable(url, error, init?.signal), { network: true });
  }
  if (!response.ok) throw new Error(httpMessage(url, response.status));
  return response;
}

/** An error worth retrying from the byte reached: the connection broke while the body arrived. */
export function dropped(error) {
  const wrapped = new Error(`the connection broke off (${error.message})`);
  wrapped.resumable = true;
  return wrapped;
}

/** The next chunk of a body: a cancel stays an AbortError, any other failure is a dropped connection. */
export async function nextChunk(reader, signal) {
  signal?.throwIfAborted();
  try {
    return await reader.read();
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw dropped(error);
  }
}

/**
 * Streams a response body into `target` from `offset`, never past `limit`; `got.n` counts the bytes
 * written so far, also when the stream breaks (then the error has `resumable` set).
 */
export async function streamInto(body, target, offset, limit, report, got, signal) {
  const reader = body.getReader();
  for (;;) {
    const chunk = await nextChunk(reader, signal);
    if (chunk.done) return got.n;
    const value = chunk.value;
    if (offset + got.n + value.length > limit) {
      reader.cancel().catch(() => {});
      throw new Error("the server sent more bytes than asked for — it does not handle Range requests correctly; try again later");
    }
    target.set(value, offset + got.n);
    got.n += value.length;
    report(value.length);
  }
}

export const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/** "bytes 0-7/12345" → {first: 0, total: 12345}; null parts when absent (or "*", or not exposed by CORS). */
function parseContentRange(value) {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)\s*$/.exec(value ?? "");
  return { first: match ? Number(match[1]) : null, total: match && match[2] !== "*" ? Number(match[2]) : null };
}

/** Byte access to model.safetensors over HTTP with Range requests. */
export function httpBytes(url, signal) {
  return {
    label: new URL(url).pathname.split("/").pop() || url,
    signal,
    /** Resolves to {response, size} for a 206, or {full: Response} when the server ignored the Range. */
    async range(start, end) {
      const response = await fetchOk(url, { headers: { Range: `bytes=${start}-${end - 1}` }, signal });
      if (response.status !== 206) return { full: response };
      const { first, total } = parseContentRange(response.headers.get("content-range"));
      if (first !== null && first !== start) {
        response.body?.cancel().catch(() => {});
        throw new Error(`${url} answered a request for bytes from ${start} with bytes from ${first} — the server (or a proxy) mishandles Range requests; download the files and open them with ${LOCAL_FILES}`);
      }
      return { response, size: total };
    },
    /** The whole file, without a Range header. */
    whole: () => fetchOk(url, { signal }),
  };
}

/** Byte access to a local File. */
export function fileBytes(file, signal) {
  return {
    label: file.name,
    signal,
    async range(start, end) {
      signal?.throwIfAborted();
      return { response: new Response(file.slice(start, end)), size: file.size };
    },
  };
}
