// login.go: POST /login, the mini-program login: exchange my.getAuthCode's code at the Alipay
// OpenAPI gateway (alipay.system.oauth.token), then open the my.getPhoneNumber envelope with Open.
// Standard library only. There is no official Go SDK; the request is signed the way the popular
// github.com/smartwalle/alipay does it: every parameter with a non-empty value, sorted by key,
// joined key=value&... with raw (not URL-encoded) values, RSA2 (SHA256withRSA, PKCS#1 v1.5) with
// the app private key, all parameters POSTed as a form; the answer's signed text is the raw JSON
// value under "<method>_response" (or "error_response"), verified with the Alipay public key.
//
// Configuration (environment; /login answers 404 login_not_configured while one is missing):
//
//	ALIPAY_GATEWAY          the gateway URL, e.g. https://openapi.alipay.com/gateway.do
//	ALIPAY_APP_ID           the app id
//	ALIPAY_APP_PRIVATE_KEY  the app private key (应用私钥): PEM (PKCS#8 "PRIVATE KEY" or PKCS#1
//	                        "RSA PRIVATE KEY") or one line of base64 PKCS#8/PKCS#1
//
// Request: {"authCode":"<my.getAuthCode authCode>","response":"<my.getPhoneNumber res.response>"}.
// Answers:
//
//	200 {"status":"ok","user_id":..,"open_id":..,"mobile":".."}  (an id the gateway did not send is null)
//	401 {"status":"rejected","error":"auth_code","code":..,"sub_code":..}  the gateway refused the code
//	401 {"status":"rejected","error":"gateway_signature"}  the gateway's answer did not verify
//	503 {"status":"retry_later","code":"20000"} + Retry-After: 1  the gateway was busy
//	502 {"status":"error","error":"gateway_unavailable"}  no usable answer (transport, HTTP status, shape)
//	400 {"status":"rejected","error":"bad_request"}  the login request itself is malformed
//	the envelope's own answer (400/422/503, see merchant.go) when the code was good but the envelope is not
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Gateway is what the login needs besides the envelope keys: where the gateway is, who we are.
type Gateway struct {
	URL    string
	AppID  string
	AppKey *rsa.PrivateKey
	Client *http.Client
}

// gatewayFromEnv reads ALIPAY_GATEWAY, ALIPAY_APP_ID and ALIPAY_APP_PRIVATE_KEY; nil when none is
// set, an error when the set is incomplete or the key does not parse.
func gatewayFromEnv() (*Gateway, error) {
	gw, id, key := os.Getenv("ALIPAY_GATEWAY"), os.Getenv("ALIPAY_APP_ID"), strings.TrimSpace(os.Getenv("ALIPAY_APP_PRIVATE_KEY"))
	if gw == "" && id == "" && key == "" {
		return nil, nil
	}
	if gw == "" || id == "" || key == "" {
		return nil, errors.New("the login needs ALIPAY_GATEWAY, ALIPAY_APP_ID and ALIPAY_APP_PRIVATE_KEY together")
	}
	if u, err := url.Parse(gw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ALIPAY_GATEWAY is not an http(s) URL: %q", gw)
	}
	priv, err := parsePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("ALIPAY_APP_PRIVATE_KEY is %v", err)
	}
	return &Gateway{URL: gw, AppID: id, AppKey: priv, Client: &http.Client{Timeout: 10 * time.Second}}, nil
}

// parsePrivateKey reads PEM or one line of base64, PKCS#8 or PKCS#1.
func parsePrivateKey(text string) (*rsa.PrivateKey, error) {
	der := []byte(nil)
	if strings.HasPrefix(text, "-----BEGIN") {
		block, _ := pem.Decode([]byte(text))
		if block == nil {
			return nil, errors.New("not PEM")
		}
		der = block.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(text); err != nil {
			return nil, errors.New("neither PEM nor base64")
		}
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("not an RSA key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#8 or PKCS#1 RSA private key")
}

// signContent is the v2 signing string: non-empty parameters sorted by key, raw values.
func signContent(params url.Values) string {
	pairs := make([]string, 0, len(params))
	for key := range params {
		if value := strings.TrimSpace(params.Get(key)); key != "sign" && value != "" {
			pairs = append(pairs, key+"="+value)
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// beijing is the gateway's time zone (UTC+8, no DST); the fixed zone needs no tzdata.
var beijing = time.FixedZone("CST", 8*3600)

// gatewayRefusal is a gateway answer that is not a success; Busy is 20000.
type gatewayRefusal struct{ Code, SubCode string }

func (e *gatewayRefusal) Error() string { return "gateway answered " + e.Code + " " + e.SubCode }

var (
	errGatewaySignature   = errors.New("the gateway's answer does not verify")
	errGatewayUnavailable = errors.New("no usable answer from the gateway")
)

// Call performs one v2 call and returns the verified raw object under "<method>_response".
func (m *Merchant) Call(method string, params map[string]string) (map[string]json.RawMessage, error) {
	g := m.Gateway
	values := url.Values{}
	for k, v := range params {
		values.Set(k, v)
	}
	values.Set("app_id", g.AppID)
	values.Set("method", method)
	values.Set("format", "JSON")
	values.Set("charset", "utf-8")
	values.Set("sign_type", "RSA2")
	values.Set("timestamp", time.Now().In(beijing).Format("2006-01-02 15:04:05"))
	values.Set("version", "1.0")
	digest := sha256.Sum256([]byte(signContent(values)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, g.AppKey, crypto.SHA256, digest[:])
	if err != nil {
		return nil, err
	}
	values.Set("sign", base64.StdEncoding.EncodeToString(sig))

	res, err := g.Client.Post(g.URL, "application/x-www-form-urlencoded;charset=utf-8", strings.NewReader(values.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errGatewayUnavailable, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", errGatewayUnavailable, res.StatusCode)
	}
	var answer map[string]json.RawMessage // the raw bytes of each member, exactly as signed
	if err := checkStrict(body); err != nil || json.Unmarshal(body, &answer) != nil || answer == nil {
		return nil, fmt.Errorf("%w: not one JSON object", errGatewayUnavailable)
	}
	key := strings.ReplaceAll(method, ".", "_") + "_response"
	object, isError := answer[key], false
	if object == nil {
		object, isError = answer["error_response"], true
	}
	if len(object) == 0 || object[0] != '{' {
		return nil, fmt.Errorf("%w: no %s object", errGatewayUnavailable, key)
	}
	sign, hasSign, err := stringField(answer, "sign")
	if err != nil {
		return nil, errGatewaySignature
	}
	verified := false
	if hasSign && sign != "" && m.PublicKey != nil {
		if sig, err := decodeBase64(sign); err == nil {
			d := sha256.Sum256(object)
			verified = rsa.VerifyPKCS1v15(m.PublicKey, crypto.SHA256, d[:], sig) == nil
		}
		if !verified {
			return nil, errGatewaySignature // a signature that is there must verify, error or not
		}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(object, &fields) != nil {
		return nil, fmt.Errorf("%w: the answer object does not parse", errGatewayUnavailable)
	}
	code, _, _ := stringField(fields, "code")
	if isError || (code != "" && code != "10000") {
		// An error can only refuse the login, so an unsigned one is reported too.
		subCode, _, _ := stringField(fields, "sub_code")
		return nil, &gatewayRefusal{Code: code, SubCode: subCode}
	}
	if !verified {
		return nil, errGatewaySignature // a success must be signed by Alipay
	}
	return fields, nil
}

// optionalString is a string member as a JSON value: "..." or null when absent or empty.
func optionalString(fields map[string]json.RawMessage, name string) interface{} {
	if v, has, err := stringField(fields, name); err == nil && has && v != "" {
		return v
	}
	return nil
}

// Login answers POST /login.
func (m *Merchant) Login(body []byte) (int, map[string]interface{}, string) {
	bad := map[string]interface{}{"status": "rejected", "error": "bad_request"}
	if m.Gateway == nil {
		return http.StatusNotFound, map[string]interface{}{"status": "rejected", "error": "login_not_configured"}, "no gateway configured"
	}
	var req struct {
		AuthCode *string `json:"authCode"`
		Response *string `json:"response"`
	}
	if !utf8.Valid(body) || checkStrict(body) != nil || json.Unmarshal(body, &req) != nil ||
		req.AuthCode == nil || *req.AuthCode == "" || req.Response == nil {
		return http.StatusBadRequest, bad, "malformed login request"
	}
	token, err := m.Call("alipay.system.oauth.token", map[string]string{"grant_type": "authorization_code", "code": *req.AuthCode})
	var refusal *gatewayRefusal
	switch {
	case errors.As(err, &refusal) && refusal.Code == "20000":
		return http.StatusServiceUnavailable, map[string]interface{}{"status": "retry_later", "code": "20000"}, err.Error()
	case errors.As(err, &refusal):
		return http.StatusUnauthorized, map[string]interface{}{"status": "rejected", "error": "auth_code", "code": refusal.Code, "sub_code": refusal.SubCode}, err.Error()
	case errors.Is(err, errGatewaySignature):
		return http.StatusUnauthorized, map[string]interface{}{"status": "rejected", "error": "gateway_signature"}, err.Error()
	case err != nil:
		return http.StatusBadGateway, map[string]interface{}{"status": "error", "error": "gateway_unavailable"}, err.Error()
	}
	userID, openID := optionalString(token, "user_id"), optionalString(token, "open_id")
	if userID == nil && openID == nil {
		return http.StatusBadGateway, map[string]interface{}{"status": "error", "error": "gateway_unavailable"}, "no user_id or open_id in the token answer"
	}
	phone, why := m.Open([]byte(*req.Response))
	if why != nil || phone.Status != http.StatusOK {
		out := map[string]interface{}{}
		for k, v := range phone.Body {
			out[k] = v
		}
		reason := "envelope: " + phone.Body["status"]
		if why != nil {
			reason = "envelope refused: " + why.Error()
		}
		return phone.Status, out, reason
	}
	return http.StatusOK, map[string]interface{}{"status": "ok", "user_id": userID, "open_id": openID, "mobile": phone.Body["mobile"]}, "logged in"
}
