package server

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"tawasul/internal/tawasul"
)

// MediaLink is an attachment of a message as the submission page links it.
type MediaLink struct {
	URL         string // /submissions/{reference}/media/{message}/{n}
	Label       string // "Attachment 1", translated
	ContentType string
}

// mediaLinks are the links to m's attachments on submission ref's page.
func (s *Server) mediaLinks(r *http.Request, ref string, m *tawasul.Message) []MediaLink {
	var links []MediaLink
	for i, a := range m.Media {
		links = append(links, MediaLink{
			URL:         "/submissions/" + ref + "/media/" + strconv.FormatInt(m.ID, 10) + "/" + strconv.Itoa(i),
			Label:       s.langOf(r).T("submissions.view.attachment", "N", i+1),
			ContentType: a.ContentType,
		})
	}
	return links
}

// inlineMedia are the content types a browser may show in place; anything
// else (HTML, SVG, archives…) is downloaded, so that a resident's file never
// runs as a page of Tawasul's.
var inlineMedia = []string{"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "audio/", "video/", "application/pdf"}

// handleSubmissionMedia serves attachment n of a message on the submission
// to the staff who may open the submission: Tawasul fetches it from Twilio
// with the account's credentials (twiliorest.Client.Media) and passes it
// on, with the content type Twilio gave when the message came in. Photos,
// audio, video and PDF show in the browser; anything else downloads, and
// the response is sandboxed either way. An unknown attachment, or one
// outside a department user's department, is 404; when Twilio cannot be
// reached, 503.
func (s *Server) handleSubmissionMedia(w http.ResponseWriter, r *http.Request) {
	d, err := s.submissionOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	msgID, err1 := strconv.ParseInt(chi.URLParam(r, "message"), 10, 64)
	n, err2 := strconv.Atoi(chi.URLParam(r, "n"))
	if err1 != nil || err2 != nil {
		s.notFound(w, r)
		return
	}
	m, err := s.Store.SubmissionMedia(r.Context(), d.ID, msgID, n)
	if err != nil {
		s.error(w, r, err)
		return
	}
	unavailable := tawasul.Errorf(tawasul.EUNAVAILABLE, "submissions.media.unavailable", "the attachment could not be fetched from Twilio")
	if s.Twilio == nil {
		s.error(w, r, unavailable)
		return
	}
	res, err := s.Twilio.Media(r.Context(), m.URL)
	if err != nil {
		s.Logger.Warn("attachment not fetched", "request_id", middleware.GetReqID(r.Context()), "message_id", msgID, "n", n, "error", err)
		s.error(w, r, unavailable)
		return
	}
	defer res.Body.Close()
	ct := m.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	disposition := "attachment"
	for _, p := range inlineMedia {
		if strings.HasPrefix(strings.ToLower(ct), p) {
			disposition = "inline"
		}
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", disposition)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'")
	if res.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(res.ContentLength, 10))
	}
	_, _ = io.Copy(w, res.Body)
}
