package tawasul

import "time"

// Alert is a problem only an admin can fix, such as wrong Twilio settings.
// It is shown on the admins' home page until resolved.
type Alert struct {
	ID      int64
	Kind    string // e.g. "twilio_config"
	Code    int    // Twilio error code, 0 if none
	Message string // English, from Twilio or Tawasul
	Count   int    // how many times it happened while open
	FirstAt time.Time
	LastAt  time.Time
}
