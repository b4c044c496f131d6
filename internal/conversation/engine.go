// Package conversation is the SMS/WhatsApp conversation engine: it turns
// each inbound message into a stored message and, depending on the contact's
// state, an opt-out or opt-in, a help reply, new detail on a recent
// submission, or a new submission — all in one transaction — and returns the
// reply to give in the webhook's TwiML answer.
package conversation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/sms"
	"tawasul/internal/tawasul"
)

// Engine handles inbound messages.
type Engine struct {
	Pool            *pgxpool.Pool
	Catalog         *i18n.Catalog
	FollowupWindow  time.Duration // messages within it add to a still-new submission
	ReferencePrefix string        // "QS"
	CallCentre      string        // number given in help replies
	PublicURL       string        // base of the web links in prompts
	PromptTTL       time.Duration // how long a prompt waits for its answer
	// River enqueues outbound messages (prompts); may be insert-only.
	River *river.Client[pgx.Tx]
	// Kinds are the prompt kinds by name; nil means DefaultKinds().
	Kinds map[string]PromptKind
	Now   func() time.Time
	// Logger receives what the filers cannot tell a webhook: a batch that
	// failed (its messages are then filed one by one) and panics, with
	// their stacks. nil means slog.Default().
	Logger *slog.Logger

	batch batcher
}

// Result is what handling a message decided.
type Result struct {
	Reply     string // text for the TwiML <Message>; "" = answer with an empty <Response/>
	Reference string // the submission the message went to, if any
	Duplicate bool   // the MessageSid was seen before: nothing changed
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// HandleInbound stores in (with its attachments) and acts on it in one
// transaction. Delivered again (same MessageSid, even concurrently) it
// changes nothing and returns the same reply. Errors mean nothing was
// stored.
//
// Every message goes to the filers (batch.go), which keep each resident's
// messages in the order they arrived. One with no keyword is filed with the
// others that arrive at the same time, in one transaction; a keyword is
// handled on its own.
func (e *Engine) HandleInbound(ctx context.Context, in *sms.Inbound) (*Result, error) {
	// The language of what residents write becomes their preference; a
	// keyword (STOP, HELP…, standard in Latin letters) does not change it,
	// but its script is a new resident's language.
	keyword := sms.ClassifyKeyword(in.Body, in.OptOutType)
	lang := sms.DetectLanguage(in.Body, "")
	if keyword != sms.NoKeyword {
		lang = sms.ScriptLanguage(in.Body, "")
	}
	res, err := e.fileQueued(ctx, in, lang, keyword)
	if err != nil {
		return nil, fmt.Errorf("conversation: %w", err)
	}
	return res, nil
}

// handleAlone handles in, and stores its attachments, in a transaction of
// its own.
func (e *Engine) handleAlone(ctx context.Context, in *sms.Inbound, lang string, keyword sms.Keyword) (*Result, error) {
	var res *Result
	err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		st := postgres.New(tx)
		var err error
		if res, err = e.handle(ctx, st, in, lang, keyword); err != nil || res.Duplicate {
			return err
		}
		return st.InboundMediaStore(ctx, in.MessageSID, in.Media)
	})
	return res, err
}

// handle acts on in, in the language lang detected from its text ("" when
// it tells nothing), with the keyword it holds, if any.
func (e *Engine) handle(ctx context.Context, st *postgres.Store, in *sms.Inbound, lang string, keyword sms.Keyword) (*Result, error) {
	t, err := st.InboundTake(ctx, in.From, orDefault(lang, i18n.Arabic), lang != "" && keyword == sms.NoKeyword, in.MessageSID)
	if err != nil {
		return nil, err
	}
	if t.Duplicate {
		return &Result{Reply: t.StoredReply, Duplicate: true}, nil
	}
	contact := &tawasul.Contact{ID: t.ContactID, Phone: in.From, Language: t.ContactLanguage, OptedOutAt: t.OptedOutAt}
	if keyword != sms.NoKeyword {
		msgID, err := st.InboundStore(ctx, t.ContactID, in.Channel, in.MessageSID, in.Body)
		if err != nil {
			return nil, err
		}
		return e.keyword(ctx, st, msgID, contact, keyword, in.Channel)
	}
	if t.OpenPrompt {
		// An open question gets first look at the reply.
		pr, err := e.answerPrompt(ctx, st, contact, in.Body, in.Channel)
		if err != nil {
			return nil, err
		}
		if pr.handled {
			msgID, err := st.InboundStore(ctx, t.ContactID, in.Channel, in.MessageSID, in.Body)
			if err != nil {
				return nil, err
			}
			if pr.subID != nil {
				if err := st.SubmissionEventInsert(ctx, *pr.subID, "message_in", &msgID, nil); err != nil {
					return nil, err
				}
			}
			reply := pr.reply
			if contact.OptedOut() {
				reply = ""
			}
			return &Result{Reply: reply}, st.InboundReply(ctx, msgID, t.ContactID, pr.subID, in.Channel, reply, "prompt_reply")
		}
	}
	// The common path, for a message the batch did not take: stored as
	// detail on the contact's open submission, or as a new one with a
	// reference, in one statement.
	r := e.commonReplies()[e.Catalog.Lang(contact.Language).Code]
	replyNew, replyDetail := r.New, r.Detail
	if contact.OptedOut() {
		replyNew, replyDetail = "", "" // stored and followed up, but nothing is sent to an opted-out contact
	}
	now := e.now()
	f, err := st.InboundFile(ctx, postgres.InboundFiling{ContactID: t.ContactID, SID: in.MessageSID,
		Channel: in.Channel, Body: in.Body, Kind: sms.ClassifyKind(in.Body), Language: orDefault(lang, contact.Language),
		FollowupSince: now.Add(-e.FollowupWindow), ReferencePrefix: e.ReferencePrefix, Year: now.In(i18n.Riyadh).Year(),
		ReplyNew: replyNew, ReplyDetail: replyDetail})
	if err != nil {
		return nil, err
	}
	return &Result{Reply: f.Reply, Reference: f.Reference}, nil
}

// keyword acts on an opt-out, opt-in or help keyword, answering in the
// contact's language. A keyword does not change that language: an
// Arabic-speaking resident who sends the Latin STOP that carriers advertise
// is answered in Arabic. A new contact's language is the keyword's own.
func (e *Engine) keyword(ctx context.Context, st *postgres.Store, msgID int64, contact *tawasul.Contact,
	kw sms.Keyword, ch tawasul.Channel) (*Result, error) {
	l := e.Catalog.Lang(contact.Language)
	res := &Result{}
	purpose := ""
	switch kw {
	case sms.OptOut:
		if !contact.OptedOut() { // the single confirmation; nothing after it
			if err := st.ContactOptOut(ctx, contact.ID, &msgID); err != nil {
				return nil, err
			}
			if err := st.PromptCloseOpen(ctx, contact.ID, "opted_out"); err != nil {
				return nil, err
			}
			res.Reply, purpose = l.T("sms.opted_out"), "opt_out"
		}
	case sms.OptIn:
		if err := st.ContactOptIn(ctx, contact.ID); err != nil {
			return nil, err
		}
		res.Reply, purpose = l.T("sms.opted_in"), "opt_in"
	case sms.Help:
		if !contact.OptedOut() {
			res.Reply, purpose = l.T("sms.help", "Phone", e.CallCentre), "help"
		}
	}
	return res, st.InboundReply(ctx, msgID, contact.ID, nil, ch, res.Reply, purpose)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
