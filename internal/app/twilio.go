package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"tawasul/internal/config"
	"tawasul/internal/twiliofake"
	"tawasul/internal/twiliorest"
	"tawasul/jobs"
)

// twilioSetup is the process's way to Twilio: the real API, or in simulator
// mode the built-in fake it started.
type twilioSetup struct {
	sender    *jobs.Sender
	simulator *twiliofake.Server // nil with a real Twilio account
}

// startTwilio builds the outbound sender. With no TWILIO_ACCOUNT_SID it
// first starts the simulator — a fake of Twilio's REST API on a loopback
// port that accepts messages and calls and advances them queued → sent →
// delivered, posting signed status callbacks to TAWASUL_PUBLIC_URL — and
// points the sender at it. TWILIO_API_URL overrides the API's address
// either way. simLog gets the simulator's own lines; it logs recipients'
// numbers at info level, so pass a logger at warn or above.
func startTwilio(cfg *config.Config, log, simLog *slog.Logger) (*twilioSetup, error) {
	t := &twilioSetup{}
	accountSID, baseURL := cfg.Twilio.AccountSID, cfg.Twilio.APIURL
	if cfg.Twilio.Simulated() {
		accountSID = twiliofake.NewSID("AC")
		t.simulator = twiliofake.New(twiliofake.Options{AccountSID: accountSID, AuthToken: cfg.Twilio.AuthToken,
			AutoCallbacks: true, Logger: simLog})
		u, err := t.simulator.Start()
		if err != nil {
			return nil, fmt.Errorf("start the Twilio simulator: %w", err)
		}
		if baseURL == "" {
			baseURL = u
		}
		log.Info("simulator mode: no TWILIO_ACCOUNT_SID, messages go to the built-in Twilio simulator", "api", u)
	}
	client, err := twiliorest.New(twiliorest.Config{AccountSID: accountSID, AuthToken: cfg.Twilio.AuthToken, BaseURL: baseURL})
	if err != nil {
		t.close()
		return nil, err
	}
	t.sender = &jobs.Sender{Twilio: client, From: cfg.Twilio.From, MessagingServiceSID: cfg.Twilio.MessagingServiceSID,
		WhatsAppFrom: cfg.Twilio.WhatsAppFrom, StatusCallback: cfg.StatusCallbackURL()}
	return t, nil
}

// close stops the simulator, if any, letting its callbacks finish briefly.
func (t *twilioSetup) close() {
	if t.simulator == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = t.simulator.Shutdown(ctx)
}
