package tawasul

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// AllStatuses lists every submission status in workflow order.
var AllStatuses = []Status{StatusNew, StatusRouted, StatusInProgress, StatusAnswered, StatusClosed, StatusRejected}

// AllKinds lists every submission kind in display order.
var AllKinds = []Kind{KindComplaint, KindSuggestion, KindIdea, KindInquiry, KindPraise, KindComment}

// AllChannels lists every channel a submission can arrive by.
var AllChannels = []Channel{ChannelSMS, ChannelWhatsApp, ChannelVoice, ChannelWeb}

// ParseStatus returns the status named s, or an EINVALID error that lists
// the valid values.
func ParseStatus(s string) (Status, error) {
	return parseEnum(s, AllStatuses, "status", "submissions.filter.bad_status")
}

// ParseKind returns the kind named s, or an EINVALID error that lists the
// valid values.
func ParseKind(s string) (Kind, error) {
	return parseEnum(s, AllKinds, "kind", "submissions.filter.bad_kind")
}

// ParseChannel returns the channel named s, or an EINVALID error that lists
// the valid values.
func ParseChannel(s string) (Channel, error) {
	return parseEnum(s, AllChannels, "channel", "submissions.filter.bad_channel")
}

func parseEnum[T ~string](s string, all []T, what, key string) (T, error) {
	v := T(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(all, v) {
		return v, nil
	}
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = string(a)
	}
	return "", Errorf(EINVALID, key, fmt.Sprintf("unknown %s %q; want one of %s", what, s, strings.Join(names, ", ")))
}

// Page sizes of the keyset-paginated lists.
const (
	DefaultPageSize = 50  // when no limit is given
	MaxPageSize     = 100 // larger limits are cut to this
)

// SubmissionFilter selects submissions for a list. Zero fields do not
// filter. Lists are ordered newest first.
type SubmissionFilter struct {
	Phone        string    // the contact's E.164 number (personal data: only for roles that may see it)
	Status       Status    // one status
	Channel      Channel   // one channel
	Kind         Kind      // one kind
	Since        time.Time // created at or after
	Until        time.Time // created before
	Query        string    // words the body contains, each anywhere, compared after Arabic normalisation (ar_norm)
	DepartmentID *int64    // only this department's submissions (a department user's scope)
	Cursor       string    // opaque position returned with the previous page; "" = first page
	Limit        int       // page size: 0 = DefaultPageSize; at most MaxPageSize
}

// SubmissionItem is a submission as lists show it, with its contact's phone.
type SubmissionItem struct {
	Submission
	Phone string // the contact's E.164 number, "" without a contact; personal data
}

// SubmissionDetail is a submission with its whole timeline, oldest first.
type SubmissionDetail struct {
	SubmissionItem
	// ContactOptedOutAt and ContactInvalidAt are when the resident opted
	// out (STOP) and when Twilio called their number unable to receive
	// messages; nil when not (or without a contact). Either one means
	// nothing can be sent to them.
	ContactOptedOutAt, ContactInvalidAt *time.Time
	// WhatsAppWindowClosed: this is a WhatsApp submission and its resident
	// has not written on WhatsApp (about anything) within WhatsAppWarnAfter,
	// by the database's clock, so a reply will most likely not be
	// delivered.
	WhatsAppWindowClosed bool
	Timeline             []*TimelineEvent
}

// WhatsApp delivers a free-form message only within 24 hours of the
// resident's last WhatsApp message; later sends fail with Twilio error
// 63016. WhatsAppWarnAfter is half an hour less: a message is stored a
// little after WhatsApp received it, and a reply takes a while to go out.
const WhatsAppWarnAfter = 24*time.Hour - 30*time.Minute

// Unreachable reports whether nothing can be sent to the resident.
func (d *SubmissionDetail) Unreachable() bool {
	return d.ContactOptedOutAt != nil || d.ContactInvalidAt != nil
}

// TimelineEvent is one entry of a submission's timeline: "created",
// "message_in", "message_out", "detail_added", and later kinds. Message is
// the message the event is about, or nil.
type TimelineEvent struct {
	ID      int64 // 0 for a message linked to the submission without an event of its own
	At      time.Time
	Kind    string
	Message *Message
}

// MessageItem is a message as a contact's message list shows it.
type MessageItem struct {
	Message
	SubmissionReference string // "" when the message belongs to no submission
}

// ContactSummary is a contact with counts of what it sent and received.
type ContactSummary struct {
	Contact
	Submissions int // submissions the contact made
	MessagesIn  int // messages received from the contact
	MessagesOut int // messages sent (or being sent) to the contact
}
