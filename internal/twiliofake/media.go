package twiliofake

import (
	"net/http"
	"strings"
)

// mediaFile is an attachment the fake serves.
type mediaFile struct {
	contentType string
	data        []byte
}

// mediaFilesPath is where the fake redirects a media request to, as Twilio
// redirects to its file storage: outside the REST API and without
// credentials.
const mediaFilesPath = "/media-files/"

// AddMedia stores data as an attachment of inbound message messageSID (an
// "MM…" SID) and returns its MediaUrl, to put in an inbound webhook as
// MediaUrl{N}. The fake serves it like Twilio: GET on the URL with the
// account's credentials answers 307 with the file's location, which answers
// the file with contentType to a request without credentials. Start must
// have been called.
func (s *Server) AddMedia(messageSID, contentType string, data []byte) string {
	sid := NewSID("ME")
	s.mu.Lock()
	if s.media == nil {
		s.media = map[string]mediaFile{}
	}
	s.media[sid] = mediaFile{contentType: contentType, data: append([]byte(nil), data...)}
	s.mu.Unlock()
	return s.URL() + "/" + APIVersion + "/Accounts/" + s.accountSID + "/Messages/" + messageSID + "/Media/" + sid
}

// redirectMedia answers the REST API's GET of attachment sid.
func (s *Server) redirectMedia(w http.ResponseWriter, r *http.Request, sid, apiPath string) {
	if r.Method != http.MethodGet {
		writeMethodNotAllowed(w, "GET")
		return
	}
	s.mu.Lock()
	_, ok := s.media[sid]
	s.mu.Unlock()
	if !ok {
		s.writeNotFound(w, apiPath)
		return
	}
	http.Redirect(w, r, mediaFilesPath+sid, http.StatusTemporaryRedirect)
}

// serveMediaFile serves a file a media request was redirected to. Like the
// storage Twilio redirects to, it refuses a request that carries
// credentials (400): a client must not send the account's on.
func (s *Server) serveMediaFile(w http.ResponseWriter, r *http.Request) {
	sid := strings.TrimPrefix(r.URL.Path, mediaFilesPath)
	s.mu.Lock()
	f, ok := s.media[sid]
	s.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "credentials sent to the file storage", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	_, _ = w.Write(f.data)
}
