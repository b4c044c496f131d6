package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"tawasul/internal/config"
	"tawasul/internal/i18n"
	"tawasul/internal/phone"
	"tawasul/internal/render"
	"tawasul/internal/sms"
	"tawasul/internal/tawasul"
	"tawasul/internal/twiliofake"
)

// The /dev/phone pages exist only in simulator mode (Deps.Simulator set):
// a pretend handset that texts Tawasul as a resident and shows the thread.
// The resident's number lives in the staff session, never in a URL.
const (
	sessionDevPhone   = "devphone_phone"   // E.164 of the pretend handset
	sessionDevChannel = "devphone_channel" // "sms" or "whatsapp"
	sessionDevSent    = "devphone_sent"    // a text was just sent: show its answer once
	sessionDevReply   = "devphone_reply"   // that text's TwiML answer ("" for none)
)

// simulatorServiceNumber is the number the pretend handset texts when
// TWILIO_FROM is not a phone number (an alphanumeric sender ID).
const simulatorServiceNumber = config.SimulatorNumber

// maxDevPhoneBody is the longest text Twilio accepts (1,600 characters).
const maxDevPhoneBody = 1600

// devPhonePresets are the numbers offered with one click: Saudi mobiles and
// one foreign number.
var devPhonePresets = []string{"+966551234567", "+966501112233", "+966569876543", "+201001234567"}

// DevPhonePage is the data of the pretend-phone page and of its thread
// fragment.
type DevPhonePage struct {
	render.Base
	Presets  []DevPhonePreset
	Phone    string          // E.164 of the selected number; "" if none
	Typed    string          // the phone field's value
	Channel  tawasul.Channel // sms or whatsapp
	Body     string          // the text field's value (kept after an error)
	Photo    bool            // the sample-photo box (kept after an error)
	ErrorKey string          // catalog key of a form error
	Answer   *DevPhoneAnswer // the answer to the text just sent, if any
	Thread   *DevPhoneThread // nil when no number is selected
}

// DevPhonePreset is a number offered with one click.
type DevPhonePreset struct {
	E164, Display string
}

// DevPhoneAnswer is what Tawasul answered, in TwiML, to the text just sent.
type DevPhoneAnswer struct {
	Reply string // "" for an empty <Response/>
}

// DevPhoneThread is the selected number's messages, oldest first.
type DevPhoneThread struct {
	Display  string
	OptedOut bool
	Messages []DevPhoneMessage
}

// DevPhoneMessage is one message of the thread.
type DevPhoneMessage struct {
	Inbound     bool // from the resident
	ChannelKey  string
	Body        string
	Attachments int    // files the resident attached
	StatusLabel string // the status in the page's language (deliveryLabel)
	Status      string // the stored status, shown when it has no key
	ErrorCode   int    // Twilio's error code; 0 for none
	At          time.Time
	Clock       string // HH:MM in Riyadh
}

// handleDevPhone shows the pretend phone: the number picker, the text form,
// the answer to the last text sent, and the thread.
func (s *Server) handleDevPhone(w http.ResponseWriter, r *http.Request) {
	p, err := s.devPhonePage(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if s.popBool(r, sessionDevSent) {
		p.Answer = &DevPhoneAnswer{Reply: s.popString(r, sessionDevReply)}
	}
	s.page(w, r, http.StatusOK, "devphone", p)
}

// handleDevPhoneThread answers the thread alone, for htmx to poll.
func (s *Server) handleDevPhoneThread(w http.ResponseWriter, r *http.Request) {
	e164 := s.sessions.GetString(r.Context(), sessionDevPhone)
	p := &DevPhonePage{Phone: e164}
	if e164 != "" {
		var err error
		if p.Thread, err = s.devPhoneThread(r.Context(), s.langOf(r), e164); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.fragment(w, r, http.StatusOK, "devphone", "devphone_thread", p)
}

// handleDevPhoneSend selects the number typed or picked (action=select) or
// also sends the text as that resident (action=send), then goes back to the
// page (303) to show the answer. An invalid number or an empty text re-shows
// the form with the error (400) and sends and stores nothing.
func (s *Server) handleDevPhoneSend(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	typed := strings.TrimSpace(r.PostForm.Get("phone"))
	ch := tawasul.ChannelSMS
	if r.PostForm.Get("channel") == string(tawasul.ChannelWhatsApp) {
		ch = tawasul.ChannelWhatsApp
	}
	body := r.PostForm.Get("body")
	photo := r.PostForm.Get("photo") == "1" // attach the sample photo
	e164, err := phone.Normalize(strings.TrimPrefix(typed, "whatsapp:"))
	errKey := ""
	switch {
	case err != nil:
		errKey = "devphone.error_phone"
	case r.PostForm.Get("action") == "select":
	case strings.TrimSpace(body) == "" && !photo:
		errKey = "devphone.error_body"
	case utf8.RuneCountInString(body) > maxDevPhoneBody:
		errKey = "devphone.error_body_long"
	}
	if errKey != "" {
		p, err := s.devPhonePage(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		p.Typed, p.Channel, p.Body, p.Photo, p.ErrorKey = typed, ch, body, photo, errKey
		s.page(w, r, http.StatusBadRequest, "devphone", p)
		return
	}
	ctx := r.Context()
	s.sessions.Put(ctx, sessionDevPhone, e164)
	s.sessions.Put(ctx, sessionDevChannel, string(ch))
	if r.PostForm.Get("action") != "select" {
		reply, err := s.simulateInboundSMS(ctx, e164, ch, body, photo)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.sessions.Put(ctx, sessionDevSent, true)
		s.sessions.Put(ctx, sessionDevReply, reply)
	}
	http.Redirect(w, r, "/dev/phone", http.StatusSeeOther)
}

// devPhonePage fills the page from the session: the selected number and
// channel, and the number's thread.
func (s *Server) devPhonePage(r *http.Request) (*DevPhonePage, error) {
	ctx := r.Context()
	p := &DevPhonePage{Phone: s.sessions.GetString(ctx, sessionDevPhone), Channel: tawasul.ChannelSMS}
	if s.sessions.GetString(ctx, sessionDevChannel) == string(tawasul.ChannelWhatsApp) {
		p.Channel = tawasul.ChannelWhatsApp
	}
	for _, n := range devPhonePresets {
		p.Presets = append(p.Presets, DevPhonePreset{E164: n, Display: phone.Display(n)})
	}
	if p.Phone != "" {
		p.Typed = phone.Display(p.Phone)
		var err error
		if p.Thread, err = s.devPhoneThread(ctx, s.langOf(r), p.Phone); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// devPhoneThread loads e164's messages: inbound texts, the TwiML replies
// (stored as outbound "replied") and messages sent through the Twilio API
// with their delivery status. An unknown number has an empty thread.
func (s *Server) devPhoneThread(ctx context.Context, lang *i18n.Lang, e164 string) (*DevPhoneThread, error) {
	t := &DevPhoneThread{Display: phone.Display(e164)}
	c, err := s.Store.ContactByPhone(ctx, e164)
	if tawasul.ErrorCode(err) == tawasul.ENOTFOUND {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	t.OptedOut = c.OptedOut()
	msgs, err := s.Store.MessagesByContact(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		dm := DevPhoneMessage{Inbound: m.Direction == "inbound", ChannelKey: "devphone.channel_sms", Body: m.Body,
			Attachments: len(m.Media), Status: m.Status, At: m.CreatedAt, Clock: m.CreatedAt.In(i18n.Riyadh).Format("15:04")}
		if m.ErrorCode != nil {
			dm.ErrorCode = *m.ErrorCode
		}
		if m.Channel == tawasul.ChannelWhatsApp {
			dm.ChannelKey = "devphone.channel_whatsapp"
		}
		dm.StatusLabel = deliveryLabel(lang, m.Status)
		t.Messages = append(t.Messages, dm)
	}
	return t, nil
}

// simulateInboundSMS plays Twilio's part when the resident e164 texts body on
// channel ch (with samplePhoto attached when photo), and returns the text
// of Tawasul's TwiML answer ("" when it answered with an empty <Response/>).
//
// It builds the parameters Twilio would post (twiliofake's
// InboundSMSParams), signs them with TWILIO_AUTH_TOKEN for
// TAWASUL_PUBLIC_URL + /twilio/sms as Twilio would, and hands the request
// in-process to the server's own handler: the whole middleware stack, the
// real requireTwilioSignature check and handleTwilioSMS all run, exactly as
// for a webhook from Twilio. It does not POST to TAWASUL_PUBLIC_URL, because
// in development that address is often not reachable from the process
// itself (a proxy or tunnel in front, or a name that resolves elsewhere).
func (s *Server) simulateInboundSMS(parent context.Context, e164 string, ch tawasul.Channel, body string, photo bool) (string, error) {
	params := s.Simulator.InboundSMSParams(sms.Address(ch, e164), s.simulatorServiceAddress(ch), body)
	if photo {
		// As Twilio sends a message with media: an MM SID, and where the
		// file is (kept by the simulator, which serves it like Twilio).
		sid := twiliofake.NewSID("MM")
		for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid"} {
			if params.Has(k) {
				params.Set(k, sid)
			}
		}
		params.Set("NumMedia", "1")
		params.Set("MediaUrl0", s.Simulator.AddMedia(sid, "image/png", samplePhoto()))
		params.Set("MediaContentType0", "image/png")
	}
	sig := twiliofake.Sign(s.Config.Twilio.AuthToken, s.Config.PublicURL+"/twilio/sms", params)

	// A fresh context: the router reuses a chi routing context found in
	// the request's values, so the staff request's context cannot be passed
	// on. Cancellation still is.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer context.AfterFunc(parent, cancel)()

	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/twilio/sms", strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)

	switch rec.Code {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		return "", tawasul.Errorf(tawasul.EUNAVAILABLE, "error.unavailable", "webhook: temporarily unavailable")
	default:
		return "", fmt.Errorf("devphone: /twilio/sms answered %d", rec.Code)
	}
	var resp struct {
		Messages []struct {
			Text string `xml:",chardata"`
			Body string `xml:"Body"`
		} `xml:"Message"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		return "", fmt.Errorf("devphone: TwiML answer: %w", err)
	}
	var texts []string
	for _, m := range resp.Messages {
		if t := strings.TrimSpace(m.Text + m.Body); t != "" {
			texts = append(texts, t)
		}
	}
	return strings.Join(texts, "\n"), nil
}

// simulatorServiceAddress is the service's address the pretend handset
// texts: TWILIO_WHATSAPP_FROM for WhatsApp, TWILIO_FROM for SMS when it is a
// phone number, else simulatorServiceNumber.
func (s *Server) simulatorServiceAddress(ch tawasul.Channel) string {
	t := s.Config.Twilio
	number := simulatorServiceNumber
	if n, err := phone.Normalize(t.From); err == nil {
		number = n
	}
	if ch != tawasul.ChannelWhatsApp {
		return number
	}
	if t.WhatsAppFrom != "" {
		return "whatsapp:" + strings.TrimPrefix(t.WhatsAppFrom, "whatsapp:")
	}
	return "whatsapp:" + number
}

// samplePhoto is the picture the pretend phone attaches: a grey road with
// a dark pothole, as a PNG made once.
var samplePhoto = sync.OnceValue(func() []byte {
	img := image.NewGray(image.Rect(0, 0, 160, 100))
	for y := range 100 {
		for x := range 160 {
			c := uint8(150 + (x*7+y*13)%20) // asphalt
			if dx, dy := float64(x-80)/45, float64(y-55)/22; dx*dx+dy*dy < 1 {
				c = 40 // the pothole
			}
			img.SetGray(x, y, color.Gray{Y: c})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // encoding an in-memory image does not fail
	}
	return b.Bytes()
})
