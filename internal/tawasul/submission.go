package tawasul

import (
	"time"
)

// Channel is how a contact reached Tawasul.
type Channel string

// Channels.
const (
	ChannelSMS      Channel = "sms"
	ChannelWhatsApp Channel = "whatsapp"
	ChannelVoice    Channel = "voice"
	ChannelWeb      Channel = "web"
)

// Kind is what sort of participation a submission is.
type Kind string

// Kinds (the codes of ../shared/testdata).
const (
	KindComplaint  Kind = "complaint"
	KindSuggestion Kind = "suggestion"
	KindIdea       Kind = "idea"
	KindInquiry    Kind = "inquiry"
	KindPraise     Kind = "praise"
	KindComment    Kind = "comment"
)

// Status is where a submission stands.
type Status string

// Statuses.
const (
	StatusNew        Status = "new"
	StatusRouted     Status = "routed"
	StatusInProgress Status = "in_progress"
	StatusAnswered   Status = "answered"
	StatusClosed     Status = "closed"
	StatusRejected   Status = "rejected"
)

// Contact is a resident known by phone number.
type Contact struct {
	ID          int64
	Phone       string // E.164; personal data
	Language    string // "ar" or "en"
	OptedOutAt  *time.Time
	InvalidAt   *time.Time
	FirstSeenAt time.Time
	LastSeenAt  time.Time
}

// OptedOut reports whether the contact asked to receive nothing.
func (c *Contact) OptedOut() bool { return c.OptedOutAt != nil }

// Submission is one participation followed through to an answer.
type Submission struct {
	ID             int64
	Reference      string
	ContactID      *int64
	Channel        Channel
	Kind           Kind
	Status         Status
	Body           string
	Language       string
	DepartmentCode string
	DepartmentName Names // the department's name; empty with no department, and in lists (only the detail fills it)
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastMessageAt  time.Time
}

// Message is one SMS or WhatsApp message in or out.
type Message struct {
	ID           int64
	ContactID    int64
	SubmissionID *int64
	Direction    string // "inbound" or "outbound"
	Channel      Channel
	Body         string
	Purpose      string
	// IdempotencyKey, when set on an outbound message, makes queueing it
	// again with the same key a no-op (a form submitted twice).
	IdempotencyKey string
	Status         string
	TwilioSID      *string
	ErrorCode      *int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Media          []Media // what an inbound message had attached, in Twilio's order
}

// Media is a file attached to an inbound MMS or WhatsApp message (a photo
// of the pothole). Twilio keeps the file; URL is where, on Twilio's REST
// API, and may need the account's credentials to fetch.
type Media struct {
	URL         string
	ContentType string // as Twilio gave it, e.g. "image/jpeg"; may be ""
}

// Names is a name in each language, such as a department's.
type Names struct{ Ar, En string }

// In returns the name in lang ("ar" or "en"), or the Arabic one when there
// is none in lang.
func (n Names) In(lang string) string {
	if lang == "en" && n.En != "" {
		return n.En
	}
	return n.Ar
}
