package tawasul

import "time"

// Prompt is a question Tawasul asked a contact and is waiting on: a rating,
// a yes/no, a menu choice. A contact has at most one open prompt. A prompt
// sent by SMS carries a link (/r/{Token}) where the same answer can be given
// on the web.
type Prompt struct {
	ID           int64
	ContactID    int64
	SubmissionID *int64
	Kind         string         // a registered kind, e.g. "rating"
	Payload      map[string]any // what the kind needs to ask and record
	Attempts     int            // answers not understood so far
	Token        string
	ExpiresAt    time.Time
	ClosedAt     *time.Time
	CreatedAt    time.Time
}

// Open reports whether p still waits for an answer at now.
func (p *Prompt) Open(now time.Time) bool { return p.ClosedAt == nil && now.Before(p.ExpiresAt) }
