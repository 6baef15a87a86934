// Pure helpers of the emulator page: read the `res.response` envelope, open it the way a
// correct merchant does (verify the raw quoted token, then AES-CBC with a zero IV), and judge
// the merchant's answer. No DOM here, so Node's test runner can check every function.

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes standard, padded base64 strictly; throws naming what is wrong. */
export function base64ToBytes(text, what) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !B64.test(text)) {
    throw new Error(`${what} is not standard padded base64`);
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The raw text of the value of top-level member `key` in the JSON object `text`, exactly as
 * written (a string value keeps its quotes). Null when absent or when `text` is not an object.
 * This is what a signature covers: the bytes on the wire, not a re-serialisation.
 */
export function rawMember(text, key) {
  let i = 0;
  const n = text.length;
  const ws = () => { while (i < n && ' \t\r\n'.includes(text[i])) i++; };
  const skipString = () => {
    // at the opening quote
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '\\') { i += 2; continue; }
      i++;
      if (c === '"') return true;
    }
    return false;
  };
  const skipValue = () => {
    ws();
    const start = i;
    if (text[i] === '"') {
      if (!skipString()) return null;
      return [start, i];
    }
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      while (i < n) {
        const c = text[i];
        if (c === '"') { if (!skipString()) return null; continue; }
        if (c === '{' || c === '[') depth++;
        if (c === '}' || c === ']') { depth--; if (depth === 0) { i++; return [start, i]; } }
        i++;
      }
      return null;
    }
    while (i < n && !',}] \t\r\n'.includes(text[i])) i++;
    return i > start ? [start, i] : null;
  };
  ws();
  if (text[i] !== '{') return null;
  i++;
  for (;;) {
    ws();
    if (text[i] !== '"') return null;
    const ks = i;
    if (!skipString()) return null;
    let name;
    try { name = JSON.parse(text.slice(ks, i)); } catch { return null; }
    ws();
    if (text[i] !== ':') return null;
    i++;
    const span = skipValue();
    if (!span) return null;
    if (name === key) return text.slice(span[0], span[1]);
    ws();
    if (text[i] === ',') { i++; continue; }
    return null;
  }
}

/**
 * Reads what `my.getPhoneNumber`'s success callback gave: `res.response`, a string holding the
 * envelope JSON (or, in the getRunData-style error shape, an object).
 * Returns { shape, fields, payload, sign, signType, encryptType, charset, extra, problems }.
 * - shape: 'encrypted' | 'plain-object' | 'bare-error' | 'object' | 'not-json' | 'unknown'
 * - payload: { kind: 'ciphertext', text, raw } or { kind: 'plaintext', value, raw }
 */
export function readEnvelope(response) {
  const known = ['response', 'sign', 'sign_type', 'encrypt_type', 'charset'];
  const result = {
    shape: 'unknown', fields: [], payload: null, sign: null, signType: null,
    encryptType: null, charset: null, extra: [], problems: [],
  };
  if (response !== null && typeof response === 'object') {
    result.shape = 'object';
    result.payload = { kind: 'plaintext', value: response, raw: JSON.stringify(response) };
    result.fields.push(['res.response', 'an object, not a string (the getRunData-style "encryption failed" shape): nothing to decrypt']);
    return result;
  }
  if (typeof response !== 'string') {
    result.problems.push(`res.response is ${response === undefined ? 'missing' : typeof response}, not a string`);
    return result;
  }
  let env;
  try {
    env = JSON.parse(response);
  } catch (e) {
    result.shape = 'not-json';
    result.problems.push(`res.response is not JSON: ${e.message}`);
    return result;
  }
  if (env === null || typeof env !== 'object' || Array.isArray(env)) {
    result.problems.push('res.response is JSON but not an object');
    return result;
  }
  if (!('response' in env)) {
    if ('code' in env) {
      result.shape = 'bare-error';
      result.payload = { kind: 'plaintext', value: env, raw: response };
      result.fields.push(['res.response', 'the error object itself, as a JSON string (no envelope, no signature)']);
    } else {
      result.problems.push('the envelope has no "response" member');
    }
    return result;
  }
  const raw = rawMember(response, 'response');
  if (typeof env.response === 'string') {
    result.shape = 'encrypted';
    result.payload = { kind: 'ciphertext', text: env.response, raw };
    result.fields.push(['response', `ciphertext, ${env.response.length} base64 characters`]);
  } else if (env.response !== null && typeof env.response === 'object') {
    result.shape = 'plain-object';
    result.payload = { kind: 'plaintext', value: env.response, raw };
    result.fields.push(['response', 'a plaintext object (not encrypted)']);
  } else {
    result.problems.push(`"response" is ${JSON.stringify(env.response)}, neither ciphertext nor an object`);
  }
  if (typeof env.sign === 'string') {
    result.sign = env.sign;
    result.fields.push(['sign', `present, ${env.sign.length} base64 characters`]);
  } else if ('sign' in env) {
    result.problems.push('"sign" is not a string');
  } else {
    result.fields.push(['sign', 'absent (signing is not configured for this app): skip verification']);
  }
  for (const [k, label] of [['sign_type', 'signType'], ['encrypt_type', 'encryptType'], ['charset', 'charset']]) {
    if (k in env) {
      result[label] = env[k];
      result.fields.push([k, String(env[k])]);
    }
  }
  if (!('sign_type' in env) && result.sign) result.fields.push(['sign_type', 'absent: default RSA2']);
  result.extra = Object.keys(env).filter((k) => !known.includes(k));
  for (const k of result.extra) result.fields.push([k, `unknown member: ${JSON.stringify(env[k])}`]);
  return result;
}

/** AES-CBC, zero IV, PKCS#7: what a merchant does with the console's AES key. */
export async function decrypt(ciphertextB64, aesKeyB64, subtle = globalThis.crypto?.subtle) {
  if (!subtle) {
    throw new Error('this page is not in a secure context, so the browser offers no WebCrypto: open it at http://127.0.0.1:<port>/ or http://localhost:<port>/');
  }
  const key = base64ToBytes(aesKeyB64, 'the AES key');
  if (![16, 24, 32].includes(key.length)) throw new Error(`the AES key is ${key.length} bytes, not 16, 24 or 32`);
  const ct = base64ToBytes(ciphertextB64, 'the ciphertext');
  if (ct.length === 0 || ct.length % 16 !== 0) throw new Error(`the ciphertext is ${ct.length} bytes, not a whole number of 16-byte blocks`);
  let cryptoKey;
  try {
    cryptoKey = await subtle.importKey('raw', key, { name: 'AES-CBC' }, false, ['decrypt']);
  } catch (e) {
    throw new Error(`this browser cannot use a ${key.length * 8}-bit AES key (${e.message}); open the envelope with the alipay-sim CLI instead`);
  }
  let plain;
  try {
    plain = await subtle.decrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, cryptoKey, ct);
  } catch {
    throw new Error('decryption failed (bad padding): the envelope was not encrypted with this app\'s AES key');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new Error('the decrypted bytes are not UTF-8');
  }
}

/** RSASSA-PKCS1-v1_5 over `signedText`'s UTF-8 bytes, SHA-256 for RSA2, SHA-1 for RSA. */
export async function verify(signedText, signB64, publicKeyB64, signType, subtle = globalThis.crypto?.subtle) {
  if (!subtle) throw new Error('no WebCrypto in this context');
  const type = signType || 'RSA2';
  if (type !== 'RSA2' && type !== 'RSA') throw new Error(`unknown sign_type ${JSON.stringify(type)}`);
  const der = base64ToBytes(publicKeyB64, 'the Alipay public key');
  const sig = base64ToBytes(signB64, 'sign');
  const key = await subtle.importKey('spki', der,
    { name: 'RSASSA-PKCS1-v1_5', hash: type === 'RSA' ? 'SHA-1' : 'SHA-256' }, false, ['verify']);
  return subtle.verify('RSASSA-PKCS1-v1_5', key, sig, new TextEncoder().encode(signedText));
}

/** What the merchant should make of a plaintext payload object. */
export function expectationFromPlaintext(obj) {
  if (!obj || typeof obj !== 'object') return { kind: 'unknown' };
  const code = obj.code === undefined ? undefined : String(obj.code);
  if (code === '10000') {
    if (typeof obj.mobile === 'string' && obj.mobile !== '') return { kind: 'mobile', mobile: obj.mobile, code };
    return { kind: 'no_mobile', code };
  }
  if (code !== undefined) return { kind: 'platform_error', code, subCode: obj.subCode ?? obj.sub_code ?? null, msg: obj.subMsg ?? obj.msg ?? '' };
  return { kind: 'unknown' };
}

/** What the merchant should do for a catalogue scenario, from its `expect` table. */
export function expectationFromScenario(expect, canary) {
  if (!expect || typeof expect !== 'object') return { kind: 'unknown' };
  const outcome = String(expect.outcome || '').toLowerCase();
  switch (outcome) {
    case 'accept': return { kind: 'mobile', mobile: expect.mobile, code: '10000' };
    case 'no_mobile': case 'nomobile': return { kind: 'no_mobile', code: '10000' };
    case 'platform_error': case 'platformerror': case 'retry_later': case 'retrylater':
      return { kind: 'platform_error', code: String(expect.code ?? ''), subCode: expect.sub_code ?? null, msg: '' };
    case 'reject': return { kind: 'reject', canary: canary || null };
    default: return { kind: 'unknown' };
  }
}

const ok2xx = (s) => s >= 200 && s < 300;

/**
 * Judges the merchant's answer `{status, body}` against the expectation.
 * Returns { verdict, tone: 'good'|'bad'|'warn'|'info', text } with `verdict` a stable name.
 */
export function judge(expect, answer) {
  const { status } = answer;
  const body = String(answer.body ?? '');
  const s = `status ${status}`;
  switch (expect.kind) {
    case 'mobile': {
      const has = body.includes(expect.mobile);
      if (ok2xx(status) && has) return { verdict: 'expected-mobile', tone: 'good', text: `Got the expected mobile: the merchant answered ${s} with ${expect.mobile}.` };
      if (ok2xx(status)) return { verdict: 'missing-mobile', tone: 'bad', text: `Did not return the mobile: the merchant answered ${s}, but its body does not contain ${expect.mobile}, the number the envelope carried.` };
      if (has) return { verdict: 'mobile-with-error-status', tone: 'warn', text: `The merchant's body contains ${expect.mobile} but its status is ${status}, not 2xx.` };
      return { verdict: 'rejected', tone: 'bad', text: `Rejected: the merchant answered ${s} without the mobile, although the envelope was genuine and carried ${expect.mobile}. Check its signature check and decryption against the keys below.` };
    }
    case 'no_mobile':
      if (ok2xx(status) || (status >= 400 && status < 500)) {
        return { verdict: 'no-mobile', tone: 'info', text: `The envelope carried no mobile (the account has none); the merchant answered ${s}. It should ask the user for a number rather than log them in with an empty one.` };
      }
      return { verdict: 'merchant-error', tone: 'bad', text: `The envelope carried no mobile and the merchant answered ${s}, a server error.` };
    case 'platform_error': {
      const retry = expect.code === '20000';
      const named = expect.code && body.includes(expect.code);
      if (named) {
        return { verdict: 'platform-error', tone: 'good', text: `Reported the platform error ${expect.code}${expect.subCode ? ` (${expect.subCode})` : ''}: the merchant answered ${s}${retry ? '; 20000 means "busy, retry later"' : ''}.` };
      }
      if (ok2xx(status)) return { verdict: 'error-as-success', tone: 'bad', text: `Treated platform error ${expect.code} as success: the merchant answered ${s}.` };
      return { verdict: 'rejected', tone: 'warn', text: `Rejected without naming the platform error ${expect.code}: the merchant answered ${s}. The user would be better served by a message that says why.` };
    }
    case 'reject':
      if (expect.canary && body.includes(expect.canary)) {
        return { verdict: 'canary-leaked', tone: 'bad', text: `Leaked the canary mobile ${expect.canary}: the merchant trusted a tampered envelope.` };
      }
      if (status >= 400 && status < 500) return { verdict: 'rejected', tone: 'good', text: `Rejected the tampered envelope, as it should: the merchant answered ${s}.` };
      if (ok2xx(status)) return { verdict: 'accepted-tampered', tone: 'bad', text: `Accepted an envelope it should have rejected: the merchant answered ${s}.` };
      return { verdict: 'merchant-error', tone: 'warn', text: `The merchant answered ${s} (a server error) to a tampered envelope; a 4xx would say "rejected" more clearly.` };
    default:
      return { verdict: 'unjudged', tone: 'info', text: `The merchant answered ${s}. The page could not open the envelope, so it cannot say what the right answer was.` };
  }
}

/** `13800000000` → `138****0000`, as Alipay's sheet shows it. */
export function maskMobile(m) {
  if (typeof m !== 'string' || m === '') return '';
  if (m.includes('-')) {
    const [cc, rest] = m.split('-', 2);
    return rest.length > 4 ? `+${cc} ${'*'.repeat(rest.length - 4)}${rest.slice(-4)}` : m;
  }
  return m.length >= 7 ? `${m.slice(0, 3)}****${m.slice(-4)}` : m;
}
