// Package conversation is the SMS/WhatsApp conversation engine: it turns
// each inbound message into a stored message and, depending on the contact's
// state, an opt-out or opt-in, a help reply, new detail on a recent
// submission, or a new submission — all in one transaction — and returns the
// reply to give in the webhook's TwiML answer.
package conversation

import (
	"context"
	"fmt"
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
}

// Result is what handling a message decided.
type Result struct {
	Reply     string // text for the TwiML <Message>; "" = answer with an empty <Response/>
	Reference string // the submission the message went to, if any
	Duplicate bool   // the MessageSid was seen before: nothing changed
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// HandleInbound stores in and acts on it in one transaction. Delivered again
// (same MessageSid, even concurrently) it changes nothing and returns the
// same reply. Errors mean nothing was stored.
func (e *Engine) HandleInbound(ctx context.Context, in *sms.Inbound) (*Result, error) {
	var res *Result
	err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		var err error
		res, err = e.handle(ctx, postgres.New(tx), in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("conversation: %w", err)
	}
	return res, nil
}

func (e *Engine) handle(ctx context.Context, st *postgres.Store, in *sms.Inbound) (*Result, error) {
	// The language of what residents write becomes their preference; a
	// keyword (STOP, HELP…, standard in Latin letters) does not change it.
	lang := sms.DetectLanguage(in.Body, "")
	keyword := sms.ClassifyKeyword(in.Body, in.OptOutType)
	contact, err := st.ContactTouch(ctx, in.From, orDefault(lang, i18n.Arabic), lang != "" && keyword == sms.NoKeyword)
	if err != nil {
		return nil, err
	}
	msgID, dup, reply, err := st.MessageInsertInbound(ctx, contact.ID, in.Channel, in.MessageSID, in.Body)
	if err != nil {
		return nil, err
	}
	if dup {
		return &Result{Reply: reply, Duplicate: true}, nil
	}
	// Replies are in the contact's language; a keyword is answered in its
	// own (STOP → English, إيقاف → Arabic) without changing the preference.
	l := e.Catalog.Lang(contact.Language)
	if keyword != sms.NoKeyword && lang != "" {
		l = e.Catalog.Lang(lang)
	}
	res := &Result{}
	var subID *int64
	purpose := ""

	switch keyword {
	case sms.OptOut:
		if !contact.OptedOut() { // the single confirmation; nothing after it
			now := e.now()
			if err := st.ContactSetOptedOut(ctx, contact.ID, &now); err != nil {
				return nil, err
			}
			if err := st.PromptCloseOpen(ctx, contact.ID, "opted_out"); err != nil {
				return nil, err
			}
			res.Reply, purpose = l.T("sms.opted_out"), "opt_out"
		}
	case sms.OptIn:
		if err := st.ContactSetOptedOut(ctx, contact.ID, nil); err != nil {
			return nil, err
		}
		res.Reply, purpose = l.T("sms.opted_in"), "opt_in"
	case sms.Help:
		if !contact.OptedOut() {
			res.Reply, purpose = l.T("sms.help", "Phone", e.CallCentre), "help"
		}
	default:
		// An open question gets first look at the reply.
		pr, err := e.answerPrompt(ctx, st, contact, in.Body, in.Channel)
		if err != nil {
			return nil, err
		}
		if pr.handled {
			subID = pr.subID
			if subID != nil {
				if err := st.SubmissionEventInsert(ctx, *subID, "message_in", &msgID, nil); err != nil {
					return nil, err
				}
			}
			res.Reply, purpose = pr.reply, "prompt_reply"
			if contact.OptedOut() {
				res.Reply = ""
			}
			break
		}
		sub, err := st.SubmissionOpenFollowup(ctx, contact.ID, e.now().Add(-e.FollowupWindow))
		switch {
		case err == nil:
			if err := st.SubmissionAddDetail(ctx, sub.ID, msgID, in.Body); err != nil {
				return nil, err
			}
			res.Reply, purpose = l.T("sms.detail_added", "Ref", sub.Reference), "detail_ack"
		case tawasul.ErrorCode(err) == tawasul.ENOTFOUND:
			if sub, err = e.newSubmission(ctx, st, contact, in, orDefault(lang, contact.Language)); err != nil {
				return nil, err
			}
			if err := st.SubmissionEventInsert(ctx, sub.ID, "message_in", &msgID, nil); err != nil {
				return nil, err
			}
			res.Reply, purpose = l.T("sms.received", "Ref", sub.Reference), "ack"
		default:
			return nil, err
		}
		subID, res.Reference = &sub.ID, sub.Reference
		if contact.OptedOut() {
			res.Reply = "" // stored and followed up, but nothing is sent to an opted-out contact
		}
	}
	if err := st.MessageSetOutcome(ctx, msgID, subID, res.Reply); err != nil {
		return nil, err
	}
	if res.Reply != "" {
		replyID, err := st.MessageInsertReply(ctx, contact.ID, subID, in.Channel, res.Reply, purpose)
		if err != nil {
			return nil, err
		}
		if subID != nil {
			if err := st.SubmissionEventInsert(ctx, *subID, "message_out", &replyID, nil); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func (e *Engine) newSubmission(ctx context.Context, st *postgres.Store, c *tawasul.Contact, in *sms.Inbound, lang string) (*tawasul.Submission, error) {
	year := e.now().In(i18n.Riyadh).Year()
	seq, err := st.ReferenceNext(ctx, year)
	if err != nil {
		return nil, err
	}
	sub := &tawasul.Submission{
		Reference: tawasul.FormatReference(e.ReferencePrefix, year, seq),
		ContactID: &c.ID, Channel: in.Channel, Kind: sms.ClassifyKind(in.Body), Body: in.Body, Language: lang,
	}
	if err := st.SubmissionInsert(ctx, sub); err != nil {
		return nil, err
	}
	return sub, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
