package twiliofake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"
)

// Twilio's published example (docs "Webhooks security") and the vector of
// twilio-java's RequestValidatorTest.
func TestSignPublishedVectors(t *testing.T) {
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	tests := []struct {
		caller string
		want   string
	}{
		{"+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
		{"+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
	}
	for _, tt := range tests {
		params := url.Values{
			"CallSid": {"CA1234567890ABCDE"},
			"Caller":  {tt.caller},
			"Digits":  {"1234"},
			"From":    {tt.caller},
			"To":      {"+18005551212"},
		}
		if got := Sign("12345", u, params); got != tt.want {
			t.Errorf("Sign(caller %s) = %q, want %q", tt.caller, got, tt.want)
		}
	}
}

// Sign must agree with twilio-go's RequestValidator, which is what the
// application uses in production, for arbitrary single-valued params.
func TestSignAcceptedByTwilioGoValidator(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcXYZ019 +-_=&?%#/:.'\"مرحباً٤€{}~\n")
	randString := func(max int) string {
		n := rng.IntN(max + 1)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	urls := []string{
		"https://ecall.example.gov.sa/twilio/sms",
		"https://ecall.example.gov.sa/twilio/sms/status?tenant=riyadh&x=a+b",
		"http://127.0.0.1:8080/twilio/voice",
		"https://example.com:443/hook",
	}
	for i := range 60 {
		fullURL := urls[i%len(urls)]
		params := url.Values{}
		flat := map[string]string{}
		for range rng.IntN(12) {
			k := "K" + randString(6)
			v := randString(20)
			params.Set(k, v)
			flat[k] = v
		}
		sig := Sign(testAuthToken, fullURL, params)
		v := client.NewRequestValidator(testAuthToken)
		if !v.Validate(fullURL, flat, sig) {
			t.Fatalf("case %d: twilio-go Validate rejected Sign(%q, %v) = %q", i, fullURL, params, sig)
		}
		if !v.ValidateBody(fullURL, []byte(params.Encode()), sig) {
			t.Fatalf("case %d: twilio-go ValidateBody rejected the encoded form", i)
		}
		// A different token or a changed value must not validate.
		other := client.NewRequestValidator(testAuthToken + "x")
		if other.Validate(fullURL, flat, sig) {
			t.Fatalf("case %d: signature validated with the wrong token", i)
		}
		if len(flat) > 0 {
			for k := range flat {
				flat[k] += "!"
				break
			}
			if v.Validate(fullURL, flat, sig) {
				t.Fatalf("case %d: signature validated after a value changed", i)
			}
		}
	}
}

// Repeated keys: every value is appended, values in sorted order, so the
// order in which the form lists them does not matter (twilio-python and
// twilio-node behave the same way).
func TestSignRepeatedKeys(t *testing.T) {
	const u = "https://example.com/hook"
	got := Sign("tok", u, url.Values{"MediaUrl": {"b", "a"}, "Body": {"x"}})
	mac := hmac.New(sha1.New, []byte("tok"))
	fmt.Fprint(mac, u+"Bodyx"+"MediaUrla"+"MediaUrlb")
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got != want {
		t.Fatalf("Sign with repeated key = %q, want %q", got, want)
	}
	if again := Sign("tok", u, url.Values{"MediaUrl": {"a", "b"}, "Body": {"x"}}); again != got {
		t.Fatalf("value order changed the signature: %q vs %q", again, got)
	}
}

func TestNewSID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		sid := NewSID("SM")
		if !isSID(sid, "SM") || sid[2:] != strings.ToLower(sid[2:]) {
			t.Fatalf("NewSID = %q, want SM + 32 lowercase hex", sid)
		}
		if seen[sid] {
			t.Fatalf("NewSID repeated %q", sid)
		}
		seen[sid] = true
	}
	if tok := NewAuthToken(); !alphanumeric.MatchString(tok) || len(tok) != 32 {
		t.Fatalf("NewAuthToken = %q", tok)
	}
	if isSID("SM0123", "SM") || isSID("XX0123456789abcdef0123456789abcdef", "SM") || isSID("SM0123456789abcdef0123456789abcdeg", "SM") {
		t.Fatal("isSID accepted a malformed SID")
	}
}
