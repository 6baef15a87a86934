// Merchant.java: a correct my.getPhoneNumber decryption endpoint in Java 17, JDK only
// (com.sun.net.httpserver + JCE). Copy the open() method and its helpers into your service.
//
//   javac -d out Merchant.java && java -cp out Merchant [--listen 127.0.0.1:0] [--public-key FILE]
//       [--aes-key FILE] [--sign-type RSA2|RSA|none]
//
// Configuration (an option wins over its environment variable):
//   ALIPAY_PUBLIC_KEY / --public-key FILE  the Alipay public key (支付宝公钥): one line of base64 SPKI,
//                                          as the console shows it, or a PEM "BEGIN PUBLIC KEY" block
//   ALIPAY_AES_KEY    / --aes-key FILE     the content-encryption key (接口内容加密 AES key), base64 of
//                                          16, 24 or 32 bytes
//   ALIPAY_SIGN_TYPE  / --sign-type        the algorithm YOUR app is configured with: RSA2
//                                          (SHA256withRSA, default), RSA (SHA1withRSA), or none when no
//                                          接口加签方式 is set (sign ignored; only ciphertext may report a mobile)
//   --listen ADDR                          default 127.0.0.1:0 (a free port)
// The first line on stdout is "listening on http://ADDR".
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
// It follows the shape of the Java sample in the my.getPhoneNumber document (1. read sign and
// response, 2. verify, 3. decrypt) and says, at each step, where that sample is wrong.
//
// POST /login is the mini-program login (contract in interop/README.md, "The login"): the body
// {"authCode": my.getAuthCode's authCode, "response": my.getPhoneNumber's res.response}. The code is
// exchanged at the OpenAPI gateway (alipay.system.oauth.token) the way the official Java SDK
// (alipay-sdk-java, not reachable from here) does it with java.security: every non-empty parameter
// sorted by key, key=value joined with '&' (AlipaySignature.getSignContent), SHA256withRSA with the
// app private key; the common parameters in the URL query, grant_type and code as the form body
// (DefaultAlipayClient). The answer's signed text is the raw JSON value under
// "alipay_system_oauth_token_response" (or "error_response"), verified with the Alipay public key.
// Then the envelope is opened with open(). Configuration, environment only: ALIPAY_GATEWAY (the
// gateway URL), ALIPAY_APP_ID, ALIPAY_APP_PRIVATE_KEY (PKCS#8 PEM or one line of base64 PKCS#8);
// without ALIPAY_GATEWAY, /login answers 404 login_not_configured.
//
// JSON: the JDK has no JSON parser, and the one thing this endpoint needs from one is what most
// libraries throw away: the RAW text of the "response" value, which is what Alipay signed. So a
// minimal strict reader (class Json, below) is written out here, ~120 lines: it keeps that raw
// text, refuses duplicate keys and trailing data, and caps nesting. In your service you can keep it,
// or use Jackson with JsonParser.Feature.STRICT_DUPLICATE_DETECTION and read the raw value text from
// JsonParser.getTokenLocation() offsets; do NOT re-serialise a parsed object (see step 2).

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

public final class Merchant {
    static final int BODY_LIMIT = 64 * 1024; // real envelopes are under 1 KiB
    static final int DRAIN_LIMIT = 8 * 1024 * 1024; // an oversized body is read and dropped up to this much

    /** Every refusal gets this one answer, whatever failed: no padding or signature oracle. */
    static final Answer REJECTED = new Answer(400, json("status", "rejected", "error", "invalid_envelope"));

    /** An envelope we refuse; the message is for our log only and never holds key material. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String why) {
            super(why, null, false, false);
        }
    }

    record Answer(int status, String body) {}

    private final PublicKey alipayPublicKey; // null when signing is not configured ("none")
    private final String signType; // "RSA2", "RSA" or "none": OUR configuration, never the envelope's
    private final SecretKeySpec aesKey;

    private final Gateway gateway; // the login's gateway and app key; null when not configured

    /** Where the gateway is and who we are (ALIPAY_GATEWAY, ALIPAY_APP_ID, ALIPAY_APP_PRIVATE_KEY). */
    record Gateway(URI url, String appId, PrivateKey appKey, HttpClient client) {}

    Merchant(PublicKey alipayPublicKey, String signType, byte[] aesKey, Gateway gateway) {
        this.alipayPublicKey = alipayPublicKey;
        this.signType = signType;
        this.aesKey = new SecretKeySpec(aesKey, "AES"); // 16/24/32 bytes picks AES-128/192/256
        this.gateway = gateway;
    }

    // ---------------------------------------------------------------------------------------------
    // POST /login

    /** A gateway answer that is not a success: the login is refused with its code. */
    static final class GatewayRefused extends Exception {
        private static final long serialVersionUID = 1L;
        final String code;
        final String subCode;

        GatewayRefused(String code, String subCode) {
            super("gateway answered " + code + " " + subCode, null, false, false);
            this.code = code;
            this.subCode = subCode;
        }
    }

    /** The gateway's answer did not verify (kind "signature") or was unusable ("unavailable"). */
    static final class GatewayFailed extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean signature;

        GatewayFailed(boolean signature, String why) {
            super(why, null, false, false);
            this.signature = signature;
        }
    }

    static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    /** The v2 signing string: non-empty parameters sorted by key, raw values (getSignContent). */
    static String signContent(Map<String, String> params) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(params).entrySet()) {
            if (!e.getKey().isEmpty() && e.getValue() != null && !e.getValue().isEmpty()) {
                sb.append(sb.length() == 0 ? "" : "&").append(e.getKey()).append('=').append(e.getValue());
            }
        }
        return sb.toString();
    }

    static String form(Map<String, String> params) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : params.entrySet()) {
            sb.append(sb.length() == 0 ? "" : "&").append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8))
                    .append('=').append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    /** One v2 call; the verified members of the object under "<method>_response". */
    Map<String, Object> call(String method, Map<String, String> apiParams)
            throws GatewayRefused, GatewayFailed, InterruptedException {
        Map<String, String> system = new LinkedHashMap<>();
        system.put("app_id", gateway.appId());
        system.put("method", method);
        system.put("format", "JSON");
        system.put("charset", "utf-8");
        system.put("sign_type", "RSA2");
        system.put("timestamp", ZonedDateTime.now(ZoneOffset.ofHours(8)).format(TIMESTAMP)); // GMT+8, as the SDK
        system.put("version", "1.0");
        Map<String, String> all = new LinkedHashMap<>(system);
        all.putAll(apiParams);
        try {
            Signature signer = Signature.getInstance("SHA256withRSA");
            signer.initSign(gateway.appKey());
            signer.update(signContent(all).getBytes(StandardCharsets.UTF_8));
            system.put("sign", Base64.getEncoder().encodeToString(signer.sign()));
        } catch (GeneralSecurityException e) {
            throw new GatewayFailed(false, "cannot sign: " + e.getClass().getSimpleName());
        }
        String base = gateway.url().toString();
        URI uri = URI.create(base + (base.contains("?") ? "&" : "?") + form(system));
        HttpResponse<byte[]> res;
        try {
            res = gateway.client().send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                    .header("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
                    .POST(HttpRequest.BodyPublishers.ofString(form(apiParams))).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new GatewayFailed(false, "transport: " + e.getClass().getSimpleName());
        }
        if (res.statusCode() != 200) {
            throw new GatewayFailed(false, "HTTP " + res.statusCode());
        }
        String key = method.replace('.', '_') + "_response";
        try {
            Map<String, String> answer = Json.rawMembers(utf8(res.body()));
            String object = answer.get(key);
            boolean isError = object == null;
            if (isError) {
                object = answer.get("error_response");
            }
            if (object == null || !object.startsWith("{")) {
                throw new GatewayFailed(false, "no " + key + " object");
            }
            String sign = stringField(answer, "sign");
            boolean verified = false;
            if (sign != null && !sign.isEmpty() && alipayPublicKey != null) {
                // The raw value as sent; RSA2 is our configuration for the gateway.
                Signature verifier = Signature.getInstance("SHA256withRSA");
                verifier.initVerify(alipayPublicKey);
                verifier.update(object.getBytes(StandardCharsets.UTF_8));
                try {
                    verified = verifier.verify(Base64.getDecoder().decode(sign));
                } catch (IllegalArgumentException | GeneralSecurityException e) {
                    verified = false;
                }
                if (!verified) {
                    throw new GatewayFailed(true, "the answer's sign does not verify");
                }
            }
            if (!(Json.parse(object) instanceof Map<?, ?> map)) {
                throw new GatewayFailed(false, "the answer object does not parse");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = (Map<String, Object>) map;
            Object code = fields.get("code");
            if (isError || (code instanceof String c && !c.equals("10000"))) {
                // An error can only refuse the login, so an unsigned one is reported too.
                throw new GatewayRefused(text(code), text(fields.get("sub_code")));
            }
            if (!verified) {
                throw new GatewayFailed(true, "a success without a verified sign");
            }
            return fields;
        } catch (Refused e) {
            throw new GatewayFailed(false, "answer: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new GatewayFailed(false, "verify: " + e.getClass().getSimpleName());
        }
    }

    /** The answer to POST /login; `why` (for the log) is set through the array. */
    Answer login(String body, String[] why) throws Refused {
        if (gateway == null) {
            why[0] = "no gateway configured";
            return new Answer(404, json("status", "rejected", "error", "login_not_configured"));
        }
        Map<String, String> req = Json.rawMembers(body);
        String authCode = stringField(req, "authCode");
        String envelope = stringField(req, "response");
        if (authCode == null || authCode.isEmpty() || envelope == null) {
            throw new Refused("login request without authCode or response");
        }
        Map<String, Object> token;
        try {
            token = call("alipay.system.oauth.token", Map.of("grant_type", "authorization_code", "code", authCode));
        } catch (GatewayRefused e) {
            why[0] = e.getMessage();
            return e.code.equals("20000")
                    ? new Answer(503, json("status", "retry_later", "code", "20000"))
                    : new Answer(401, json("status", "rejected", "error", "auth_code", "code", e.code, "sub_code", e.subCode));
        } catch (GatewayFailed e) {
            why[0] = e.getMessage();
            return e.signature
                    ? new Answer(401, json("status", "rejected", "error", "gateway_signature"))
                    : new Answer(502, json("status", "error", "error", "gateway_unavailable"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why[0] = "interrupted";
            return new Answer(502, json("status", "error", "error", "gateway_unavailable"));
        }
        String userId = token.get("user_id") instanceof String u && !u.isEmpty() ? u : null;
        String openId = token.get("open_id") instanceof String o && !o.isEmpty() ? o : null;
        if (userId == null && openId == null) {
            why[0] = "no user_id or open_id in the token answer";
            return new Answer(502, json("status", "error", "error", "gateway_unavailable"));
        }
        Answer phone = open(envelope); // Refused propagates: the envelope's one 400
        if (phone.status() != 200) {
            return phone;
        }
        String mobile = (String) ((Map<?, ?>) Json.parse(phone.body())).get("mobile");
        return new Answer(200, "{\"status\":\"ok\",\"user_id\":" + (userId == null ? "null" : quote(userId))
                + ",\"open_id\":" + (openId == null ? "null" : quote(openId)) + ",\"mobile\":" + quote(mobile) + "}");
    }

    /** The raw envelope text in, the answer out; throws Refused for anything we cannot trust. */
    Answer open(String envelope) throws Refused {
        // 1. Read sign and response. The sample: JSON.parseObject(response, Map<String,String>,
        //    Feature.OrderedField), then content = get("response"). For an unencrypted payload fastjson
        //    hands back the object RE-SERIALISED, and that is not the text Alipay signed: Alipay writes
        //    '/' as '\/' (e.g. the 40006 subMsg URL), fastjson writes '/'. OrderedField only keeps the
        //    key order, so it is a workaround for one difference, not a fix. Here: the raw text.
        Map<String, String> fields = Json.rawMembers(envelope); // strict: duplicate keys refused
        String response = fields.get("response");
        if (response == null) {
            if (fields.containsKey("code")) {
                return unsignedError(envelope); // 40001 as the bare error object, unencrypted and unsigned
            }
            throw new Refused("no response field");
        }
        String sign = stringField(fields, "sign");
        String declaredSignType = stringField(fields, "sign_type");
        if (declaredSignType != null && !declaredSignType.equals("RSA2") && !declaredSignType.equals("RSA")) {
            throw new Refused("unknown sign_type");
        }
        String encryptType = stringField(fields, "encrypt_type");
        if (encryptType != null && !encryptType.equals("AES")) {
            throw new Refused("encrypt_type is not AES");
        }
        String charset = stringField(fields, "charset");
        if (charset != null && !charset.equalsIgnoreCase("UTF-8") && !charset.equalsIgnoreCase("UTF8")) {
            throw new Refused("charset is not UTF-8");
        }
        // The sample decides with !content.startsWith("{") on the DECODED value, so a JSON string whose
        // text starts with '{' would pass as "plaintext". Decide on the JSON type of the raw token.
        boolean isDataEncrypted = response.startsWith("\"");
        if (!isDataEncrypted && !response.startsWith("{")) {
            throw new Refused("response is neither a string nor an object");
        }

        // 2. Verify. Like the sample: the ciphertext WITH its double quotes (here simply the raw
        //    string token, quotes included), RSA2 fixed by configuration, and no decryption when it
        //    fails. Unlike the sample: a missing sign is legitimate for an unencrypted platform error
        //    (40001/40002/20000 come unsigned), which may be reported but never claim success.
        boolean verified = false;
        if (alipayPublicKey != null) {
            if (sign == null) {
                if (isDataEncrypted) {
                    throw new Refused("sign missing");
                }
                return unsignedError(response);
            }
            // Never pass the envelope's sign_type to the verifier: an attacker would choose SHA-1.
            if (declaredSignType != null && !declaredSignType.equals(signType)) {
                throw new Refused("sign_type differs from the configured one");
            }
            if (!rsaCheck(response, sign)) {
                throw new Refused("bad signature"); // the sample's "验签失败": stop, do not decrypt
            }
            verified = true;
        }

        // 3. Decrypt. The sample's AlipayEncrypt.decryptContent is AES/CBC/PKCS5Padding with a zero
        //    IV, like this; but do not return its exception text to the caller: the SDK's messages
        //    embed the ciphertext ("Aescontent = ...").
        String plainData = isDataEncrypted ? decrypt((String) Json.parse(response)) : response;

        // 4. Read code (the sample stops before this): 40003 and 40006 decrypt fine, so a decrypted
        //    payload is not a success until code is "10000" with a non-empty mobile.
        Map<String, Object> payload = payload(plainData);
        if (!isDataEncrypted && !verified && "10000".equals(payload.get("code"))) {
            throw new Refused("unencrypted success without a verified signature");
        }
        return answer(payload);
    }

    /** SHA256withRSA (RSA2) or SHA1withRSA (RSA), as configured, over the UTF-8 bytes of content. */
    boolean rsaCheck(String content, String sign) {
        try {
            Signature verifier = Signature.getInstance(signType.equals("RSA") ? "SHA1withRSA" : "SHA256withRSA");
            verifier.initVerify(alipayPublicKey);
            verifier.update(content.getBytes(StandardCharsets.UTF_8));
            return verifier.verify(Base64.getDecoder().decode(sign));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false; // malformed base64 or signature: the same as a wrong one
        }
    }

    /** AES-CBC, zero IV, PKCS#7 (JCE's "PKCS5Padding") checked by the cipher, strict UTF-8. */
    String decrypt(String ciphertext) throws Refused {
        byte[] ct;
        try {
            ct = Base64.getDecoder().decode(ciphertext); // strict: no spaces, no line breaks
        } catch (IllegalArgumentException e) {
            throw new Refused("ciphertext is not base64");
        }
        if (ct.length == 0 || ct.length % 16 != 0) {
            throw new Refused("ciphertext is not a whole number of AES blocks");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
            cipher.init(Cipher.DECRYPT_MODE, aesKey, new IvParameterSpec(new byte[16]));
            return utf8(cipher.doFinal(ct));
        } catch (GeneralSecurityException e) {
            throw new Refused("bad padding"); // BadPaddingException: wrong key or tampered ciphertext
        }
    }

    /** The decrypted (or unencrypted) payload: {code,msg,mobile} or {code,msg,subCode,subMsg}. */
    static Map<String, Object> payload(String text) throws Refused {
        if (!(Json.parse(text) instanceof Map<?, ?> map)) {
            throw new Refused("payload is not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> payload = (Map<String, Object>) map;
        if (!(payload.get("code") instanceof String)) {
            throw new Refused("payload has no string code");
        }
        // mobile may be "" or absent (no bound phone); msg/subCode/subMsg may be absent or null.
        if (payload.containsKey("mobile") && !(payload.get("mobile") instanceof String)) {
            throw new Refused("mobile is not a string");
        }
        for (String name : List.of("msg", "subCode", "subMsg")) {
            Object v = payload.get(name);
            if (v != null && v != Json.NULL && !(v instanceof String)) {
                throw new Refused(name + " is not a string");
            }
        }
        return payload;
    }

    /** Note the camelCase subCode/subMsg: code written for gateway responses (sub_code) loses them. */
    static Answer answer(Map<String, Object> payload) {
        String code = (String) payload.get("code");
        if (code.equals("10000")) {
            String mobile = (String) payload.getOrDefault("mobile", "");
            return mobile.isEmpty()
                    ? new Answer(422, json("status", "no_mobile"))
                    : new Answer(200, json("status", "ok", "mobile", mobile));
        }
        if (code.equals("20000")) { // transient: the page should try again later
            return new Answer(503, json("status", "retry_later", "code", code));
        }
        return new Answer(422, json("status", "platform_error", "code", code,
                "sub_code", text(payload.get("subCode")), "sub_msg", text(payload.get("subMsg"))));
    }

    /** An unencrypted, unsigned payload: anyone can write one, so it may report an error only. */
    static Answer unsignedError(String raw) throws Refused {
        Map<String, Object> payload = payload(raw);
        if ("10000".equals(payload.get("code"))) {
            throw new Refused("unsigned success");
        }
        return answer(payload);
    }

    static String stringField(Map<String, String> fields, String name) throws Refused {
        String raw = fields.get(name);
        if (raw == null) {
            return null;
        }
        if (!(Json.parse(raw) instanceof String s)) {
            throw new Refused(name + " is not a string");
        }
        return s;
    }

    static String text(Object v) {
        return v instanceof String s ? s : "";
    }

    static String utf8(byte[] bytes) throws Refused {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new Refused("not UTF-8");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // HTTP: POST any path, the raw body (whatever the Content-Type: never form-decode it, base64 '+'
    // would become ' ') is the envelope.

    void handle(HttpExchange ex) throws IOException {
        String caseId = ex.getRequestHeaders().getFirst("X-Alipay-Harness-Case"); // log only
        Answer answer;
        String why = null;
        boolean close = false;
        if (!ex.getRequestMethod().equals("POST")) {
            ex.getResponseHeaders().set("Allow", "POST");
            answer = new Answer(405, json("status", "rejected", "error", "method_not_allowed"));
            close = true;
        } else {
            InputStream in = ex.getRequestBody();
            byte[] body = in.readNBytes(BODY_LIMIT + 1);
            if (body.length > BODY_LIMIT) {
                // Read the rest (up to DRAIN_LIMIT) so the client gets to read the 413.
                close = !drain(in, DRAIN_LIMIT);
                answer = new Answer(413, json("status", "rejected", "error", "body_too_large"));
                why = "body over " + BODY_LIMIT + " bytes";
            } else {
                try {
                    if (ex.getRequestURI().getPath().equals("/login")) {
                        String[] loginWhy = {null};
                        answer = login(utf8(body), loginWhy);
                        why = loginWhy[0];
                    } else {
                        answer = open(utf8(body));
                    }
                } catch (Refused e) {
                    answer = REJECTED;
                    why = e.getMessage();
                } catch (RuntimeException e) {
                    // Not expected; whatever it was came from the request: the same refusal, and
                    // only the exception's class in the log (its message could hold the input).
                    answer = REJECTED;
                    why = "unexpected " + e.getClass().getName();
                }
            }
        }
        System.err.printf("%s %s -> %d %s%n", ex.getRequestURI().getPath(), caseId == null ? "" : caseId,
                answer.status(), why == null ? "" : "refused: " + why);
        byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        if (answer.status() == 503) {
            ex.getResponseHeaders().set("Retry-After", "1");
        }
        if (close) {
            ex.getResponseHeaders().set("Connection", "close");
        }
        ex.sendResponseHeaders(answer.status(), bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Reads and drops up to limit bytes; true when the body ended within them. */
    static boolean drain(InputStream in, long limit) throws IOException {
        byte[] buf = new byte[64 * 1024];
        for (long seen = 0; seen <= limit; ) {
            int n = in.read(buf);
            if (n < 0) {
                return true;
            }
            seen += n;
        }
        return false;
    }

    /** A compact JSON object of string members, written by hand (all values are strings). */
    static String json(String... kv) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            sb.append(i == 0 ? "" : ",").append(quote(kv[i])).append(':').append(quote(kv[i + 1]));
        }
        return sb.append('}').toString();
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    // ---------------------------------------------------------------------------------------------
    // Start-up: configuration, then the server.

    public static void main(String[] args) {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!List.of("--listen", "--public-key", "--aes-key", "--sign-type").contains(name) || i + 1 == args.length) {
                die("unknown option or missing value: '" + name + "'\nusage: java Merchant [--listen HOST:PORT]"
                        + " [--public-key FILE] [--aes-key FILE] [--sign-type RSA2|RSA|none]");
            }
            opts.put(name, args[++i]);
        }
        String signType = opts.getOrDefault("--sign-type", envOr("ALIPAY_SIGN_TYPE", "RSA2"));
        if (!List.of("RSA2", "RSA", "none").contains(signType)) {
            die("the sign type must be RSA2, RSA or none, got '" + signType + "'");
        }
        PublicKey publicKey = null;
        if (!signType.equals("none")) {
            String[] text = setting(opts, "--public-key", "ALIPAY_PUBLIC_KEY");
            publicKey = parsePublicKey(text[0], text[1]);
        }
        String[] aes = setting(opts, "--aes-key", "ALIPAY_AES_KEY");
        byte[] aesKey = null;
        try {
            aesKey = Base64.getDecoder().decode(aes[0]);
        } catch (IllegalArgumentException e) {
            // reported below
        }
        if (aesKey == null || (aesKey.length != 16 && aesKey.length != 24 && aesKey.length != 32)) {
            die("the AES key from " + aes[1] + " is not the base64 of 16, 24 or 32 bytes"); // never truncate or pad
        }
        String listen = opts.getOrDefault("--listen", "127.0.0.1:0");
        int colon = listen.lastIndexOf(':');
        HttpServer server = null;
        try {
            // A silent client cannot hold a connection forever (values in seconds, JDK 17).
            System.setProperty("sun.net.httpserver.maxReqTime", "30");
            System.setProperty("sun.net.httpserver.maxRspTime", "30");
            int port = Integer.parseInt(listen.substring(colon + 1));
            server = HttpServer.create(new InetSocketAddress(listen.substring(0, colon), port), 128);
        } catch (IOException | RuntimeException e) {
            die("cannot listen on '" + listen + "': " + e.getMessage());
        }
        Merchant merchant = new Merchant(publicKey, signType, aesKey, gatewayFromEnvironment());
        server.createContext("/", merchant::handle);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.start();
        InetSocketAddress bound = server.getAddress();
        System.out.println("listening on http://" + bound.getAddress().getHostAddress() + ":" + bound.getPort());
        System.out.flush();
    }

    /** The login's configuration from the environment; null when ALIPAY_GATEWAY is not set. */
    static Gateway gatewayFromEnvironment() {
        String url = envOr("ALIPAY_GATEWAY", "");
        if (url.isEmpty()) {
            return null;
        }
        String appId = envOr("ALIPAY_APP_ID", "");
        String key = envOr("ALIPAY_APP_PRIVATE_KEY", "").strip();
        if (appId.isEmpty() || key.isEmpty()) {
            die("the login (ALIPAY_GATEWAY) needs ALIPAY_APP_ID and ALIPAY_APP_PRIVATE_KEY too");
        }
        URI uri = null;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            die("ALIPAY_GATEWAY is not a URL: '" + url + "'");
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
            die("ALIPAY_GATEWAY is not an http(s) URL: '" + url + "'");
        }
        String b64 = key.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
        PrivateKey appKey = null;
        try {
            appKey = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            die("ALIPAY_APP_PRIVATE_KEY is not an RSA PKCS#8 private key (PEM BEGIN PRIVATE KEY, or one line of base64)");
        }
        return new Gateway(uri, appId, appKey, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build());
    }

    /** {value, where it came from}: the option's file content, else the environment variable. */
    static String[] setting(Map<String, String> opts, String option, String env) {
        String file = opts.get(option);
        if (file != null) {
            try {
                return new String[] {Files.readString(Path.of(file)).strip(), option + " " + file};
            } catch (IOException | RuntimeException e) {
                die("cannot read " + option + " " + file + ": " + e);
            }
        }
        String value = envOr(env, "").strip();
        if (value.isEmpty()) {
            die("missing configuration: set " + env + " or " + option + " FILE");
        }
        return new String[] {value, env};
    }

    /** One line of base64 SPKI (the console's form) or a PEM "BEGIN PUBLIC KEY" block. */
    static PublicKey parsePublicKey(String text, String source) {
        String b64 = text;
        if (text.startsWith("-----BEGIN PUBLIC KEY-----") && text.endsWith("-----END PUBLIC KEY-----")) {
            b64 = text.substring(26, text.length() - 24).replaceAll("\\s", "");
        }
        try {
            return KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(b64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            die("the Alipay public key from " + source + " is not an RSA X.509 SubjectPublicKeyInfo"
                    + " (one line of base64, or PEM BEGIN PUBLIC KEY)");
            return null;
        }
    }

    static String envOr(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    static void die(String message) {
        System.err.println("Merchant: " + message);
        System.exit(2);
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * A minimal strict JSON reader (RFC 8259), hand-written because the JDK has none (see the file
     * header). Objects become LinkedHashMap (a duplicate key is an error), arrays ArrayList, strings
     * String, numbers BigDecimal, true/false Boolean, null Json.NULL. Nesting is capped at 64.
     */
    static final class Json {
        static final Object NULL = new Object();
        private static final Pattern NUMBER = Pattern.compile("-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?");
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        /** Exactly one JSON value, nothing after it but whitespace. */
        static Object parse(String text) throws Refused {
            Json p = new Json(text);
            Object v = p.value(0);
            p.end();
            return v;
        }

        /** The members of a top-level object, each with its value's raw text exactly as sent. */
        static Map<String, String> rawMembers(String text) throws Refused {
            Json p = new Json(text);
            Map<String, String> members = new LinkedHashMap<>();
            p.ws();
            p.expect('{');
            p.ws();
            if (!p.eat('}')) {
                do {
                    p.ws();
                    String key = p.string();
                    p.ws();
                    p.expect(':');
                    p.ws();
                    int start = p.i;
                    p.value(1);
                    if (members.put(key, text.substring(start, p.i)) != null) {
                        throw new Refused("duplicate key");
                    }
                    p.ws();
                } while (p.eat(','));
                p.expect('}');
            }
            p.end();
            return members;
        }

        private Object value(int depth) throws Refused {
            if (depth > 64) {
                throw new Refused("JSON nested too deeply");
            }
            ws();
            if (i >= s.length()) {
                throw new Refused("JSON ends early");
            }
            char c = s.charAt(i);
            if (c == '{') {
                i++;
                Map<String, Object> map = new LinkedHashMap<>();
                ws();
                if (eat('}')) {
                    return map;
                }
                do {
                    ws();
                    String key = string();
                    ws();
                    expect(':');
                    if (map.put(key, value(depth + 1)) != null) {
                        throw new Refused("duplicate key");
                    }
                    ws();
                } while (eat(','));
                expect('}');
                return map;
            }
            if (c == '[') {
                i++;
                List<Object> list = new ArrayList<>();
                ws();
                if (eat(']')) {
                    return list;
                }
                do {
                    list.add(value(depth + 1));
                    ws();
                } while (eat(','));
                expect(']');
                return list;
            }
            if (c == '"') {
                return string();
            }
            for (String literal : List.of("true", "false", "null")) {
                if (s.startsWith(literal, i)) {
                    i += literal.length();
                    return literal.equals("null") ? NULL : Boolean.valueOf(literal);
                }
            }
            Matcher m = NUMBER.matcher(s).region(i, s.length());
            if (m.lookingAt()) {
                i = m.end();
                return new BigDecimal(m.group());
            }
            throw new Refused("not JSON at offset " + i);
        }

        private String string() throws Refused {
            expect('"');
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw new Refused("unterminated JSON string");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    break;
                }
                if (c < 0x20) {
                    throw new Refused("control character in a JSON string");
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = i < s.length() ? s.charAt(i++) : 0;
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length() || !s.substring(i, i + 4).matches("[0-9a-fA-F]{4}")) {
                            throw new Refused("bad \\u escape");
                        }
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw new Refused("bad escape in a JSON string");
                }
            }
            // Escapes can spell a lone UTF-16 surrogate, which is not text.
            String out = sb.toString();
            for (int k = 0; k < out.length(); k++) {
                char c = out.charAt(k);
                if (Character.isHighSurrogate(c) && k + 1 < out.length() && Character.isLowSurrogate(out.charAt(k + 1))) {
                    k++;
                } else if (Character.isSurrogate(c)) {
                    throw new Refused("lone surrogate in a JSON string");
                }
            }
            return out;
        }

        private void ws() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
        }

        private boolean eat(char c) {
            if (i < s.length() && s.charAt(i) == c) {
                i++;
                return true;
            }
            return false;
        }

        private void expect(char c) throws Refused {
            if (!eat(c)) {
                throw new Refused("expected '" + c + "' at offset " + i);
            }
        }

        private void end() throws Refused {
            ws();
            if (i != s.length()) {
                throw new Refused("data after the JSON value");
            }
        }
    }
}
