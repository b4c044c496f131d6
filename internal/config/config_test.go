package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	cfg, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.PublicURL != "http://127.0.0.1:8080" || cfg.FollowupWindow != 10*time.Minute {
		t.Errorf("defaults: %+v", cfg)
	}
	if !cfg.Twilio.Simulated() || cfg.Secure() {
		t.Error("no Twilio account should mean simulator mode; http public URL should not be Secure")
	}
}

func TestValidationErrorsAreClear(t *testing.T) {
	_, err := Load([]string{"TAWASUL_ADDR=nope", "TAWASUL_LOG_FORMAT=xml", "TAWASUL_PUBLIC_URL=ftp://x",
		"TWILIO_ACCOUNT_SID=AC123", "TAWASUL_TRUSTED_PROXIES=10.0.0.0/8,bad"})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"TAWASUL_ADDR", "TAWASUL_LOG_FORMAT", "TAWASUL_PUBLIC_URL", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", `"bad"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	// Pages and redirects use root paths: a prefix would break them.
	if _, err := Load([]string{"TAWASUL_PUBLIC_URL=https://example.gov.sa/tawasul"}); err == nil || !strings.Contains(err.Error(), "no path") {
		t.Errorf("public URL with a path: %v", err)
	}
	if _, err := Load([]string{"TAWASUL_FOLLOWUP_WINDOW=soon"}); err == nil || !strings.Contains(err.Error(), "FollowupWindow") {
		t.Errorf("bad duration: %v", err)
	}
}

// TestTrustedProxiesWithSpaces: a list written with spaces after the
// commas (or a trailing comma) gives bare prefixes, which the client-IP
// middleware needs (it panics on " 172.16.0.0/12").
func TestTrustedProxiesWithSpaces(t *testing.T) {
	cfg, err := Load([]string{"TAWASUL_TRUSTED_PROXIES=10.0.0.0/8, 172.16.0.0/12 ,"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.0/8", "172.16.0.0/12"}; !slices.Equal(cfg.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q", cfg.TrustedProxies, want)
	}
}

func TestSecretFromFile(t *testing.T) {
	f := t.TempDir() + "/token"
	if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"TWILIO_ACCOUNT_SID=AC1", "TWILIO_AUTH_TOKEN_FILE=" + f, "TWILIO_FROM=+15005550006",
		"TAWASUL_PUBLIC_URL=https://tawasul.example.gov.sa/"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Twilio.AuthToken != "s3cret" || cfg.Twilio.Simulated() || !cfg.Secure() || cfg.PublicURL != "https://tawasul.example.gov.sa" {
		t.Errorf("got %+v", cfg.Twilio)
	}
}

// TestREADMEListsEveryVariable keeps the README's configuration table true
// to the code: a row for every variable, its default as the code has it,
// and no row for a variable the code does not read.
func TestREADMEListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // name → default cell
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\| ([^|]*) \\|").FindAllStringSubmatch(string(b), -1) {
		rows[m[1]] = m[2]
	}
	for _, v := range Variables() {
		if v.Description == "" {
			t.Errorf("%s has no desc tag", v.Name)
		}
		cell, ok := rows[v.Name]
		switch {
		case !ok:
			t.Errorf("README.md's configuration table has no row for `%s`", v.Name)
		case v.Default != "" && !strings.HasPrefix(cell, "`"+v.Default+"`"):
			t.Errorf("README.md gives `%s` the default %q; the code's is %q", v.Name, cell, v.Default)
		}
		delete(rows, v.Name)
	}
	for name := range rows {
		t.Errorf("README.md's configuration table lists `%s`, which the code does not read", name)
	}
}
