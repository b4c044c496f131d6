package server

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"tawasul/internal/sms"
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

// inlineMedia are the content types a browser may show in place; any
// other file (HTML, SVG, archives, a type Tawasul cannot read) is sent as
// application/octet-stream to download, so that a resident's file never
// shows as a page of Tawasul's.
var inlineMedia = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"audio/mpeg": true, "audio/ogg": true, "audio/mp4": true, "audio/aac": true, "audio/amr": true,
	"video/mp4": true, "video/3gpp": true, "application/pdf": true}

// maxMediaBytes bounds an attachment passed on to staff; WhatsApp and MMS
// files are at most 16 MB.
const maxMediaBytes = 32 << 20

// mediaWriteIdle is how long an attachment download may go without
// getting a part of the file through to the browser.
const mediaWriteIdle = 60 * time.Second

// movingDeadlineWriter moves the response's write deadline to
// mediaWriteIdle from now before each write, so that serve's WriteTimeout,
// which bounds whole pages, does not cut a large file on a slow link that
// keeps moving; a download that stalls still ends.
type movingDeadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d *movingDeadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(mediaWriteIdle)) // a writer without deadlines (a test recorder) just writes
	return d.w.Write(p)
}

// handleSubmissionMedia serves attachment n of a message on the submission
// to the staff who may open the submission: Tawasul fetches it from Twilio
// with the account's credentials (twiliorest.Client.Media) and passes it
// on. Photos, sound, video and PDF show in the browser; anything else
// downloads; the response is sandboxed either way. An unknown attachment,
// or one outside a department user's department, is 404; when Twilio
// cannot be reached, 503, as an error page of its own. A file cut short on
// the way is cut short for the browser too (the connection is aborted and
// logged), never passed on as if whole. HEAD answers the file's headers
// without fetching it.
func (s *Server) handleSubmissionMedia(w http.ResponseWriter, r *http.Request) {
	scope, err := submissionScope(userOf(r))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.serveMedia(w, r, scope)
}

// handleAPISubmissionMedia is handleSubmissionMedia for API tokens, whose
// roles read every submission.
func (s *Server) handleAPISubmissionMedia(w http.ResponseWriter, r *http.Request) {
	s.serveMedia(w, r, nil)
}

// serveMedia answers with attachment {n} of message {message} of submission
// {reference}, limited to department scope when it is not nil.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, scope *int64) {
	msgID, err1 := strconv.ParseInt(chi.URLParam(r, "message"), 10, 64)
	n, err2 := strconv.Atoi(chi.URLParam(r, "n"))
	if err1 != nil || err2 != nil || n < 0 || n >= sms.MaxMedia {
		s.notFound(w, r)
		return
	}
	ref := referenceParam(r)
	m, err := s.Store.SubmissionMedia(r.Context(), ref, scope, msgID, n)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ct, disposition := "application/octet-stream", "attachment"
	if mt, _, err := mime.ParseMediaType(m.ContentType); err == nil && inlineMedia[mt] {
		ct, disposition = mt, "inline"
	}
	unavailable := tawasul.Errorf(tawasul.EUNAVAILABLE, "submissions.media.unavailable", "the attachment could not be fetched from Twilio")
	if s.Twilio == nil {
		s.error(w, r, unavailable)
		return
	}
	// The file's headers, set only once there is a file to send (an error
	// page keeps its own).
	fileHeaders := func() {
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Content-Disposition", disposition)
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'")
		h.Set("Cache-Control", "private, no-store")
	}
	if r.Method == http.MethodHead {
		fileHeaders() // without fetching the file: a GET may still find Twilio unable to give it
		return
	}
	res, err := s.Twilio.Media(r.Context(), m.URL)
	if err != nil {
		s.Logger.Warn("attachment not fetched", "request_id", middleware.GetReqID(r.Context()), "message_id", msgID, "n", n, "error", err)
		s.error(w, r, unavailable)
		return
	}
	defer res.Body.Close()
	if res.ContentLength > maxMediaBytes {
		s.Logger.Warn("attachment too large", "request_id", middleware.GetReqID(r.Context()), "message_id", msgID, "n", n, "bytes", res.ContentLength)
		s.error(w, r, unavailable)
		return
	}
	fileHeaders()
	if res.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(res.ContentLength, 10))
	}
	out := &movingDeadlineWriter{w: w, rc: http.NewResponseController(w)}
	copied, err := io.Copy(out, io.LimitReader(res.Body, maxMediaBytes+1))
	if err != nil || copied > maxMediaBytes || (res.ContentLength >= 0 && copied != res.ContentLength) {
		s.Logger.Warn("attachment cut short", "request_id", middleware.GetReqID(r.Context()), "message_id", msgID, "n", n,
			"bytes", copied, "error", err)
		panic(http.ErrAbortHandler) // the browser sees a failed download, not a whole-looking part
	}
}
