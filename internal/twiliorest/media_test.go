package twiliorest_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

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
