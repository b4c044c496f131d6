package twiliorest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"tawasul/internal/twiliofake"
	"tawasul/internal/twiliorest"
)

// TestMedia: an attachment's URL, as a webhook gave it, is fetched from
// the client's base URL with the account's credentials, following
// Twilio's redirect to the file. A URL of another account, or anything
// but a message's media, fetches nothing; its host is never used.
func TestMedia(t *testing.T) {
	account, token := twiliofake.NewSID("AC"), twiliofake.NewAuthToken()
	fake := twiliofake.New(twiliofake.Options{AccountSID: account, AuthToken: token})
	base, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	c, err := twiliorest.New(twiliorest.Config{AccountSID: account, AuthToken: token, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	photo := fake.AddMedia(twiliofake.NewSID("MM"), "image/jpeg", []byte("\xff\xd8 a pothole"))

	fetch := func(u string) (string, string, error) {
		t.Helper()
		res, err := c.Media(ctx, u)
		if err != nil {
			return "", "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return string(b), res.Header.Get("Content-Type"), err
	}
	if body, ct, err := fetch(photo); err != nil || body != "\xff\xd8 a pothole" || ct != "image/jpeg" {
		t.Fatalf("the attachment: %q %q %v", body, ct, err)
	}
	// The host in the URL is ignored: the request goes to the base URL.
	elsewhere, _ := url.Parse(photo)
	elsewhere.Scheme, elsewhere.Host = "https", "attacker.example"
	if body, _, err := fetch(elsewhere.String()); err != nil || body != "\xff\xd8 a pothole" {
		t.Errorf("a URL naming another host: %q %v, want the file from the base URL", body, err)
	}
	other := strings.Replace(photo, account, twiliofake.NewSID("AC"), 1)
	for _, u := range []string{other, base + "/2010-04-01/Accounts/" + account + "/Messages.json", "http://[::1", ""} {
		if _, _, err := fetch(u); !errors.Is(err, twiliorest.ErrNotMedia) {
			t.Errorf("%q: %v, want ErrNotMedia", u, err)
		}
	}
	missing := photo[:len(photo)-32] + strings.Repeat("0", 32)
	if _, _, err := fetch(missing); err == nil || errors.Is(err, twiliorest.ErrNotMedia) {
		t.Errorf("an attachment the fake does not have: %v, want a fetch error", err)
	}
}

// TestMediaLimits: Media follows at most two redirects, never to plain
// http elsewhere; it gives up on a server that sends no headers in time and
// on a body that stops, but lets a slow body that keeps coming finish.
func TestMediaLimits(t *testing.T) {
	account, token := twiliofake.NewSID("AC"), twiliofake.NewAuthToken()
	me := func(c byte) string { return "/Media/ME" + strings.Repeat(string(c), 32) }
	release := make(chan struct{}) // lets the handlers that hang return
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, me('a')): // four redirects in a row
			http.Redirect(w, r, "/hop?n=1", http.StatusFound)
		case r.URL.Path == "/hop":
			http.Redirect(w, r, "/hop", http.StatusFound)
		case strings.HasSuffix(r.URL.Path, me('b')): // to plain http on another host
			http.Redirect(w, r, "http://example.invalid/file", http.StatusFound)
		case strings.HasSuffix(r.URL.Path, me('c')): // no headers in time
			<-release
		case strings.HasSuffix(r.URL.Path, me('d')): // slow but steady
			for range 12 {
				_, _ = w.Write([]byte("0123456789"))
				w.(http.Flusher).Flush()
				time.Sleep(30 * time.Millisecond)
			}
		case strings.HasSuffix(r.URL.Path, me('f')): // all at once, for a slow reader
			_, _ = w.Write([]byte(strings.Repeat("0123456789", 4000)))
		case strings.HasSuffix(r.URL.Path, me('e')): // starts, then stalls
			_, _ = w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			<-release
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for the handlers
	c, err := twiliorest.New(twiliorest.Config{AccountSID: account, AuthToken: token, BaseURL: srv.URL, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	media := func(c byte) string {
		return "https://api.twilio.com/2010-04-01/Accounts/" + account + "/Messages/MM" + strings.Repeat("0", 32) + me(c)
	}
	if _, err := c.Media(ctx, media('a')); !errors.Is(err, twiliorest.ErrMediaRedirect) {
		t.Errorf("redirect after redirect: %v, want ErrMediaRedirect", err)
	}
	if _, err := c.Media(ctx, media('b')); !errors.Is(err, twiliorest.ErrMediaRedirect) {
		t.Errorf("redirect to http elsewhere: %v, want ErrMediaRedirect", err)
	}
	if _, err := c.Media(ctx, media('c')); !errors.Is(err, twiliorest.ErrMediaTimeout) {
		t.Errorf("no headers: %v, want ErrMediaTimeout", err)
	}
	res, err := c.Media(ctx, media('d'))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || len(body) != 120 {
		t.Errorf("a slow body (longer in all than the timeout): %d bytes, %v", len(body), err)
	}
	// A reader slower than the timeout (a browser on a slow link) is not
	// Twilio stalling.
	res, err = c.Media(ctx, media('f'))
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 10)
	if _, err := io.ReadFull(res.Body, first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the reader is busy for longer than the 300 ms timeout
	rest, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || len(rest) != 40000-10 {
		t.Errorf("a slow reader: %d more bytes, %v", len(rest), err)
	}
	res, err = c.Media(ctx, media('e'))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil {
		t.Error("a stalled body read to the end without an error")
	}
}
