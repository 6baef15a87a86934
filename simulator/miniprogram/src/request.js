// my.request, modelled on the platform documentation (mini/api/基础API/网络/my.request.md and its
// FAQ; docs/protocol.md, "Flow overview", step 4):
//   - headers default to {'content-type': 'application/json'}; keys and values must be strings;
//   - `data` that is a string (or an ArrayBuffer / typed array) is sent as-is; anything else is
//     turned into a string: a query string (encodeURIComponent(k)=encodeURIComponent(v)&...) for
//     GET and for POST with application/x-www-form-urlencoded, JSON for POST with application/json
//     (and, by inference, for any other content type and for PUT/DELETE);
//   - method GET (default), POST, PUT or DELETE; timeout 30000 ms;
//   - dataType JSON (default), text, base64 (a data: URI) or arraybuffer;
//   - success receives {data, status, headers}; fail receives {error, errorMessage, ...}:
//     2 bad parameter, 9 aborted ("request:fail abort", documented), 11 no permission for the
//     domain, 12 network error, 13 timeout, 14 decoding failed ("JSON parse data error",
//     documented), 19 HTTP error (a status outside 2xx; status, data and headers included).
//     The errorMessage texts other than the two documented ones are ours.
// Redirects are not followed (a 3xx is reported as error 19), so a request never leaves the
// loopback targets the test mapped.

/** The default request headers of my.request. */
export const DEFAULT_HEADERS = Object.freeze({ 'content-type': 'application/json' });

/** The default timeout of my.request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30000;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const DATA_TYPES = ['json', 'text', 'base64', 'arraybuffer'];

/** A fail-callback object of my.request (`{error, errorMessage, ...}`), thrown internally. */
export class RequestFailure extends Error {
  constructor(error, errorMessage, extra = {}) {
    super(errorMessage);
    this.name = 'RequestFailure';
    this.res = { error, errorMessage, ...extra };
  }
}

/**
 * Turns my.request's arguments into what goes on the wire, exactly as the platform would.
 *
 * @param {{url?: unknown, method?: unknown, headers?: unknown, data?: unknown, dataType?: unknown,
 *   timeout?: unknown}} args the page's arguments
 * @returns {{url: string, method: string, headers: Record<string,string>,
 *   body: string|Uint8Array|undefined, dataType: string, timeout: number}}
 * @throws {RequestFailure} error 2 naming the bad parameter
 */
export function buildRequest(args) {
  const bad = (what) => new RequestFailure(2, `request:fail invalid parameter: ${what}`);
  if (typeof args.url !== 'string' || args.url === '') throw bad('url must be a non-empty String');
  let url;
  try {
    url = new URL(args.url);
  } catch {
    throw bad(`url ${JSON.stringify(args.url)} is not a valid URL`);
  }
  const method = args.method === undefined ? 'GET' : String(args.method).toUpperCase();
  if (!METHODS.includes(method)) throw bad(`method ${JSON.stringify(args.method)} is not one of ${METHODS.join('/')}`);

  const headers = {};
  if (args.headers !== undefined && args.headers !== null) {
    if (typeof args.headers !== 'object' || Array.isArray(args.headers)) throw bad('headers must be an Object');
    for (const [key, value] of Object.entries(args.headers)) {
      if (typeof value !== 'string') throw bad(`headers[${JSON.stringify(key)}] must be a String, got ${typeof value}`);
      headers[key] = value;
    }
  }
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
    headers['content-type'] = DEFAULT_HEADERS['content-type'];
  }
  const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')[1];
  const mediaType = contentType.split(';')[0].trim().toLowerCase();

  let dataType = args.dataType === undefined ? 'json' : String(args.dataType).toLowerCase();
  if (!DATA_TYPES.includes(dataType)) throw bad(`dataType ${JSON.stringify(args.dataType)} is not one of JSON/text/base64/arraybuffer`);

  let timeout = DEFAULT_TIMEOUT_MS;
  if (args.timeout !== undefined) {
    if (typeof args.timeout !== 'number' || !Number.isFinite(args.timeout) || args.timeout <= 0) {
      throw bad('timeout must be a positive Number of milliseconds');
    }
    timeout = args.timeout;
  }

  const data = args.data;
  let body;
  if (data === undefined || data === null) {
    body = undefined;
  } else if (method === 'GET') {
    const query = typeof data === 'string' ? data : queryString(data, bad);
    if (query !== '') url.search = url.search ? `${url.search}&${query}` : `?${query}`;
  } else if (typeof data === 'string') {
    body = data;
  } else if (isBytes(data)) {
    body = toBytes(data);
  } else if (mediaType === 'application/x-www-form-urlencoded') {
    body = queryString(data, bad);
  } else {
    body = JSON.stringify(data);
  }
  return { url: url.href, method, headers, body, dataType, timeout };
}

function isBytes(data) {
  return data instanceof ArrayBuffer || ArrayBuffer.isView(data) || Object.prototype.toString.call(data) === '[object ArrayBuffer]';
}

function toBytes(data) {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function queryString(data, bad) {
  if (typeof data !== 'object') return encodeURIComponent(String(data));
  return Object.entries(data)
    .map(([k, v]) => {
      if (v !== null && typeof v === 'object') throw bad(`data.${k} is an Object: a query string can only carry Strings and Numbers`);
      return `${encodeURIComponent(k)}=${encodeURIComponent(v === undefined || v === null ? '' : String(v))}`;
    })
    .join('&');
}

/**
 * Sends a built request and returns my.request's success object `{data, status, headers}`.
 *
 * @param {ReturnType<typeof buildRequest>} req the request (with `url` already mapped)
 * @param {AbortSignal} [abortSignal] aborts the request (fail error 9)
 * @returns {Promise<{data: unknown, status: number, headers: Record<string,string>}>}
 * @throws {RequestFailure} the fail-callback object (errors 9, 12, 13, 14, 19)
 */
export async function sendRequest(req, abortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, req.timeout);
  const onAbort = () => controller.abort();
  abortSignal?.addEventListener('abort', onAbort);
  let resp;
  let bytes;
  try {
    resp = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: 'manual',
      signal: controller.signal,
    });
    bytes = new Uint8Array(await resp.arrayBuffer());
  } catch (e) {
    if (timedOut) throw new RequestFailure(13, `request:fail timeout after ${req.timeout} ms`);
    if (abortSignal?.aborted) throw new RequestFailure(9, 'request:fail abort');
    const c = e?.cause;
    const cause = c ? [c.code, c.message].filter(Boolean).join(': ') || String(c) : e?.message || String(e);
    throw new RequestFailure(12, `request:fail network error: ${cause}`);
  } finally {
    clearTimeout(timer);
    abortSignal?.removeEventListener('abort', onAbort);
  }
  const headers = {};
  resp.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const status = resp.status;
  const decoded = decode(bytes, req.dataType, headers['content-type']);
  if (status < 200 || status > 299) {
    const data = decoded.ok ? decoded.data : new TextDecoder().decode(bytes);
    throw new RequestFailure(19, 'http status error', { status, data, headers });
  }
  if (!decoded.ok) {
    throw new RequestFailure(14, 'JSON parse data error', { status, data: new TextDecoder().decode(bytes), headers });
  }
  return { data: decoded.data, status, headers };
}

function decode(bytes, dataType, contentType) {
  switch (dataType) {
    case 'json': {
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
      try {
        return { ok: true, data: JSON.parse(text) };
      } catch {
        return { ok: false };
      }
    }
    case 'text':
      return { ok: true, data: new TextDecoder().decode(bytes) };
    case 'base64':
      return { ok: true, data: `data:${contentType || 'application/octet-stream'};base64,${Buffer.from(bytes).toString('base64')}` };
    case 'arraybuffer':
      return { ok: true, data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
    default:
      return { ok: false };
  }
}
