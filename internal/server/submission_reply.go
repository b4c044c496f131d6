package server

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5"

	"tawasul/internal/auth"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
	"tawasul/jobs"
)

// submissionRepliers may write to the resident from a submission's page.
// Moderators may not: they never see who the resident is.
var submissionRepliers = []tawasul.Role{tawasul.RoleAdmin, tawasul.RoleSupervisor, tawasul.RoleAgent, tawasul.RoleDepartment}

// replyKey is the one-time key each reply form carries (NewReplyKey), so
// submitting the same form twice sends one message.
var replyKey = regexp.MustCompile(`^[A-Za-z0-9]{16,64}$`)

// newReplyKey returns a fresh key for a reply form.
func newReplyKey() string { return rand.Text() }

// maxReplyRunes is the longest message Twilio accepts.
const maxReplyRunes = 1600

// sessionFlashKey holds a catalog key to show once on the next page.
const sessionFlashKey = "flash_key"

// handleSubmissionReply queues a message from staff to the submission's
// resident, on the channel the submission came by (SMS for calls and web):
// the message row, its send_message job and the timeline event commit
// together (once per form: the form's one-time key makes a second submit a
// no-op), then the page shows it as "waiting to be sent" until the
// worker sends it. A message that cannot be sent (empty, too long, or to a
// resident who opted out or whose number cannot receive messages) is
// refused with the submission's page again, the reason above the form and
// the text kept in it: 400, or 409 for the resident.
func (s *Server) handleSubmissionReply(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	d, err := s.submissionOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	u := userOf(r)
	body := strings.TrimSpace(r.PostForm.Get("body"))
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		s.replyRefused(w, r, d, body, tawasul.Errorf(tawasul.EINVALID, "submissions.reply.empty", "the message is empty"))
		return
	case n > maxReplyRunes:
		s.replyRefused(w, r, d, body, tawasul.Errorf(tawasul.EINVALID, "submissions.reply.too_long", "the message is longer than 1,600 characters"))
		return
	}
	if d.ContactID == nil {
		s.error(w, r, tawasul.Errorf(tawasul.ECONFLICT, "submissions.reply.no_contact", "this submission has no contact to write to"))
		return
	}
	ch := d.Channel
	if ch != tawasul.ChannelWhatsApp {
		ch = tawasul.ChannelSMS
	}
	key := r.PostForm.Get("key")
	if !replyKey.MatchString(key) {
		s.error(w, r, tawasul.Errorf(tawasul.EINVALID, "error.bad_request", "the form's key is missing or malformed"))
		return
	}
	m := &tawasul.Message{ContactID: *d.ContactID, SubmissionID: &d.ID, Channel: ch, Body: body, Purpose: "staff_reply",
		IdempotencyKey: "reply:" + key}
	err = pgx.BeginFunc(r.Context(), s.Pool, func(tx pgx.Tx) error {
		if err := jobs.QueueMessage(r.Context(), tx, s.River, m); err != nil {
			return err
		}
		st := postgres.New(tx)
		if err := st.SubmissionEventInsert(r.Context(), d.ID, "message_out", &m.ID, map[string]any{"by": u.ID}); err != nil {
			return err
		}
		return st.AuditInsert(r.Context(), postgres.AuditEntry{UserID: &u.ID, Actor: auth.ActorUser(u.ID), Action: "submission.message_queued",
			Subject: d.Reference, IP: middleware.GetClientIP(r.Context())})
	})
	switch {
	case err == nil, errors.Is(err, postgres.ErrDuplicateKey): // a second click: queued once already
	case tawasul.ErrorCode(err) == tawasul.ECONFLICT:
		s.replyRefused(w, r, d, body, err)
		return
	default:
		s.error(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessionFlashKey, "submissions.reply.queued")
	http.Redirect(w, r, "/submissions/"+url.PathEscape(d.Reference), http.StatusSeeOther)
}

// replyRefused shows d's page again with why the reply (body) was not
// sent above the form, and body in it, with err's status.
func (s *Server) replyRefused(w http.ResponseWriter, r *http.Request, d *tawasul.SubmissionDetail, body string, err error) {
	p := s.submissionPage(r, d)
	p.ReplyBody, p.ReplyError = body, s.langOf(r).T(tawasul.ErrorKey(err))
	s.page(w, r, statusOf[tawasul.ErrorCode(err)], "submission", p)
}
