package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tawasul/internal/tawasul"
	"tawasul/internal/twiliofake"
	"tawasul/internal/twiliorest"
)

// setupWithFakeTwilio starts a fake Twilio and a server that fetches
// attachments from it through the REST client.
func setupWithFakeTwilio(t *testing.T) (*twiliofake.Server, *testBundle) {
	t.Helper()
	account := twiliofake.NewSID("AC")
	fake := twiliofake.New(twiliofake.Options{AccountSID: account, AuthToken: testAuthToken})
	if _, err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	rest, err := twiliorest.New(twiliorest.Config{AccountSID: account, AuthToken: testAuthToken, BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return fake, setup(t, &setupOpts{twilio: rest})
}

// TestAttachments: a WhatsApp photo with no text is a submission whose
// attachments are kept (once, however often the webhook comes) and shown
// on its page; staff open them through Tawasul, which fetches them from
// Twilio with the account's credentials. A file that is not a picture,
// sound, video or PDF is downloaded, never shown as a page. The API lists
// them with Twilio's URL.
func TestAttachments(t *testing.T) {
	t.Parallel()
	fake, b := setupWithFakeTwilio(t)

	sid := twiliofake.NewSID("MM")
	photo := []byte("\xff\xd8\xff\xe0 a pothole on King Fahd Road")
	p := inbound("whatsapp:+966551234567", "")
	p.Set("MessageSid", sid)
	p.Set("NumMedia", "2")
	p.Set("MediaUrl0", fake.AddMedia(sid, "image/jpeg", photo))
	p.Set("MediaContentType0", "image/jpeg")
	p.Set("MediaUrl1", fake.AddMedia(sid, "text/html", []byte("<script>alert(1)</script>")))
	p.Set("MediaContentType1", "text/html")
	var ref string
	for range 2 { // a replay stores nothing more
		status, xml := b.webhook(t, "/twilio/sms", p)
		if ref = regexp.MustCompile(`QS-\d\d-\d{4}`).FindString(xml); status != 200 || ref == "" {
			t.Fatalf("photo message: %d %s", status, xml)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM message_media`); n != 2 {
		t.Fatalf("%d attachments stored, want 2", n)
	}

	agent := b.signedIn(t, tawasul.RoleAgent)
	_, page := b.get(t, agent, "/submissions/"+ref)
	links := regexp.MustCompile(`href="(/submissions/`+ref+`/media/\d+/\d)"[^>]*>المرفق (\d)<`).FindAllStringSubmatch(page, -1)
	if len(links) != 2 || links[0][2] != "1" || links[1][2] != "2" {
		t.Fatalf("attachment links on the page: %q", links)
	}
	res, body := b.get(t, agent, links[0][1])
	if res.StatusCode != 200 || body != string(photo) || res.Header.Get("Content-Type") != "image/jpeg" ||
		res.Header.Get("Content-Disposition") != "inline" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("the photo: %d %q %v", res.StatusCode, body, res.Header)
	}
	if res, body := b.get(t, agent, links[1][1]); res.StatusCode != 200 || res.Header.Get("Content-Disposition") != "attachment" ||
		res.Header.Get("Content-Type") != "application/octet-stream" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
		body != "<script>alert(1)</script>" {
		t.Errorf("the HTML file: %d %v, want it downloaded as it is", res.StatusCode, res.Header)
	}
	// Moderators review what residents send, so they see attachments too.
	if res, _ := b.get(t, b.signedIn(t, tawasul.RoleModerator), links[0][1]); res.StatusCode != 200 {
		t.Errorf("moderator: %d", res.StatusCode)
	}
	// Nothing else is reachable this way.
	other := b.smsSubmission(t, "+966559876543", "بلاغ آخر")
	for _, path := range []string{
		strings.TrimSuffix(links[0][1], "0") + "7",
		strings.TrimSuffix(links[0][1], "0") + "40000",            // no such attachment
		strings.Replace(links[0][1], ref, other, 1),               // another submission's
		"/submissions/" + ref + "/media/x/0",                      // not a message ID
		strings.Replace(links[0][1], "/media/", "/media/9999", 1), // another message
	} {
		if res, _ := b.get(t, agent, path); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, res.StatusCode)
		}
	}
	dept := b.signedIn(t, tawasul.RoleDepartment) // works for roads
	if res, _ := b.get(t, dept, links[0][1]); res.StatusCode != 404 {
		t.Errorf("a department user, for a submission not routed to them: %d, want 404", res.StatusCode)
	}
	b.route(t, ref, "roads")
	if res, body := b.get(t, dept, links[0][1]); res.StatusCode != 200 || body != string(photo) {
		t.Errorf("a department user, for their department's submission: %d", res.StatusCode)
	}

	// The API links them through Tawasul, for the same token.
	token, _ := b.apiToken(t, tawasul.RoleModerator)
	_, apiBody := b.apiGet(t, token, "/api/v1/submissions/"+ref)
	var one struct {
		Data struct {
			Timeline []struct {
				Message *struct {
					Media []struct {
						ContentType string  `json:"content_type"`
						URL         *string `json:"url"`
					} `json:"media"`
				} `json:"message"`
			} `json:"timeline"`
		} `json:"data"`
	}
	if err := json.Unmarshal(apiBody, &one); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, e := range one.Data.Timeline {
		if e.Message != nil {
			for _, m := range e.Message.Media {
				if m.URL != nil {
					urls = append(urls, m.ContentType+" "+*m.URL)
				}
			}
		}
	}
	if len(urls) != 2 || !strings.HasPrefix(urls[0], "image/jpeg "+testPublicURL+"/api/v1/submissions/"+ref+"/media/") ||
		!strings.HasPrefix(urls[1], "text/html ") || strings.Contains(string(apiBody), fake.URL()) || !strings.Contains(string(apiBody), `"media":[]`) {
		t.Fatalf("API media: %q in %s", urls, apiBody)
	}
	apiPath := strings.TrimPrefix(strings.Fields(urls[0])[1], testPublicURL)
	if res, body := b.apiGet(t, token, apiPath); res.StatusCode != 200 || string(body) != string(photo) ||
		res.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("the photo through the API: %d %q %v", res.StatusCode, body, res.Header)
	}
	if res, _ := b.apiGet(t, "", apiPath); res.StatusCode != 401 {
		t.Errorf("the photo through the API without a token: %d, want 401", res.StatusCode)
	}
}

// TestAttachmentTwilioUnreachable: when Twilio cannot give the file, staff
// get a page that says so (503), not a broken download.
func TestAttachmentTwilioUnreachable(t *testing.T) {
	t.Parallel()
	account := twiliofake.NewSID("AC")
	rest, err := twiliorest.New(twiliorest.Config{AccountSID: account, AuthToken: testAuthToken, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, &setupOpts{twilio: rest})
	sid := twiliofake.NewSID("MM")
	p := inbound("+966551234567", "صورة الحفرة")
	p.Set("MessageSid", sid)
	p.Set("NumMedia", "1")
	p.Set("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/"+account+"/Messages/"+sid+"/Media/"+twiliofake.NewSID("ME"))
	_, xml := b.webhook(t, "/twilio/sms", p)
	ref := regexp.MustCompile(`QS-\d\d-\d{4}`).FindString(xml)
	agent := b.signedIn(t, tawasul.RoleAgent)
	_, page := b.get(t, agent, "/submissions/"+ref)
	link := regexp.MustCompile(`/submissions/` + ref + `/media/\d+/0`).FindString(page)
	res, body := b.get(t, agent, link)
	if link == "" || res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "تعذر جلب المرفق") {
		t.Errorf("unreachable Twilio: %q %d %s", link, res.StatusCode, body)
	}
	// An error page, shown as one: not saved as the file, not sandboxed.
	if h := res.Header; !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Content-Disposition") != "" ||
		strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("the error page carries the file's headers: %v", h)
	}
}

// TestAttachmentUpstreamTrouble: a file Twilio sends cut short reaches the
// browser as a failed download, not as a whole-looking file; a content
// type that is not exactly one Tawasul shows in place is downloaded; HEAD
// answers without fetching anything.
func TestAttachmentUpstreamTrouble(t *testing.T) {
	t.Parallel()
	account, sid := twiliofake.NewSID("AC"), twiliofake.NewSID("MM")
	cut, mixed := "ME"+strings.Repeat("a", 32), "ME"+strings.Repeat("b", 32)
	var fetches atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, cut): // no length given: chunked, then the connection breaks
			_, _ = w.Write([]byte("only the first bytes"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case strings.HasSuffix(r.URL.Path, mixed):
			_, _ = w.Write([]byte("<h1>not a photo</h1>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(upstream.Close)
	rest, err := twiliorest.New(twiliorest.Config{AccountSID: account, AuthToken: testAuthToken, BaseURL: upstream.URL})
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, &setupOpts{twilio: rest})
	media := "https://api.twilio.com/2010-04-01/Accounts/" + account + "/Messages/" + sid + "/Media/"
	p := inbound("whatsapp:+966551234567", "")
	p.Set("MessageSid", sid)
	p.Set("NumMedia", "2")
	p.Set("MediaUrl0", media+cut)
	p.Set("MediaContentType0", "image/jpeg")
	p.Set("MediaUrl1", media+mixed)
	p.Set("MediaContentType1", "image/jpeg,text/html")
	_, xml := b.webhook(t, "/twilio/sms", p)
	ref := regexp.MustCompile(`QS-\d\d-\d{4}`).FindString(xml)
	agent := b.signedIn(t, tawasul.RoleAgent)
	_, page := b.get(t, agent, "/submissions/"+ref)
	link := regexp.MustCompile(`/submissions/` + ref + `/media/\d+/`).FindString(page)
	if link == "" {
		t.Fatalf("no attachment link on %s", page)
	}

	head, _ := http.NewRequest("HEAD", b.ts.URL+link+"0", nil)
	if res, err := agent.Do(head); err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("HEAD: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if n := fetches.Load(); n != 0 {
		t.Errorf("HEAD fetched the file from Twilio %d times", n)
	}

	res, err := agent.Get(b.ts.URL + link + "0")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Error("a file cut short upstream was passed on as if whole")
	}

	res2, body := b.get(t, agent, link+"1")
	if res2.StatusCode != 200 || res2.Header.Get("Content-Type") != "application/octet-stream" ||
		res2.Header.Get("Content-Disposition") != "attachment" || body != "<h1>not a photo</h1>" {
		t.Errorf("a mixed content type: %d %v", res2.StatusCode, res2.Header)
	}
}

// TestAttachmentOutlivesWriteTimeout: serve's WriteTimeout bounds pages,
// not attachment downloads, which move their own deadline as the file goes
// through. Here the timeout has passed before the handler starts, so any
// response that keeps it fails; the 4 MB file must arrive whole.
func TestAttachmentOutlivesWriteTimeout(t *testing.T) {
	t.Parallel()
	fake, b := setupWithFakeTwilio(t)
	video := make([]byte, 4<<20)
	for i := range video {
		video[i] = byte(i * 7)
	}
	sid := twiliofake.NewSID("MM")
	p := inbound("whatsapp:+966551234567", "فيديو التسرب")
	p.Set("MessageSid", sid)
	p.Set("NumMedia", "1")
	p.Set("MediaUrl0", fake.AddMedia(sid, "video/mp4", video))
	p.Set("MediaContentType0", "video/mp4")
	_, xml := b.webhook(t, "/twilio/sms", p)
	ref := regexp.MustCompile(`QS-\d\d-\d{4}`).FindString(xml)
	agent := b.signedIn(t, tawasul.RoleAgent)
	_, page := b.get(t, agent, "/submissions/"+ref)
	link := regexp.MustCompile(`href="(/submissions/` + ref + `/media/\d+/0)"`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("no attachment link on %s", ref)
	}

	strict := httptest.NewUnstartedServer(b.srv)
	strict.Config.WriteTimeout = time.Nanosecond
	strict.Start()
	t.Cleanup(strict.Close)
	res, err := agent.Get(strict.URL + link[1]) // same host, so the session cookie goes too
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if res.StatusCode != 200 || err != nil || !bytes.Equal(got, video) {
		t.Errorf("download under a passed WriteTimeout: %d, %d of %d bytes, %v", res.StatusCode, len(got), len(video), err)
	}
}
