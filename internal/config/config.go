// Package config reads Tawasul's settings from environment variables into one
// typed Config and validates them. Nothing here is global: Load takes the
// environment as a map so tests can run side by side with different settings.
//
// Every setting has a documented default; a secret may also be given as a
// file whose path is in NAME_FILE (the file's contents, trimmed, are the value).
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is every setting of the service. The `env` tag names the variable,
// `envDefault` its default, and `desc` the line shown in `tawasul help` and
// the README's configuration table (a test keeps the two in step).
type Config struct {
	DatabaseURL string `env:"DATABASE_URL" desc:"PostgreSQL URL. Unset: a private cluster is started in TAWASUL_DATA_DIR from the installed PostgreSQL server binaries."`

	Addr string `env:"TAWASUL_ADDR" envDefault:"127.0.0.1:8080" desc:"Address the HTTP server listens on."`
	// PublicURLDefaulted is true when PublicURL was derived from Addr (so a
	// ":0" port may be replaced by the port actually bound).
	PublicURLDefaulted bool
	PublicURL          string `env:"TAWASUL_PUBLIC_URL" desc:"URL the outside world and Twilio use to reach the service (scheme and host, no path: Tawasul is served at the root of its host). Default: http:// + TAWASUL_ADDR."`
	DataDir            string `env:"TAWASUL_DATA_DIR" envDefault:".tawasul" desc:"Directory for local state: the private PostgreSQL cluster when DATABASE_URL is unset."`

	LogLevel  slog.Level `env:"TAWASUL_LOG_LEVEL" envDefault:"info" desc:"debug, info, warn or error."`
	LogFormat string     `env:"TAWASUL_LOG_FORMAT" envDefault:"text" desc:"text or json."`

	TrustedProxies []string `env:"TAWASUL_TRUSTED_PROXIES" envSeparator:"," desc:"Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted for the client IP. Empty: the TCP peer is the client."`

	DBMaxConns      int32         `env:"TAWASUL_DB_MAX_CONNS" envDefault:"0" desc:"Size of the PostgreSQL connection pool shared by HTTP handlers and River workers (at least 4). 0: three per CPU, at least 4 — more connections than that make a busy server slower (docs/benchmarks.md)."`
	SessionLifetime time.Duration `env:"TAWASUL_SESSION_LIFETIME" envDefault:"12h" desc:"How long a staff sign-in lasts."`
	ShutdownTimeout time.Duration `env:"TAWASUL_SHUTDOWN_TIMEOUT" envDefault:"8s" desc:"How long shutdown waits for requests and running jobs before cancelling them."`

	SigninIPLimit      int           `env:"TAWASUL_SIGNIN_IP_LIMIT" envDefault:"20" desc:"Sign-in attempts allowed per client IP per minute."`
	APITokenLimit      int           `env:"TAWASUL_API_TOKEN_LIMIT" envDefault:"600" desc:"JSON API requests allowed per token per minute, over all API routes; more get 429."`
	SigninAccountLimit int           `env:"TAWASUL_SIGNIN_ACCOUNT_LIMIT" envDefault:"5" desc:"Failed sign-ins allowed per account within TAWASUL_SIGNIN_ACCOUNT_WINDOW before the account is refused for the rest of the window."`
	SigninAccountWin   time.Duration `env:"TAWASUL_SIGNIN_ACCOUNT_WINDOW" envDefault:"15m" desc:"Window for TAWASUL_SIGNIN_ACCOUNT_LIMIT."`

	FollowupWindow   time.Duration `env:"TAWASUL_FOLLOWUP_WINDOW" envDefault:"10m" desc:"Messages a resident sends within this time of their last message add to that submission, while it is still new, instead of opening another."`
	ReferencePrefix  string        `env:"TAWASUL_REFERENCE_PREFIX" envDefault:"QS" desc:"Letters that start every submission reference (QS-26-0173)."`
	CallCentreNumber string        `env:"TAWASUL_CALL_CENTRE_NUMBER" envDefault:"940" desc:"The call-centre number given in help replies."`
	PromptTTL        time.Duration `env:"TAWASUL_PROMPT_TTL" envDefault:"72h" desc:"How long a question Tawasul asks a resident (rating, yes/no, menu) stays open for an answer."`

	Twilio Twilio `envPrefix:"TWILIO_"`
}

// Twilio holds the Twilio account settings. With no AccountSID the service
// runs in simulator mode against a built-in fake of the Twilio API.
type Twilio struct {
	AccountSID          string `env:"ACCOUNT_SID" desc:"Twilio account SID (AC…). Unset: simulator mode with a built-in fake Twilio and the /dev/phone page."`
	AuthToken           string `env:"AUTH_TOKEN" secret:"true" desc:"Twilio auth token: signs webhooks and authenticates REST calls. Also TWILIO_AUTH_TOKEN_FILE."`
	From                string `env:"FROM" desc:"Sender for SMS: an E.164 number or a registered alphanumeric sender ID. Simulator default: +966920000940."`
	MessagingServiceSID string `env:"MESSAGING_SERVICE_SID" desc:"Messaging Service SID (MG…); used instead of TWILIO_FROM when set."`
	WhatsAppFrom        string `env:"WHATSAPP_FROM" desc:"WhatsApp sender, e.g. whatsapp:+9665…; replies to WhatsApp go out from it. Simulator default: whatsapp:+966920000940."`
	APIURL              string `env:"API_URL" desc:"Base URL for Twilio's REST API (a regional edge or a local fake). Default: https://api.twilio.com."`
}

// DefaultDBMaxConns is the pool size used when TAWASUL_DB_MAX_CONNS is 0:
// three connections per CPU, at least 4. Measured on 2 cores (6
// connections), the webhook handled twice as many requests per second as
// with 20, which spent the CPUs switching between backends.
func DefaultDBMaxConns() int32 { return int32(max(4, 3*runtime.GOMAXPROCS(0))) }

// SimulatorNumber is the municipality's pretend number in simulator mode,
// the default for TWILIO_FROM and TWILIO_WHATSAPP_FROM there.
const SimulatorNumber = "+966920000940"

// StatusCallbackURL is where Twilio posts delivery statuses of the messages
// Tawasul sends.
func (c *Config) StatusCallbackURL() string { return c.PublicURL + "/twilio/sms/status" }

// Simulated reports whether no Twilio account is configured, so the service
// runs against its built-in fake.
func (t Twilio) Simulated() bool { return t.AccountSID == "" }

// Load reads the configuration from environ (as from os.Environ, "K=V"
// strings) and validates it. The returned error lists every problem found.
func Load(environ []string) (*Config, error) {
	vars := env.ToMap(environ)
	if err := readSecretFiles(vars); err != nil {
		return nil, err
	}
	var cfg Config
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: vars}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Addr
		cfg.PublicURLDefaulted = true
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	// "10.0.0.0/8, 172.16.0.0/12" is a natural way to write the list; the
	// client-IP middleware needs the prefixes bare.
	proxies := cfg.TrustedProxies[:0]
	for _, p := range cfg.TrustedProxies {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	cfg.TrustedProxies = proxies
	if cfg.DBMaxConns == 0 {
		cfg.DBMaxConns = DefaultDBMaxConns()
	}
	if cfg.Twilio.Simulated() {
		if cfg.Twilio.From == "" && cfg.Twilio.MessagingServiceSID == "" {
			cfg.Twilio.From = SimulatorNumber
		}
		if cfg.Twilio.WhatsAppFrom == "" {
			cfg.Twilio.WhatsAppFrom = "whatsapp:" + SimulatorNumber
		}
	}
	if cfg.DataDir != "" {
		abs, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("config: TAWASUL_DATA_DIR: %w", err)
		}
		cfg.DataDir = abs
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// secretVars are the variables that may be read from NAME_FILE.
var secretVars = []string{"DATABASE_URL", "TWILIO_AUTH_TOKEN"}

func readSecretFiles(vars map[string]string) error {
	for _, name := range secretVars {
		path := vars[name+"_FILE"]
		if path == "" || vars[name] != "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: %s_FILE: %w", name, err)
		}
		vars[name] = strings.TrimSpace(string(b))
	}
	return nil
}

// Validate checks each setting and the combinations between them.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("TAWASUL_ADDR %q is not host:port", c.Addr)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		// Pages, forms and redirects use root paths, so the service must
		// be at the root of its host.
		bad("TAWASUL_PUBLIC_URL %q must be http(s)://host[:port] only, with no path: Tawasul is served at the root of its host", c.PublicURL)
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		bad("TAWASUL_DATA_DIR is required when DATABASE_URL is unset")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("TAWASUL_LOG_FORMAT %q must be text or json", c.LogFormat)
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad("TAWASUL_TRUSTED_PROXIES: %q is not a CIDR prefix such as 10.0.0.0/8", p)
		}
	}
	if c.DBMaxConns < 4 {
		bad("TAWASUL_DB_MAX_CONNS must be at least 4 (River alone uses several connections)")
	}
	positive := map[string]time.Duration{
		"TAWASUL_SESSION_LIFETIME": c.SessionLifetime, "TAWASUL_SHUTDOWN_TIMEOUT": c.ShutdownTimeout,
		"TAWASUL_SIGNIN_ACCOUNT_WINDOW": c.SigninAccountWin, "TAWASUL_FOLLOWUP_WINDOW": c.FollowupWindow,
		"TAWASUL_PROMPT_TTL": c.PromptTTL,
	}
	for name, d := range positive {
		if d <= 0 {
			bad("%s must be a positive duration such as 10m", name)
		}
	}
	if c.SigninIPLimit < 1 || c.SigninAccountLimit < 1 {
		bad("TAWASUL_SIGNIN_IP_LIMIT and TAWASUL_SIGNIN_ACCOUNT_LIMIT must be at least 1")
	}
	if c.APITokenLimit < 1 {
		bad("TAWASUL_API_TOKEN_LIMIT must be at least 1")
	}
	if len(c.ReferencePrefix) < 1 || len(c.ReferencePrefix) > 4 || strings.Trim(c.ReferencePrefix, "ABCDEFGHJKLMNPQRSTUVWXYZ") != "" {
		bad("TAWASUL_REFERENCE_PREFIX %q must be 1–4 capital letters (no I or O)", c.ReferencePrefix)
	}
	if t := c.Twilio; !t.Simulated() {
		if t.AuthToken == "" {
			bad("TWILIO_AUTH_TOKEN (or TWILIO_AUTH_TOKEN_FILE) is required with TWILIO_ACCOUNT_SID")
		}
		if t.From == "" && t.MessagingServiceSID == "" {
			bad("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required with TWILIO_ACCOUNT_SID")
		}
	}
	if t := c.Twilio; t.APIURL != "" {
		if u, err := url.Parse(t.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("TWILIO_API_URL %q must be an absolute http(s) URL", t.APIURL)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// Secure reports whether cookies must carry the Secure attribute: the public
// URL is https.
func (c *Config) Secure() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// Variable describes one environment variable for docs and `tawasul help`.
type Variable struct {
	Name, Default, Description string
}

// Variables lists every environment variable Config reads, in struct order.
func Variables() []Variable {
	params, err := env.GetFieldParams(&Config{})
	if err != nil {
		panic(err) // the struct tags are static; a test covers this
	}
	descs := descriptions()
	vars := make([]Variable, 0, len(params))
	for _, p := range params {
		vars = append(vars, Variable{Name: p.Key, Default: p.DefaultValue, Description: descs[p.Key]})
	}
	return vars
}
