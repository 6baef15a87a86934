// Helpers shared by the Node interop scripts: reading alipay-sim fixture files, finding the raw text
// of the envelope's `response` member, and checking a decrypted payload against `expected`.
// No crypto here: signing, verifying and AES live in the SDK (see check-fixtures.mjs / produce.mjs).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every `<id>.json` fixture in `dir` (manifest.json excepted), sorted by file name. */
export function listFixtureFiles(dir) {
  return readdirSync(dir)
    .filter(name => name.endsWith('.json') && name !== 'manifest.json')
    .sort()
    .map(name => join(dir, name));
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

const WS = new Set([' ', '\t', '\n', '\r']);
function skipWs(text, i) {
  while (i < text.length && WS.has(text[i])) i++;
  return i;
}

// End index (exclusive) of the JSON string token starting at text[i] === '"'.
function endOfString(text, i) {
  for (i++; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  throw new Error('unterminated string');
}

// End index (exclusive) of the JSON value starting at text[i].
function endOfValue(text, i) {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (ch === '"') { i = endOfString(text, i) - 1; continue; }
      if (ch === '{' || ch === '[') depth++;
      if (ch === '}' || ch === ']') { depth--; if (depth === 0) return i + 1; }
    }
    throw new Error('unterminated object/array');
  }
  while (i < text.length && !',}] \t\n\r'.includes(text[i])) i++;
  return i;
}

/**
 * The raw text of top-level member `name` of the JSON object `text`, exactly as it appears (for a
 * string value: including its quotes), or null when the object has no such member. This is how a
 * merchant obtains the signed bytes of a plaintext-object payload (spec §3.2, §3.3).
 */
export function rawMember(text, name) {
  let i = skipWs(text, 0);
  if (text[i] !== '{') return null;
  i = skipWs(text, i + 1);
  if (text[i] === '}') return null;
  for (;;) {
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd));
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new Error(`expected ':' at ${i}`);
    const start = skipWs(text, i + 1);
    const end = endOfValue(text, start);
    if (key === name) return text.slice(start, end);
    i = skipWs(text, end);
    if (text[i] === '}') return null;
    if (text[i] !== ',') throw new Error(`expected ',' at ${i}`);
    i = skipWs(text, i + 1);
  }
}

/** Why the payload JSON `payload` contradicts `expected`, or null when it agrees. */
export function outcomeMismatch(payload, expected) {
  const code = payload.code;
  switch (expected.outcome) {
    case 'accept':
      if (code !== '10000') return `expected code 10000, payload has ${code}`;
      if (payload.mobile !== expected.mobile) return `expected mobile ${expected.mobile}, payload has ${payload.mobile}`;
      return null;
    case 'no_mobile':
      if (code !== '10000') return `expected code 10000, payload has ${code}`;
      if (payload.mobile) return `expected no mobile, payload has ${payload.mobile}`;
      return null;
    default:
      if (expected.code !== undefined && code !== expected.code) return `expected code ${expected.code}, payload has ${code}`;
      if (expected.sub_code !== undefined && payload.subCode !== expected.sub_code) {
        return `expected subCode ${expected.sub_code}, payload has ${payload.subCode}`;
      }
      return null;
  }
}
