package postgres

import (
	"context"
	"fmt"
	"time"

	"tawasul/internal/tawasul"
)

// The methods in this file call the SQL functions of migration
// 00005_inbound_functions.sql, which hold the common path of an inbound
// message so that it costs few round trips. Run them in one transaction.

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
