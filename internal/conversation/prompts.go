package conversation

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
	"tawasul/jobs"
)

// A PromptKind is one sort of question Tawasul asks a resident and waits on
// (a rating, a yes/no, a menu choice, a poll vote). Kinds are registered in
// Engine.Kinds under the name stored in prompts.kind.
type PromptKind interface {
	// Question is the question in l, without the web link.
	Question(l *i18n.Lang, p *tawasul.Prompt) string
	// Hint says in l, in a few words, what to reply ("Reply 1 to 5."). A
	// reply that is not an answer gets the hint in Arabic and English, in
	// one SMS segment together (TestRepromptsFitOneSegment checks every
	// kind).
	Hint(l *i18n.Lang, p *tawasul.Prompt) string
	// Choices are the answers the web page offers, in order.
	Choices(l *i18n.Lang, p *tawasul.Prompt) []Choice
	// Parse reads an answer from a reply (SMS text or a web choice's
	// Value); ok is false when text is not an answer.
	Parse(text string) (answer string, ok bool)
	// Record stores answer, inside the transaction st runs in.
	Record(ctx context.Context, st *postgres.Store, p *tawasul.Prompt, answer string) error
	// Thanks is the reply once answer is recorded.
	Thanks(l *i18n.Lang, p *tawasul.Prompt, answer string) string
}

// Choice is one answer offered on the web page.
type Choice struct {
	Value string // what Parse accepts
	Label string
}

// DefaultKinds are the prompt kinds Tawasul knows.
func DefaultKinds() map[string]PromptKind {
	return map[string]PromptKind{"rating": Rating{}}
}

func (e *Engine) kind(name string) (PromptKind, bool) {
	kinds := e.Kinds
	if kinds == nil {
		kinds = DefaultKinds()
	}
	k, ok := kinds[name]
	return k, ok
}

// Ask opens a prompt of kind for contact c (closing any other open one) and
// queues the question to them on ch, in tx: the question is sent only if
// tx commits. The message carries a link to /r/{token}, where the same
// answer can be given on the web — Saudi routes do not take SMS replies on
// every sender. For a contact who opted out, or whose number Twilio called
// invalid, it returns ECONFLICT having written nothing, so the caller may
// skip them and go on with tx. It waits for another transaction asking the
// same contact; the later question wins.
func (e *Engine) Ask(ctx context.Context, tx pgx.Tx, c *tawasul.Contact, ch tawasul.Channel, submissionID *int64,
	kind string, payload map[string]any) (*tawasul.Prompt, error) {
	k, ok := e.kind(kind)
	if !ok {
		return nil, fmt.Errorf("conversation: unknown prompt kind %q", kind)
	}
	if e.River == nil {
		return nil, fmt.Errorf("conversation: Ask needs a River client")
	}
	p := &tawasul.Prompt{ContactID: c.ID, SubmissionID: submissionID, Kind: kind, Payload: payload,
		Token: newPromptToken(), ExpiresAt: e.now().Add(e.PromptTTL)}
	st := postgres.New(tx)
	if err := st.PromptInsert(ctx, p); err != nil {
		return nil, err
	}
	l := e.Catalog.Lang(c.Language)
	body := k.Question(l, p) + "\n" + l.T("prompt.link", "URL", e.PromptURL(p.Token))
	m := &tawasul.Message{ContactID: c.ID, SubmissionID: submissionID, Channel: ch, Body: body, Purpose: "prompt:" + kind}
	if err := jobs.QueueMessage(ctx, tx, e.River, m); err != nil {
		return nil, err
	}
	if submissionID != nil {
		if err := st.SubmissionEventInsert(ctx, *submissionID, "message_out", &m.ID, map[string]any{"prompt": kind}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// PromptURL is the web page where the prompt with token can be answered.
func (e *Engine) PromptURL(token string) string { return e.PublicURL + "/r/" + token }

// newPromptToken returns 80 random bits, base32 without padding, lower
// case: short in an SMS, unguessable, and nothing personal in the URL.
func newPromptToken() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// promptReply is what answering an open prompt by message decided.
type promptReply struct {
	handled bool   // false: treat the message as a new message
	reply   string // the TwiML reply when handled
	subID   *int64 // the prompt's submission, for the message's timeline
}

// answerPrompt offers an inbound message to the contact's open prompt, in
// the handling transaction. An expired prompt closes and the message is
// handled as a new one (never lost); an answer the kind understands is
// recorded and thanked; the first one it does not understand gets what to
// reply in both languages (reprompt), unless it reads as
// a message of its own (looksLikeMessage): that is handled as new and the
// question stays open as it was. Once the question has been asked again,
// the next reply it does not understand closes the prompt, and the message
// is handled as new.
func (e *Engine) answerPrompt(ctx context.Context, st *postgres.Store, c *tawasul.Contact, text string, via tawasul.Channel) (promptReply, error) {
	p, err := st.PromptOpenForUpdate(ctx, c.ID)
	if tawasul.ErrorCode(err) == tawasul.ENOTFOUND {
		return promptReply{}, nil
	}
	if err != nil {
		return promptReply{}, err
	}
	k, known := e.kind(p.Kind)
	switch {
	case !known:
		return promptReply{}, st.PromptClose(ctx, p.ID, map[string]any{"closed": "unknown_kind"}, "")
	case !p.Open(e.now()):
		return promptReply{}, st.PromptClose(ctx, p.ID, map[string]any{"closed": "expired"}, "")
	}
	l := e.Catalog.Lang(c.Language)
	answer, ok := k.Parse(text)
	switch {
	case ok:
		if err := e.record(ctx, st, k, p, answer, string(via)); err != nil {
			return promptReply{}, err
		}
		return promptReply{handled: true, reply: k.Thanks(l, p, answer), subID: p.SubmissionID}, nil
	case p.Attempts > 0:
		return promptReply{}, st.PromptClose(ctx, p.ID, map[string]any{"closed": "not_understood"}, "")
	case looksLikeMessage(k, text):
		// A new report sent while a question is open (a rating waits up
		// to TAWASUL_PROMPT_TTL) is filed with a reference of its own,
		// not kept as a failed answer on the question's submission.
		return promptReply{}, nil
	default:
		if err := st.PromptNotUnderstood(ctx, p.ID); err != nil {
			return promptReply{}, err
		}
		return promptReply{handled: true, reply: e.reprompt(k, p), subID: p.SubmissionID}, nil
	}
}

// reprompt is the answer to a reply that kind k could not read: what to
// reply, in Arabic and in English, in one SMS segment. It carries no web
// link: the resident has just shown they can reply by SMS, and the
// question that went out first had the link.
func (e *Engine) reprompt(k PromptKind, p *tawasul.Prompt) string {
	ar, en := e.Catalog.Lang(i18n.Arabic), e.Catalog.Lang(i18n.English)
	return ar.T("prompt.reprompt", "Hint", k.Hint(ar, p)) + "\n" + en.T("prompt.reprompt", "Hint", k.Hint(en, p))
}

// looksLikeMessage reports whether text, which kind k did not take as an
// answer, is a message in its own right rather than a failed attempt at
// one: three words or more ("تسرب مياه أمام المدرسة"), none of which k
// would take as an answer. A word or two ("لا أعرف", "maybe") is an
// attempt, and so is an answer with a comment ("5 شكرا لكم جزيلا"): those
// get the question again.
func looksLikeMessage(k PromptKind, text string) bool {
	words := 0
	for _, w := range strings.Fields(text) {
		if _, ok := k.Parse(w); ok {
			return false
		}
		if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
			words++
		}
	}
	return words >= 3
}

// record stores the answer and closes the prompt.
func (e *Engine) record(ctx context.Context, st *postgres.Store, k PromptKind, p *tawasul.Prompt, answer, via string) error {
	if err := k.Record(ctx, st, p, answer); err != nil {
		return err
	}
	return st.PromptClose(ctx, p.ID, map[string]any{"answer": answer}, via)
}

// WebPrompt is a prompt as its web page shows it. It carries nothing
// personal: the page is public, reached by the link's token alone.
type WebPrompt struct {
	Question string
	Choices  []Choice
	Open     bool // false: answered, expired or replaced by a newer question
}

// PromptForWeb returns the prompt whose link carries token, in l, or
// ENOTFOUND.
func (e *Engine) PromptForWeb(ctx context.Context, token string, l *i18n.Lang) (*WebPrompt, error) {
	var wp *WebPrompt
	err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		p, err := postgres.New(tx).PromptByTokenForUpdate(ctx, token)
		if err != nil {
			return err
		}
		k, ok := e.kind(p.Kind)
		if !ok {
			return tawasul.Errorf(tawasul.ENOTFOUND, "prompt.not_found", "unknown prompt kind")
		}
		wp = &WebPrompt{Question: k.Question(l, p), Choices: k.Choices(l, p), Open: p.Open(e.now())}
		return nil
	})
	return wp, err
}

// AnswerWeb records answer (a Choice value) for the prompt whose link
// carries token and returns the thanks, in l. Errors: ENOTFOUND for an
// unknown token, ECONFLICT when the prompt is no longer open, EINVALID for
// an answer the kind does not accept.
func (e *Engine) AnswerWeb(ctx context.Context, token, answer string, l *i18n.Lang) (string, error) {
	var thanks string
	err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		st := postgres.New(tx)
		p, err := st.PromptByTokenForUpdate(ctx, token)
		if err != nil {
			return err
		}
		k, ok := e.kind(p.Kind)
		if !ok {
			return tawasul.Errorf(tawasul.ENOTFOUND, "prompt.not_found", "unknown prompt kind")
		}
		if !p.Open(e.now()) {
			return tawasul.Errorf(tawasul.ECONFLICT, "prompt.closed", "this question is closed")
		}
		a, ok := k.Parse(answer)
		if !ok {
			return tawasul.Errorf(tawasul.EINVALID, "prompt.choose", "choose one of the answers")
		}
		if err := e.record(ctx, st, k, p, a, string(tawasul.ChannelWeb)); err != nil {
			return err
		}
		thanks = k.Thanks(l, p, a)
		return nil
	})
	return thanks, err
}
