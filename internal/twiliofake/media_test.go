package twiliofake

import (
	"io"
	"net/http"
	"testing"
)

// TestAddMedia: an attachment's URL answers the account's credentials as
// Twilio does, with a redirect to the file, and anyone else with 401.
func TestAddMedia(t *testing.T) {
	s, _ := newTestServer(t)
	u := s.AddMedia(NewSID("MM"), "image/png", []byte("\x89PNG"))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", res.StatusCode)
	}

	req, _ := http.NewRequest("GET", u, nil)
	req.SetBasicAuth(testAccountSID, testAuthToken)
	res, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") == "" {
		t.Fatalf("with credentials: %d %q, want 307 to the file", res.StatusCode, res.Header.Get("Location"))
	}
	file := s.URL() + res.Header.Get("Location")
	res, err = http.Get(file)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(body) != "\x89PNG" || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("the file: %d %q %q", res.StatusCode, body, res.Header.Get("Content-Type"))
	}
	// Credentials sent on to the file are refused, as by Twilio's storage.
	req, _ = http.NewRequest("GET", file, nil)
	req.SetBasicAuth(testAccountSID, testAuthToken)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("the file with credentials: %v %v, want 400", res, err)
	} else {
		res.Body.Close()
	}
}
