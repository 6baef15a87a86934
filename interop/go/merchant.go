// merchant.go: a correct my.getPhoneNumber decryption endpoint in Go, standard library only.
// Copy this file (and go.mod) into your service; nothing in it depends on the rest of this repository.
//
//	go run . [--listen 127.0.0.1:0] [--public-key FILE] [--aes-key FILE] [--sign-type RSA2|RSA|none]
//
// Configuration (a flag wins over its environment variable):
//
//	ALIPAY_PUBLIC_KEY / --public-key FILE  the Alipay public key (支付宝公钥): one line of base64 SPKI,
//	                                       as the console shows it, or a PEM "BEGIN PUBLIC KEY" block
//	ALIPAY_AES_KEY    / --aes-key FILE     the content-encryption key (接口内容加密 AES key), base64 of
//	                                       16, 24 or 32 bytes
//	ALIPAY_SIGN_TYPE  / --sign-type        the signature algorithm YOUR app is configured with: RSA2
//	                                       (SHA256withRSA, the default), RSA (SHA1withRSA), or none when
//	                                       no 接口加签方式 is set (then `sign` is ignored and only
//	                                       encrypted payloads can report a mobile)
//	--listen ADDR                          default 127.0.0.1:0 (a free port)
//
// The first line on stdout is "listening on http://ADDR". The mini-program posts res.response as the
// request body (my.request({ data: res.response })). Answers:
//
//	200 {"status":"ok","mobile":"..."}                                  the user's number
//	422 {"status":"no_mobile"}                                           code 10000 with an empty or absent mobile
//	422 {"status":"platform_error","code":..,"sub_code":..,"sub_msg":..} 40001, 40002, 40003, 40006, ...
//	503 {"status":"retry_later","code":"20000"} + Retry-After: 1         the platform was busy
//	400 {"status":"rejected","error":"invalid_envelope"}                 EVERY refusal, whatever failed
//	413 {"status":"rejected","error":"body_too_large"}                   bodies over 64 KiB
//
// The steps, in order (the reasons are in the comments below):
//  1. read the raw body bytes whatever the Content-Type (never form-decode: base64 '+' becomes ' ');
//  2. parse it as ONE strict JSON object: duplicate keys refused at every level;
//  3. take the signed content from the RAW text: the "response" string token WITH its quotes, or the
//     raw object text of an unencrypted payload (never re-serialise: Alipay writes '/' as '\/');
//  4. verify `sign` with the algorithm pinned by configuration (never the envelope's sign_type), and
//     stop before decrypting if it fails;
//  5. decrypt strictly: AES-CBC, zero IV, PKCS#7 padding validated, key length from the key;
//  6. read `code`: 10000 with a mobile, 10000 without one, or a platform error.
//
// Go's encoding/json is the parser; it has no duplicate-key option, so checkStrict walks the tokens.
//
// POST /login (login.go, next to this file) is the mini-program login: it exchanges my.getAuthCode's
// code at the OpenAPI gateway, then opens the envelope with Open. It is configured with
// ALIPAY_GATEWAY, ALIPAY_APP_ID and ALIPAY_APP_PRIVATE_KEY; see login.go.
package main

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	bodyLimit  = 64 << 10 // real envelopes are under 1 KiB
	drainLimit = 8 << 20  // an oversized body is read (and dropped) up to this much, so the client sees the 413
)

// Merchant holds what the Alipay console gave you.
type Merchant struct {
	PublicKey *rsa.PublicKey // nil when signing is not configured (sign type "none")
	SignType  string         // "RSA2", "RSA" or "none"
	AESKey    []byte         // 16, 24 or 32 bytes
	Gateway   *Gateway       // the login's gateway and app key (login.go); nil when not configured
}

// Answer is one HTTP answer: a status and a JSON object of strings (503 adds Retry-After).
type Answer struct {
	Status int
	Body   map[string]string
}

// rejected is the single answer for every refusal: the same status and body whatever failed, so a
// caller learns nothing about which check stopped it (no padding or signature oracle).
var rejected = Answer{http.StatusBadRequest, map[string]string{"status": "rejected", "error": "invalid_envelope"}}

// Open turns the raw envelope text into an answer. The error (nil on success) says, for the log
// only, why an envelope was refused; it never contains key material or the ciphertext.
func (m *Merchant) Open(body []byte) (Answer, error) {
	if !utf8.Valid(body) {
		return rejected, errors.New("body is not UTF-8")
	}
	if err := checkStrict(body); err != nil {
		return rejected, fmt.Errorf("body: %w", err)
	}
	var fields map[string]json.RawMessage // raw bytes of each member, exactly as sent
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return rejected, errors.New("body is not a JSON object")
	}
	response, ok := fields["response"]
	if !ok {
		if _, bare := fields["code"]; bare {
			// 40001 delivered as the bare error object: unencrypted and unsigned.
			return unsignedError(body)
		}
		return rejected, errors.New("no response field")
	}
	sign, hasSign, err := stringField(fields, "sign")
	if err != nil {
		return rejected, err
	}
	signType, hasSignType, err := stringField(fields, "sign_type")
	if err != nil {
		return rejected, err
	}
	if hasSignType && signType != "RSA2" && signType != "RSA" {
		return rejected, errors.New("unknown sign_type")
	}
	if t, has, err := stringField(fields, "encrypt_type"); err != nil || (has && t != "AES") {
		return rejected, errors.New("encrypt_type is not AES")
	}
	if c, has, err := stringField(fields, "charset"); err != nil ||
		(has && !strings.EqualFold(c, "UTF-8") && !strings.EqualFold(c, "UTF8")) {
		return rejected, errors.New("charset is not UTF-8")
	}

	// A JSON string is a ciphertext; an object is an unencrypted payload. Decide on the JSON type,
	// not on the decoded text (the document's Java sample tests content.startsWith("{")).
	encrypted := response[0] == '"'
	if !encrypted && response[0] != '{' {
		return rejected, errors.New("response is neither a string nor an object")
	}

	verified := false
	if m.PublicKey != nil {
		if !hasSign {
			if encrypted {
				return rejected, errors.New("sign missing")
			}
			// Alipay sends 40001/40002/20000 unencrypted and unsigned: report them, never a success.
			return unsignedError(response)
		}
		// Alipay can only mean the algorithm we configured; an envelope asking for another one
		// (e.g. RSA to get SHA-1) is refused, and verification below uses m.SignType regardless.
		if hasSignType && signType != m.SignType {
			return rejected, errors.New("sign_type differs from the configured one")
		}
		// The signed bytes are the raw token: `"<base64>"` quotes included, or the raw object text.
		if err := m.verify(response, sign); err != nil {
			return rejected, err
		}
		verified = true
	}

	plaintext := []byte(response)
	if encrypted {
		var ciphertext string
		if err := json.Unmarshal(response, &ciphertext); err != nil {
			return rejected, errors.New("response is not a JSON string")
		}
		if plaintext, err = m.decrypt(ciphertext); err != nil {
			return rejected, err
		}
	}
	payload, err := parsePayload(plaintext)
	if err != nil {
		return rejected, err
	}
	if !encrypted && !verified && payload.Code == "10000" {
		return rejected, errors.New("unencrypted success without a verified signature")
	}
	return payload.answer(), nil
}

// verify checks sign (base64) over content with the configured algorithm: RSASSA-PKCS1-v1_5 with
// SHA-256 for RSA2, SHA-1 for RSA.
func (m *Merchant) verify(content []byte, sign string) error {
	sig, err := decodeBase64(sign)
	if err != nil {
		return errors.New("sign is not base64")
	}
	hash := crypto.SHA256
	var digest []byte
	if m.SignType == "RSA" {
		hash = crypto.SHA1
		d := sha1.Sum(content)
		digest = d[:]
	} else {
		d := sha256.Sum256(content)
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(m.PublicKey, hash, digest, sig); err != nil {
		return errors.New("bad signature")
	}
	return nil
}

// decrypt is AES-CBC with a zero IV and validated PKCS#7 padding (the key size picks AES-128/192/256).
func (m *Merchant) decrypt(ciphertext string) ([]byte, error) {
	ct, err := decodeBase64(ciphertext)
	if err != nil {
		return nil, errors.New("ciphertext is not base64")
	}
	// CryptBlocks panics on a partial block: check first.
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errors.New("ciphertext is not a whole number of AES blocks")
	}
	block, err := aes.NewCipher(m.AESKey)
	if err != nil {
		return nil, err // not reached: the key length is checked at start-up
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(pt, ct)
	n := int(pt[len(pt)-1])
	if n == 0 || n > aes.BlockSize || !bytes.Equal(pt[len(pt)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, errors.New("bad PKCS#7 padding")
	}
	return pt[:len(pt)-n], nil
}

// decodeBase64 accepts canonical standard base64 only (Go's decoder otherwise skips \r and \n).
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}

// Payload is the decrypted result: {code,msg,mobile} or {code,msg,subCode,subMsg}. Note the
// camelCase subCode/subMsg (gateway responses use sub_code; code written for those loses them).
type Payload struct {
	Code, Msg, Mobile, SubCode, SubMsg string
}

func parsePayload(text []byte) (Payload, error) {
	if !utf8.Valid(text) {
		return Payload{}, errors.New("plaintext is not UTF-8")
	}
	if err := checkStrict(text); err != nil {
		return Payload{}, fmt.Errorf("plaintext: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil || obj == nil {
		return Payload{}, errors.New("plaintext is not a JSON object")
	}
	var p Payload
	code, has, err := stringField(obj, "code")
	if err != nil || !has {
		return p, errors.New("plaintext has no string code")
	}
	p.Code = code
	if p.Code == "10000" {
		// mobile: a string, possibly "" or absent (no bound phone); anything else is refused.
		if p.Mobile, _, err = stringField(obj, "mobile"); err != nil {
			return p, err
		}
		return p, nil
	}
	for name, dst := range map[string]*string{"msg": &p.Msg, "subCode": &p.SubCode, "subMsg": &p.SubMsg} {
		if raw, ok := obj[name]; ok && string(raw) != "null" {
			if raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
				return p, fmt.Errorf("plaintext field %s is not a string", name)
			}
		}
	}
	return p, nil
}

func (p Payload) answer() Answer {
	switch {
	case p.Code == "10000" && p.Mobile != "":
		return Answer{http.StatusOK, map[string]string{"status": "ok", "mobile": p.Mobile}}
	case p.Code == "10000":
		return Answer{http.StatusUnprocessableEntity, map[string]string{"status": "no_mobile"}}
	case p.Code == "20000": // transient: the page should try again
		return Answer{http.StatusServiceUnavailable, map[string]string{"status": "retry_later", "code": "20000"}}
	default:
		return Answer{http.StatusUnprocessableEntity, map[string]string{
			"status": "platform_error", "code": p.Code, "sub_code": p.SubCode, "sub_msg": p.SubMsg}}
	}
}

// unsignedError accepts an unencrypted, unsigned payload only when it reports an error: anyone can
// write one, so it may never claim success.
func unsignedError(raw []byte) (Answer, error) {
	p, err := parsePayload(raw)
	if err != nil {
		return rejected, err
	}
	if p.Code == "10000" {
		return rejected, errors.New("unsigned success")
	}
	return p.answer(), nil
}

// stringField reads an optional member that must be a JSON string when present (null is refused).
func stringField(obj map[string]json.RawMessage, name string) (value string, present bool, err error) {
	raw, ok := obj[name]
	if !ok {
		return "", false, nil
	}
	if raw[0] != '"' || json.Unmarshal(raw, &value) != nil {
		return "", true, fmt.Errorf("%s is not a string", name)
	}
	return value, true, nil
}

// checkStrict accepts exactly one JSON value with no duplicate key in any object and no lone
// UTF-16 surrogate escape (encoding/json would silently turn one into U+FFFD).
func checkStrict(text []byte) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	if err := checkValue(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	if hasLoneSurrogate(text) {
		return errors.New("lone surrogate escape")
	}
	return nil
}

// hasLoneSurrogate scans valid JSON for a \uD800-\uDFFF escape that is not half of a pair.
func hasLoneSurrogate(text []byte) bool {
	hex4 := func(i int) uint64 { v, _ := strconv.ParseUint(string(text[i:i+4]), 16, 32); return v }
	inString := false
	for i := 0; i < len(text); i++ {
		switch {
		case text[i] == '"':
			inString = !inString
		case text[i] == '\\' && inString && text[i+1] != 'u':
			i++ // an escaped character, possibly a quote
		case text[i] == '\\' && inString:
			r := hex4(i + 2)
			if r >= 0xDC00 && r <= 0xDFFF {
				return true
			}
			if r >= 0xD800 && r <= 0xDBFF {
				if i+12 > len(text) || text[i+6] != '\\' || text[i+7] != 'u' {
					return true
				}
				if low := hex4(i + 8); low < 0xDC00 || low > 0xDFFF {
					return true
				}
				i += 6
			}
			i += 5
		}
	}
	return false
}

func checkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return errors.New("not valid JSON")
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return errors.New("not valid JSON")
			}
			if seen[key.(string)] {
				return errors.New("duplicate key")
			}
			seen[key.(string)] = true
			if err := checkValue(dec); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for dec.More() {
			if err := checkValue(dec); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	if _, err := dec.Token(); err != nil { // the closing } or ]
		return errors.New("not valid JSON")
	}
	return nil
}

// ServeHTTP: POST /login is the login (login.go); POST any other path, the raw body is the envelope.
func (m *Merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	caseID := r.Header.Get("X-Alipay-Harness-Case") // set by alipay-harness; only for the log
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		reply(w, Answer{http.StatusMethodNotAllowed, map[string]string{"status": "rejected", "error": "method_not_allowed"}})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, bodyLimit+1))
	if err != nil {
		log.Printf("%s %s: unreadable body", r.URL.Path, caseID)
		reply(w, rejected)
		return
	}
	if len(body) > bodyLimit {
		if n, _ := io.CopyN(io.Discard, r.Body, drainLimit); n == drainLimit {
			w.Header().Set("Connection", "close") // not read to the end: the connection cannot be reused
		}
		log.Printf("%s %s: body over %d bytes", r.URL.Path, caseID, bodyLimit)
		reply(w, Answer{http.StatusRequestEntityTooLarge, map[string]string{"status": "rejected", "error": "body_too_large"}})
		return
	}
	if r.URL.Path == "/login" {
		status, answer, why := m.Login(body)
		log.Printf("%s %s: %d %s", r.URL.Path, caseID, status, why)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		out, _ := json.Marshal(answer)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(out)
		return
	}
	answer, why := m.Open(body)
	if why != nil {
		log.Printf("%s %s: refused: %v", r.URL.Path, caseID, why)
	} else {
		log.Printf("%s %s: %d %s", r.URL.Path, caseID, answer.Status, answer.Body["status"])
	}
	if answer.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	reply(w, answer)
}

func reply(w http.ResponseWriter, a Answer) {
	body, _ := json.Marshal(a.Body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.Status)
	_, _ = w.Write(body)
}

// setting returns the flag's file content when the flag is set, else the environment variable,
// and names where it came from for error messages.
func setting(file, env string, flagName string) (value, source string, err error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("--%s: %v", flagName, err)
		}
		return strings.TrimSpace(string(b)), fmt.Sprintf("--%s %s", flagName, file), nil
	}
	return strings.TrimSpace(os.Getenv(env)), env, nil
}

// parsePublicKey reads one-line base64 SPKI (the console form) or a PEM "PUBLIC KEY" block.
func parsePublicKey(text string) (*rsa.PublicKey, error) {
	var der []byte
	if strings.HasPrefix(text, "-----BEGIN") {
		block, rest := pem.Decode([]byte(text))
		if block == nil || block.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) != 0 {
			return nil, errors.New("not a single PEM PUBLIC KEY block")
		}
		der = block.Bytes
	} else {
		var err error
		if der, err = decodeBase64(text); err != nil {
			return nil, errors.New("not base64 (expected one line of base64 SPKI, or PEM)")
		}
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("not an X.509 SubjectPublicKeyInfo")
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA public key")
	}
	return rsaKey, nil
}

func configure(args []string) (*Merchant, string, error) {
	fs := flag.NewFlagSet("merchant", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	publicKeyFile := fs.String("public-key", "", "file with the Alipay public key (else $ALIPAY_PUBLIC_KEY)")
	aesKeyFile := fs.String("aes-key", "", "file with the base64 AES key (else $ALIPAY_AES_KEY)")
	signType := fs.String("sign-type", "", "RSA2, RSA or none (else $ALIPAY_SIGN_TYPE, else RSA2)")
	fs.SetOutput(io.Discard) // one message, printed by main
	const usage = "usage: merchant [--listen HOST:PORT] [--public-key FILE] [--aes-key FILE] [--sign-type RSA2|RSA|none]"
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return nil, "", err
		}
		return nil, "", fmt.Errorf("%v\n%s", err, usage)
	}
	if fs.NArg() > 0 {
		return nil, "", fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)
	}
	m := &Merchant{SignType: *signType}
	if m.SignType == "" {
		m.SignType = os.Getenv("ALIPAY_SIGN_TYPE")
	}
	if m.SignType == "" {
		m.SignType = "RSA2"
	}
	if m.SignType != "RSA2" && m.SignType != "RSA" && m.SignType != "none" {
		return nil, "", fmt.Errorf("sign type must be RSA2, RSA or none, got %q", m.SignType)
	}
	if m.SignType != "none" {
		text, source, err := setting(*publicKeyFile, "ALIPAY_PUBLIC_KEY", "public-key")
		if err != nil {
			return nil, "", err
		}
		if text == "" {
			return nil, "", errors.New("no Alipay public key: set ALIPAY_PUBLIC_KEY or --public-key FILE (or --sign-type none)")
		}
		if m.PublicKey, err = parsePublicKey(text); err != nil {
			return nil, "", fmt.Errorf("the Alipay public key from %s is %v", source, err)
		}
	}
	text, source, err := setting(*aesKeyFile, "ALIPAY_AES_KEY", "aes-key")
	if err != nil {
		return nil, "", err
	}
	if text == "" {
		return nil, "", errors.New("no AES key: set ALIPAY_AES_KEY or --aes-key FILE")
	}
	if m.AESKey, err = decodeBase64(text); err != nil || (len(m.AESKey) != 16 && len(m.AESKey) != 24 && len(m.AESKey) != 32) {
		// Never truncate or pad a key: a wrong length is a configuration error.
		return nil, "", fmt.Errorf("the AES key from %s is not the base64 of 16, 24 or 32 bytes", source)
	}
	if m.Gateway, err = gatewayFromEnv(); err != nil {
		return nil, "", err
	}
	return m, *listen, nil
}

func main() {
	log.SetOutput(os.Stderr)
	m, listen, err := configure(os.Args[1:])
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "merchant: %v\n", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "merchant: cannot listen on %s: %v\n", listen, err)
		os.Exit(2)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	server := &http.Server{
		Handler:           m,
		ReadHeaderTimeout: 10 * time.Second, // a silent client cannot hold a connection forever
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	if err := server.Serve(ln); err != nil {
		fmt.Fprintf(os.Stderr, "merchant: %v\n", err)
		os.Exit(1)
	}
}
