package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// The methods in this file call the SQL functions of migration
// 00005_inbound_functions.sql (and InboundBatch, of 00007; both changed
// since, last by 00012), which hold the common path of an inbound message
// so that it costs few round trips. Run InboundTake and what follows it in
// one transaction; InboundBatch is one statement and needs none.

// InboundTaken is what InboundTake found and stored.
type InboundTaken struct {
	ContactID       int64
	ContactLanguage string
	OptedOutAt      *time.Time // the contact asked to receive nothing
	Duplicate       bool       // the SID was seen before: nothing was stored
	StoredReply     string     // for a duplicate, the reply the first delivery got
	OpenPrompt      bool       // the contact has a question open
}

// InboundTake creates or touches the contact with phone (E.164; its
// language becomes lang when setLanguage, or lang for a new contact) and
// says whether Twilio's sid was seen before (Duplicate). The contact's row
// stays locked until the transaction ends, which serialises one contact's
// messages, replays included. It stores no message: InboundFile or
// InboundStore does.
func (s *Store) InboundTake(ctx context.Context, phone, lang string, setLanguage bool, sid string) (*InboundTaken, error) {
	var t InboundTaken
	err := s.db.QueryRow(ctx, `SELECT * FROM inbound_take($1, $2, $3, $4)`, phone, lang, setLanguage, sid).
		Scan(&t.ContactID, &t.ContactLanguage, &t.OptedOutAt, &t.Duplicate, &t.StoredReply, &t.OpenPrompt)
	if err != nil {
		return nil, fmt.Errorf("postgres: inbound take: %w", err)
	}
	return &t, nil
}

// InboundStore stores inbound message sid from the contact (its reply and
// submission come later, with InboundReply) and returns its ID.
func (s *Store) InboundStore(ctx context.Context, contactID int64, ch tawasul.Channel, sid, body string) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT inbound_store($1, $2, $3, $4, NULL, NULL)`, contactID, ch, sid, body).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: inbound store: %w", err)
	}
	return id, nil
}

// InboundFiling says how to store and file an inbound message.
type InboundFiling struct {
	ContactID       int64
	SID             string
	Channel         tawasul.Channel
	Body            string
	Kind            tawasul.Kind // for a new submission
	Language        string       // for a new submission
	FollowupSince   time.Time    // a still-new submission with a message since then takes the text as detail
	ReferencePrefix string
	Year            int
	// ReplyNew and ReplyDetail are the answers for a new submission and for
	// added detail, with {ref} where the reference goes; "" answers nothing.
	ReplyNew, ReplyDetail string
}

// InboundFiled is where the message went.
type InboundFiled struct {
	SubmissionID int64
	Reference    string
	Created      bool   // a new submission; false: detail added to an open one
	Reply        string // the reply recorded, with the reference filled in
	MessageID    int64  // the inbound message stored
}

// InboundFile stores the message and files it as detail on the contact's
// open submission or as a new one, with its reply (see inbound_file).
func (s *Store) InboundFile(ctx context.Context, f InboundFiling) (*InboundFiled, error) {
	var r InboundFiled
	err := s.db.QueryRow(ctx, `SELECT * FROM inbound_file($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ContactID, f.Channel, f.SID, f.Body, f.Kind, f.Language, f.FollowupSince, f.ReferencePrefix, f.Year,
		f.ReplyNew, f.ReplyDetail).Scan(&r.SubmissionID, &r.Reference, &r.Created, &r.Reply, &r.MessageID)
	if err != nil {
		return nil, fmt.Errorf("postgres: inbound file: %w", err)
	}
	return &r, nil
}

// InboundReply records what inbound message messageID led to: its
// submission (may be nil) and its reply ("" for none, kept for replays); a
// reply is also stored as an outbound message with purpose on the
// submission's timeline.
func (s *Store) InboundReply(ctx context.Context, messageID, contactID int64, submissionID *int64, ch tawasul.Channel, reply, purpose string) error {
	_, err := s.db.Exec(ctx, `SELECT inbound_reply($1, $2, $3, $4, $5, $6)`, messageID, contactID, submissionID, ch, reply, purpose)
	if err != nil {
		return fmt.Errorf("postgres: inbound reply: %w", err)
	}
	return nil
}

// InboundItem is one message for InboundBatch.
type InboundItem struct {
	Phone    string // E.164
	Language string // detected from the text; "" when it tells nothing
	SID      string
	Channel  tawasul.Channel
	Body     string
	Kind     tawasul.Kind    // for a new submission
	Media    []tawasul.Media // attachments, stored with the message when it is filed
}

// jsonMedia is an attachment in InboundBatch's items.
type jsonMedia struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// BatchReplies are the reply templates of one language, with {ref} where
// the reference goes.
type BatchReplies struct {
	New    string `json:"new"`
	Detail string `json:"detail"`
}

// InboundBatchFiling is what InboundBatch applies to every item.
type InboundBatchFiling struct {
	FollowupSince   time.Time
	ReferencePrefix string
	Year            int
	Replies         map[string]BatchReplies // by language code; "ar" is the fallback
}

// Outcomes of InboundBatch for one item.
const (
	BatchDuplicate = "duplicate" // seen before: Reply is what it got; nothing changed
	BatchPrompt    = "prompt"    // the contact has a question open: nothing stored; handle it alone
	BatchFiled     = "filed"     // stored as detail or as a new submission
)

// InboundBatched is InboundBatch's answer for one item.
type InboundBatched struct {
	Outcome   string
	Reference string
	Reply     string
}

// InboundBatch takes and files items in order, each as InboundTake and
// InboundFile would, with its attachments, in one statement (see
// inbound_batch). Callers sort items by phone so that concurrent batches
// lock contacts in the same order. It needs no transaction around it: the
// statement is all or nothing. The answer has one element per item, in the
// items' order. After an error the caller cannot know whether the items
// were stored (the statement may have committed before its answer was lost,
// or answered what the caller cannot hand out), so it must not answer them
// from here; filing them again is safe, because a stored SID comes back as
// a duplicate with the reply it was given.
func (s *Store) InboundBatch(ctx context.Context, items []InboundItem, f InboundBatchFiling) ([]InboundBatched, error) {
	type jsonItem struct {
		Phone   string          `json:"phone"`
		Lang    string          `json:"lang"`
		SID     string          `json:"sid"`
		Channel tawasul.Channel `json:"channel"`
		Body    string          `json:"body"`
		Kind    tawasul.Kind    `json:"kind"`
		Media   []jsonMedia     `json:"media,omitempty"`
	}
	js := make([]jsonItem, len(items))
	for i, it := range items {
		js[i] = jsonItem{it.Phone, it.Language, it.SID, it.Channel, it.Body, it.Kind, nil}
		for _, m := range it.Media {
			js[i].Media = append(js[i].Media, jsonMedia{m.URL, m.ContentType})
		}
	}
	rows, err := s.db.Query(ctx, `SELECT n, outcome, coalesce(reference, ''), coalesce(reply, '')
		FROM inbound_batch($1, $2, $3, $4, $5)`, js, f.FollowupSince, f.ReferencePrefix, f.Year, f.Replies)
	if err != nil {
		return nil, fmt.Errorf("postgres: inbound batch: %w", err)
	}
	out := make([]InboundBatched, len(items))
	var n int
	var b InboundBatched
	tag, err := pgx.ForEachRow(rows, []any{&n, &b.Outcome, &b.Reference, &b.Reply}, func() error {
		if n < 1 || n > len(out) || out[n-1].Outcome != "" {
			return fmt.Errorf("unexpected outcome for item %d of %d", n, len(out))
		}
		out[n-1] = b
		return nil
	})
	if err == nil && tag.RowsAffected() != int64(len(items)) {
		err = fmt.Errorf("%d outcomes for %d items", tag.RowsAffected(), len(items))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: inbound batch: %w", err)
	}
	return out, nil
}

// ReferencePrepare makes sure the reference sequence of year exists (see
// reference_prepare), so that the first submission of the year need not
// create it.
func (s *Store) ReferencePrepare(ctx context.Context, year int) error {
	if _, err := s.db.Exec(ctx, `SELECT reference_prepare($1)`, year); err != nil {
		return fmt.Errorf("postgres: prepare references of %d: %w", year, err)
	}
	return nil
}
