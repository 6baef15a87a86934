<?php
// merchant.php: a correct my.getPhoneNumber decryption endpoint in PHP 8 with the openssl
// extension, nothing else. It is a plain front script: put it behind php-fpm/Apache as it is, or
// run it with PHP's built-in server (serve.sh next to it does that and prints the URL):
//
//   ALIPAY_PUBLIC_KEY=... ALIPAY_AES_KEY=... php -S 127.0.0.1:8080 merchant.php
//   php merchant.php --check      # validates the configuration, exit 0 ok / 2 with the reason
//
// Configuration, from the environment:
//   ALIPAY_PUBLIC_KEY  the Alipay public key (支付宝公钥): one line of base64 SPKI, as the console
//                      shows it, or a PEM "BEGIN PUBLIC KEY" block
//   ALIPAY_AES_KEY     the content-encryption key (接口内容加密 AES key): base64 of 16, 24 or 32 bytes
//   ALIPAY_SIGN_TYPE   the algorithm YOUR app is configured with: RSA2 (SHA256withRSA, the default),
//                      RSA (SHA1withRSA), or none when no 接口加签方式 is set (sign ignored; only an
//                      encrypted payload may report a mobile)
//
// The mini-program posts res.response as the request body (my.request({ data: res.response })).
// Answers, the same as the harness's reference merchant (harness/contracts/reference.toml):
//   200 {"status":"ok","mobile":"..."}                                  the user's number
//   422 {"status":"no_mobile"}                                           code 10000, empty or absent mobile
//   422 {"status":"platform_error","code":..,"sub_code":..,"sub_msg":..} 40001, 40002, 40003, 40006, ...
//   503 {"status":"retry_later","code":"20000"} + Retry-After: 1         the platform was busy
//   400 {"status":"rejected","error":"invalid_envelope"}                 EVERY refusal, whatever failed
//   413 {"status":"rejected","error":"body_too_large"}                   bodies over 64 KiB
//
// What the official PHP SDK (AopClient/AopEncrypt) gets wrong and this file does differently:
// AopEncrypt::decrypt always uses aes-128-cbc (a 24/32-byte key is silently truncated) and strips
// the padding without checking it; AopClient::verify takes sign_type from the caller, and anything
// but exactly "RSA2" means SHA-1; `if (openssl_verify(...))` is true for -1 (an error). Here the
// cipher follows the key length, OpenSSL checks the padding, the algorithm is our configuration,
// and only openssl_verify() === 1 passes.
//
// POST /login is the mini-program login (contract in interop/README.md, "The login"): the body
// {"authCode": my.getAuthCode's authCode, "response": my.getPhoneNumber's res.response}. The code is
// exchanged at the OpenAPI gateway (alipay.system.oauth.token) the way the official PHP SDK's
// AopClient does it (that SDK is not on a registry reachable here): every non-empty parameter not
// starting with '@', ksort'ed, "k=v" joined with '&' (getSignContent), openssl_sign with
// OPENSSL_ALGO_SHA256 (RSA2); the system parameters URL-encoded in the query, grant_type and code
// as the POSTed form. The answer is verified over the raw JSON value under
// "alipay_system_oauth_token_response" (or "error_response") with the Alipay public key, and only
// openssl_verify() === 1 passes. Then the envelope is opened with open(). Configuration, from the
// environment: ALIPAY_GATEWAY (the gateway URL), ALIPAY_APP_ID, ALIPAY_APP_PRIVATE_KEY (PEM, or one
// line of base64 PKCS#8); without ALIPAY_GATEWAY, /login answers 404 login_not_configured.
//
// JSON: json_decode() keeps the last of duplicate keys and throws away the raw text of values; we
// need both (refuse duplicates; verify the raw "response" token), so the small Json class below
// scans the structure and json_decode() still decodes every value.

declare(strict_types=1);

ini_set('display_errors', '0'); // a PHP warning must never end up in an answer

const BODY_LIMIT = 65536; // real envelopes are under 1 KiB

/** An envelope we refuse; the message is for our log only and never holds key material. */
final class Refused extends Exception
{
}

final class Merchant
{
    /**
     * @param string|null $publicKeyPem null when signing is not configured ("none")
     * @param string $signType "RSA2", "RSA" or "none": OUR configuration, never the envelope's
     * @param string $aesKey 16, 24 or 32 raw bytes
     */
    public function __construct(
        private ?string $publicKeyPem,
        private string $signType,
        private string $aesKey,
        private ?array $gateway = null, // ['url' => .., 'app_id' => .., 'key' => OpenSSLAsymmetricKey]
    ) {
    }

    /** From ALIPAY_PUBLIC_KEY, ALIPAY_AES_KEY, ALIPAY_SIGN_TYPE; throws RuntimeException naming the problem. */
    public static function fromEnvironment(): self
    {
        $signType = getenv('ALIPAY_SIGN_TYPE') ?: 'RSA2';
        if (!in_array($signType, ['RSA2', 'RSA', 'none'], true)) {
            throw new RuntimeException("ALIPAY_SIGN_TYPE must be RSA2, RSA or none, got '$signType'");
        }
        $pem = null;
        if ($signType !== 'none') {
            $key = trim((string) getenv('ALIPAY_PUBLIC_KEY'));
            if ($key === '') {
                throw new RuntimeException('ALIPAY_PUBLIC_KEY is not set (or set ALIPAY_SIGN_TYPE=none)');
            }
            $pem = str_starts_with($key, '-----BEGIN')
                ? $key
                : "-----BEGIN PUBLIC KEY-----\n" . chunk_split($key, 64, "\n") . "-----END PUBLIC KEY-----\n";
            $parsed = strict_base64($key) !== null || str_starts_with($key, '-----BEGIN')
                ? openssl_pkey_get_public($pem) : false;
            $details = $parsed === false ? false : openssl_pkey_get_details($parsed);
            if ($details === false || $details['type'] !== OPENSSL_KEYTYPE_RSA) {
                throw new RuntimeException('ALIPAY_PUBLIC_KEY is not an RSA public key (one line of base64 SPKI, or PEM BEGIN PUBLIC KEY)');
            }
        }
        $aes = strict_base64(trim((string) getenv('ALIPAY_AES_KEY')));
        if ($aes === null || !in_array(strlen($aes), [16, 24, 32], true)) {
            // Never truncate or pad a key: a wrong length is a configuration error.
            throw new RuntimeException('ALIPAY_AES_KEY is not the base64 of 16, 24 or 32 bytes');
        }
        return new self($pem, $signType, $aes, self::gatewayFromEnvironment());
    }

    /** The login's ALIPAY_GATEWAY, ALIPAY_APP_ID, ALIPAY_APP_PRIVATE_KEY; null when no gateway is set. */
    private static function gatewayFromEnvironment(): ?array
    {
        $url = (string) getenv('ALIPAY_GATEWAY');
        if ($url === '') {
            return null;
        }
        $appId = (string) getenv('ALIPAY_APP_ID');
        $key = trim((string) getenv('ALIPAY_APP_PRIVATE_KEY'));
        if ($appId === '' || $key === '') {
            throw new RuntimeException('the login (ALIPAY_GATEWAY) needs ALIPAY_APP_ID and ALIPAY_APP_PRIVATE_KEY too');
        }
        $scheme = parse_url($url, PHP_URL_SCHEME);
        if (!in_array($scheme, ['http', 'https'], true) || parse_url($url, PHP_URL_HOST) === null) {
            throw new RuntimeException("ALIPAY_GATEWAY is not an http(s) URL: '$url'");
        }
        $pem = str_starts_with($key, '-----BEGIN')
            ? $key
            : "-----BEGIN PRIVATE KEY-----\n" . chunk_split($key, 64, "\n") . "-----END PRIVATE KEY-----\n";
        $private = openssl_pkey_get_private($pem);
        while (openssl_error_string() !== false) {
        }
        if ($private === false) {
            throw new RuntimeException('ALIPAY_APP_PRIVATE_KEY is not an RSA private key (PEM, or one line of base64 PKCS#8)');
        }
        return ['url' => $url, 'app_id' => $appId, 'key' => $private];
    }

    /** AopClient::getSignContent: ksort, skip empty values and values starting with '@'. */
    private static function signContent(array $params): string
    {
        ksort($params);
        $pairs = [];
        foreach ($params as $k => $v) {
            if ($v !== null && trim((string) $v) !== '' && !str_starts_with((string) $v, '@')) {
                $pairs[] = "$k=$v";
            }
        }
        return implode('&', $pairs);
    }

    /**
     * One v2 call: [kind, value]. kind 'ok' with the object's fields, 'refused' with [code, sub_code],
     * 'signature' or 'unavailable' with the reason (for the log).
     */
    private function call(string $method, array $apiParams): array
    {
        $sys = [
            'app_id' => $this->gateway['app_id'],
            'version' => '1.0',
            'format' => 'json',
            'sign_type' => 'RSA2',
            'method' => $method,
            'timestamp' => (new DateTimeImmutable('now', new DateTimeZone('Asia/Shanghai')))->format('Y-m-d H:i:s'),
            'charset' => 'UTF-8',
        ];
        if (!openssl_sign(self::signContent(array_merge($apiParams, $sys)), $signature, $this->gateway['key'], OPENSSL_ALGO_SHA256)) {
            return ['unavailable', 'cannot sign'];
        }
        $sys['sign'] = base64_encode($signature);
        $url = $this->gateway['url'] . (str_contains($this->gateway['url'], '?') ? '&' : '?') . http_build_query($sys);
        $context = stream_context_create(['http' => [
            'method' => 'POST',
            'header' => "Content-Type: application/x-www-form-urlencoded;charset=UTF-8\r\n",
            'content' => http_build_query($apiParams),
            'timeout' => 10,
            'ignore_errors' => true, // read the body of any status; checked below
            'follow_location' => 0,
        ]]);
        $body = @file_get_contents($url, false, $context);
        $status = isset($http_response_header[0]) && preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0], $m) ? (int) $m[1] : 0;
        if ($body === false || $status !== 200) {
            return ['unavailable', "HTTP $status"];
        }
        $key = str_replace('.', '_', $method) . '_response';
        try {
            $answer = Json::rawMembers($body);
            $object = $answer[$key] ?? null;
            $isError = $object === null;
            $object ??= $answer['error_response'] ?? null;
            if ($object === null || $object[0] !== '{') {
                return ['unavailable', "no $key object"];
            }
            $sign = self::stringField($answer, 'sign');
            $verified = false;
            if ($sign !== null && $sign !== '' && $this->publicKeyPem !== null) {
                $raw = strict_base64($sign);
                $verified = $raw !== null && openssl_verify($object, $raw, $this->publicKeyPem, OPENSSL_ALGO_SHA256) === 1;
                while (openssl_error_string() !== false) {
                }
                if (!$verified) {
                    return ['signature', "the answer's sign does not verify"];
                }
            }
            $fields = Json::decode($object);
        } catch (Refused $e) {
            return ['unavailable', 'answer: ' . $e->getMessage()];
        }
        $code = $fields->code ?? null;
        if ($isError || (is_string($code) && $code !== '10000')) {
            // An error can only refuse the login, so an unsigned one is reported too.
            return ['refused', [is_string($code) ? $code : '', is_string($fields->sub_code ?? null) ? $fields->sub_code : '']];
        }
        if (!$verified) {
            return ['signature', 'a success without a verified sign'];
        }
        return ['ok', $fields];
    }

    /**
     * POST /login: [status, body, reason]; the code is spent first, then the envelope is opened.
     *
     * @return array{0: int, 1: array<string, ?string>, 2: string}
     */
    public function login(string $body): array
    {
        if ($this->gateway === null) {
            return [404, ['status' => 'rejected', 'error' => 'login_not_configured'], 'no gateway configured'];
        }
        $req = Json::rawMembers($body);
        $authCode = self::stringField($req, 'authCode');
        $envelope = self::stringField($req, 'response');
        if ($authCode === null || $authCode === '' || $envelope === null) {
            throw new Refused('login request without authCode or response');
        }
        [$kind, $value] = $this->call('alipay.system.oauth.token', ['grant_type' => 'authorization_code', 'code' => $authCode]);
        if ($kind === 'refused') {
            return $value[0] === '20000'
                ? [503, ['status' => 'retry_later', 'code' => '20000'], 'gateway busy']
                : [401, ['status' => 'rejected', 'error' => 'auth_code', 'code' => $value[0], 'sub_code' => $value[1]], "gateway answered {$value[0]} {$value[1]}"];
        }
        if ($kind === 'signature') {
            return [401, ['status' => 'rejected', 'error' => 'gateway_signature'], $value];
        }
        if ($kind !== 'ok') {
            return [502, ['status' => 'error', 'error' => 'gateway_unavailable'], $value];
        }
        $userId = is_string($value->user_id ?? null) && $value->user_id !== '' ? $value->user_id : null;
        $openId = is_string($value->open_id ?? null) && $value->open_id !== '' ? $value->open_id : null;
        if ($userId === null && $openId === null) {
            return [502, ['status' => 'error', 'error' => 'gateway_unavailable'], 'no user_id or open_id in the token answer'];
        }
        [$status, $answer] = $this->open($envelope); // Refused propagates: the envelope's one 400
        if ($status !== 200) {
            return [$status, $answer, 'envelope: ' . $answer['status']];
        }
        return [200, ['status' => 'ok', 'user_id' => $userId, 'open_id' => $openId, 'mobile' => $answer['mobile']], 'logged in'];
    }

    /**
     * The raw envelope text in, [status, body] out; throws Refused for anything we cannot trust.
     *
     * @return array{0: int, 1: array<string, string>}
     */
    public function open(string $envelope): array
    {
        // 1. Parse strictly, keeping the raw text of each member's value.
        $fields = Json::rawMembers($envelope);
        if (!array_key_exists('response', $fields)) {
            if (array_key_exists('code', $fields)) {
                return self::unsignedError($envelope); // 40001 as the bare error object
            }
            throw new Refused('no response field');
        }
        $response = $fields['response'];
        $sign = self::stringField($fields, 'sign');
        $declared = self::stringField($fields, 'sign_type');
        if ($declared !== null && $declared !== 'RSA2' && $declared !== 'RSA') {
            throw new Refused('unknown sign_type');
        }
        $encryptType = self::stringField($fields, 'encrypt_type');
        if ($encryptType !== null && $encryptType !== 'AES') {
            throw new Refused('encrypt_type is not AES');
        }
        $charset = self::stringField($fields, 'charset');
        if ($charset !== null && strcasecmp($charset, 'UTF-8') !== 0 && strcasecmp($charset, 'UTF8') !== 0) {
            throw new Refused('charset is not UTF-8');
        }
        // A JSON string is a ciphertext, an object an unencrypted payload: decided on the raw token.
        $encrypted = $response[0] === '"';
        if (!$encrypted && $response[0] !== '{') {
            throw new Refused('response is neither a string nor an object');
        }

        // 2. Verify BEFORE decrypting. The signed bytes are the raw token: the ciphertext WITH its
        //    double quotes, or the raw object text exactly as sent (re-encoding it would turn
        //    Alipay's '\/' into '/').
        $verified = false;
        if ($this->publicKeyPem !== null) {
            if ($sign === null) {
                if ($encrypted) {
                    throw new Refused('sign missing');
                }
                // Alipay sends 40001/40002/20000 unencrypted and unsigned: report, never a success.
                return self::unsignedError($response);
            }
            // Never let the envelope choose the algorithm (an attacker would choose SHA-1).
            if ($declared !== null && $declared !== $this->signType) {
                throw new Refused('sign_type differs from the configured one');
            }
            $signature = strict_base64($sign);
            $algorithm = $this->signType === 'RSA' ? OPENSSL_ALGO_SHA1 : OPENSSL_ALGO_SHA256;
            // openssl_verify returns 1, 0, or -1 on error: only 1 is a valid signature.
            if ($signature === null || openssl_verify($response, $signature, $this->publicKeyPem, $algorithm) !== 1) {
                throw new Refused('bad signature');
            }
            $verified = true;
        }

        // 3. Decrypt (or take the object as it is), then 4. read code.
        $plaintext = $encrypted ? $this->decrypt(Json::decode($response)) : $response;
        $payload = self::payload($plaintext);
        if (!$encrypted && !$verified && $payload->code === '10000') {
            throw new Refused('unencrypted success without a verified signature');
        }
        return self::answer($payload);
    }

    /** AES-CBC with a zero IV; the cipher follows the key length; OpenSSL checks the PKCS#7 padding. */
    private function decrypt(string $ciphertext): string
    {
        $ct = strict_base64($ciphertext);
        if ($ct === null || $ct === '' || strlen($ct) % 16 !== 0) {
            throw new Refused('ciphertext is not base64 of whole AES blocks');
        }
        $cipher = 'aes-' . (strlen($this->aesKey) * 8) . '-cbc';
        $plaintext = openssl_decrypt($ct, $cipher, $this->aesKey, OPENSSL_RAW_DATA, str_repeat("\0", 16));
        while (openssl_error_string() !== false) {
            // drain OpenSSL's error queue so one refusal does not linger into the next request
        }
        if ($plaintext === false) {
            throw new Refused('bad padding'); // wrong key or tampered ciphertext
        }
        return $plaintext;
    }

    /** The payload {code,msg,mobile} or {code,msg,subCode,subMsg} (camelCase, unlike gateway sub_code). */
    private static function payload(string $text): object
    {
        if (preg_match('//u', $text) !== 1) {
            throw new Refused('payload is not UTF-8');
        }
        $payload = Json::decode($text);
        if (!$payload instanceof stdClass || !is_string($payload->code ?? null)) {
            throw new Refused('payload is not an object with a string code');
        }
        // mobile may be "" or absent (no bound phone) but not another type; msg/subCode/subMsg may be absent or null.
        if (property_exists($payload, 'mobile') && !is_string($payload->mobile)) {
            throw new Refused('mobile is not a string');
        }
        foreach (['msg', 'subCode', 'subMsg'] as $name) {
            if (isset($payload->$name) && !is_string($payload->$name)) {
                throw new Refused("$name is not a string");
            }
        }
        return $payload;
    }

    /** @return array{0: int, 1: array<string, string>} */
    private static function answer(object $payload): array
    {
        if ($payload->code === '10000') {
            $mobile = $payload->mobile ?? '';
            return $mobile === '' ? [422, ['status' => 'no_mobile']] : [200, ['status' => 'ok', 'mobile' => $mobile]];
        }
        if ($payload->code === '20000') { // transient: the page should try again later
            return [503, ['status' => 'retry_later', 'code' => '20000']];
        }
        return [422, [
            'status' => 'platform_error',
            'code' => $payload->code,
            'sub_code' => $payload->subCode ?? '',
            'sub_msg' => $payload->subMsg ?? '',
        ]];
    }

    /** An unencrypted, unsigned payload: anyone can write one, so it may report an error only. */
    private static function unsignedError(string $raw): array
    {
        $payload = self::payload($raw);
        if ($payload->code === '10000') {
            throw new Refused('unsigned success');
        }
        return self::answer($payload);
    }

    /** An optional member that must be a JSON string when present (null is refused). */
    private static function stringField(array $fields, string $name): ?string
    {
        if (!array_key_exists($name, $fields)) {
            return null;
        }
        $value = Json::decode($fields[$name]);
        if (!is_string($value)) {
            throw new Refused("$name is not a string");
        }
        return $value;
    }
}

/** Canonical standard base64 only (base64_decode's strict mode still skips whitespace), else null. */
function strict_base64(string $text): ?string
{
    if (strlen($text) % 4 !== 0 || preg_match('#^[A-Za-z0-9+/]*={0,2}$#D', $text) !== 1) {
        return null;
    }
    $bytes = base64_decode($text, true);
    return $bytes === false ? null : $bytes;
}

/**
 * Strict JSON: json_decode() for values, plus a structural scan that refuses duplicate keys at any
 * depth and returns the raw text of a top-level object's members.
 */
final class Json
{
    private int $i = 0;

    private function __construct(private string $s)
    {
    }

    /** Exactly one JSON value, with no duplicate key anywhere; objects decode to stdClass. */
    public static function decode(string $text): mixed
    {
        $members = null;
        (new self($text))->document($members);
        try {
            return json_decode($text, false, 64, JSON_THROW_ON_ERROR);
        } catch (JsonException) {
            throw new Refused('not JSON');
        }
    }

    /** @return array<string, string> a top-level object's members: name => raw value text as sent */
    public static function rawMembers(string $text): array
    {
        if (!str_starts_with(ltrim($text, " \t\r\n"), '{')) {
            throw new Refused('not a JSON object');
        }
        $members = [];
        (new self($text))->document($members);
        return $members;
    }

    private function document(?array &$members): void
    {
        $this->value(0, $members);
        $this->ws();
        if ($this->i !== strlen($this->s)) {
            throw new Refused('data after the JSON value');
        }
    }

    private function value(int $depth, ?array &$members = null): void
    {
        if ($depth > 63) {
            throw new Refused('JSON nested too deeply');
        }
        $this->ws();
        $c = $this->s[$this->i] ?? '';
        if ($c === '{' || $c === '[') {
            $this->i++;
            $close = $c === '{' ? '}' : ']';
            $this->ws();
            if ($this->eat($close)) {
                return;
            }
            $seen = [];
            do {
                if ($c === '{') {
                    $this->ws();
                    $key = $this->string();
                    if (array_key_exists($key, $seen)) {
                        throw new Refused('duplicate key');
                    }
                    $seen[$key] = true;
                    $this->ws();
                    $this->expect(':');
                    $this->ws();
                    $start = $this->i;
                    $this->value($depth + 1);
                    if ($members !== null) {
                        $members[$key] = substr($this->s, $start, $this->i - $start);
                    }
                } else {
                    $this->value($depth + 1);
                }
                $this->ws();
            } while ($this->eat(','));
            $this->expect($close);
        } elseif ($c === '"') {
            $this->string();
        } elseif (preg_match('/true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/A', $this->s, $m, 0, $this->i) === 1) {
            $this->i += strlen($m[0]);
        } else {
            throw new Refused("not JSON at offset {$this->i}");
        }
    }

    /** A string token, decoded by json_decode (which also refuses lone surrogates and bad UTF-8). */
    private function string(): string
    {
        if (preg_match('/"(?:[^"\\\\\x00-\x1f]++|\\\\["\\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4})*+"/A', $this->s, $m, 0, $this->i) !== 1) {
            throw new Refused("bad JSON string at offset {$this->i}");
        }
        $this->i += strlen($m[0]);
        try {
            return json_decode($m[0], false, 1, JSON_THROW_ON_ERROR);
        } catch (JsonException) {
            throw new Refused('bad JSON string');
        }
    }

    private function ws(): void
    {
        $this->i += strspn($this->s, " \t\r\n", $this->i);
    }

    private function eat(string $c): bool
    {
        if (($this->s[$this->i] ?? '') === $c) {
            $this->i++;
            return true;
        }
        return false;
    }

    private function expect(string $c): void
    {
        if (!$this->eat($c)) {
            throw new Refused("expected '$c' at offset {$this->i}");
        }
    }
}

/** Sends one JSON answer. */
function reply(int $status, array $body): void
{
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    if ($status === 503) {
        header('Retry-After: 1');
    }
    echo json_encode($body, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
}

// --- command line: php merchant.php --check -------------------------------------------------------
if (PHP_SAPI === 'cli') {
    if (($argv[1] ?? '') !== '--check' || $argc !== 2) {
        fwrite(STDERR, "usage: php merchant.php --check   (serve it with php -S or serve.sh)\n");
        exit(2);
    }
    try {
        Merchant::fromEnvironment();
    } catch (RuntimeException $e) {
        fwrite(STDERR, 'merchant.php: ' . $e->getMessage() . "\n");
        exit(2);
    }
    exit(0);
}

// --- one request: POST /login is the login; POST any other path, the raw body (whatever the Content-Type) is the envelope ---------
$case = $_SERVER['HTTP_X_ALIPAY_HARNESS_CASE'] ?? ''; // set by alipay-harness; for the log only
$path = (string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    header('Allow: POST');
    reply(405, ['status' => 'rejected', 'error' => 'method_not_allowed']);
    return;
}
try {
    $merchant = Merchant::fromEnvironment();
} catch (RuntimeException $e) {
    error_log("$path $case: misconfigured: " . $e->getMessage());
    reply(500, ['status' => 'error', 'error' => 'misconfigured']);
    return;
}
// php://input is the raw body, also for application/x-www-form-urlencoded (never read $_POST:
// form decoding turns the base64 '+' into a space).
$body = (string) stream_get_contents(fopen('php://input', 'rb'), BODY_LIMIT + 1);
if (strlen($body) > BODY_LIMIT || (int) ($_SERVER['CONTENT_LENGTH'] ?? 0) > BODY_LIMIT) {
    error_log("$path $case: body over " . BODY_LIMIT . ' bytes');
    reply(413, ['status' => 'rejected', 'error' => 'body_too_large']);
    return;
}
try {
    if (preg_match('//u', $body) !== 1) {
        throw new Refused('body is not UTF-8');
    }
    if ($path === '/login') {
        [$status, $answer, $why] = $merchant->login($body);
        error_log("$path $case: $status $why");
    } else {
        [$status, $answer] = $merchant->open($body);
        error_log("$path $case: $status {$answer['status']}");
    }
    reply($status, $answer);
} catch (Refused $e) {
    // The same answer for every refusal; the reason goes to our log only.
    error_log("$path $case: refused: " . $e->getMessage());
    reply(400, ['status' => 'rejected', 'error' => 'invalid_envelope']);
} catch (Throwable $e) {
    // Whatever else went wrong came from the request: refuse it the same way, log the class only.
    error_log("$path $case: unexpected " . get_class($e));
    reply(400, ['status' => 'rejected', 'error' => 'invalid_envelope']);
}
