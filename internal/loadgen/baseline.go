package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tawasul/internal/postgres"
)

// baselineTwiML is the baseline's constant answer: an empty TwiML response.
const baselineTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Baseline is what the webhook is measured against: an HTTP server on
// 127.0.0.1 that does the least any inbound-SMS handler must do — parse the
// form and insert one row with pgx — and answers a constant empty TwiML. It
// checks no signature and follows no conversation. Its table lives in a
// schema of its own (loadgen_<random hex>), created by StartBaseline and
// dropped by Close, so it can share a database with Tawasul.
type Baseline struct {
	// URL is the server's base URL; webhooks go to URL+WebhookPath.
	URL string
	// Schema is the schema holding the baseline table.
	Schema string

	pool   *pgxpool.Pool
	srv    *http.Server
	served chan error
	table  string // quoted schema.baseline
}

// StartBaseline opens a pool of maxConns connections on dsn (configured as
// Tawasul's, by postgres.OpenPool), creates the schema and its table, and
// starts serving on a free port of 127.0.0.1.
func StartBaseline(ctx context.Context, dsn string, maxConns int32) (*Baseline, error) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "loadgen_" + hex.EncodeToString(b[:])
	pool, err := postgres.OpenPool(ctx, dsn, maxConns)
	if err != nil {
		return nil, fmt.Errorf("loadgen: baseline: %w", err)
	}
	bl := &Baseline{Schema: schema, pool: pool, table: pgx.Identifier{schema, "baseline"}.Sanitize()}
	create := `CREATE SCHEMA ` + pgx.Identifier{schema}.Sanitize() + `;
		CREATE TABLE ` + bl.table + ` (
			id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			message_sid text NOT NULL,
			from_number text NOT NULL,
			body        text NOT NULL,
			received_at timestamptz NOT NULL DEFAULT now()
		)`
	if _, err := pool.Exec(ctx, create); err != nil {
		pool.Close()
		return nil, fmt.Errorf("loadgen: baseline: create schema: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = bl.dropSchema()
		pool.Close()
		return nil, fmt.Errorf("loadgen: baseline: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+WebhookPath, bl.handle)
	bl.URL = "http://" + ln.Addr().String()
	bl.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	bl.served = make(chan error, 1)
	go func() { bl.served <- bl.srv.Serve(ln) }()
	return bl, nil
}

// handle is the whole baseline webhook.
func (b *Baseline) handle(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	_, err := b.pool.Exec(r.Context(), `INSERT INTO `+b.table+` (message_sid, from_number, body) VALUES ($1, $2, $3)`,
		r.PostForm.Get("MessageSid"), r.PostForm.Get("From"), r.PostForm.Get("Body"))
	if err != nil {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, baselineTwiML)
}

// Rows returns the number of rows the baseline has inserted.
func (b *Baseline) Rows(ctx context.Context) (int64, error) {
	var n int64
	err := b.pool.QueryRow(ctx, `SELECT count(*) FROM `+b.table).Scan(&n)
	return n, err
}

// ServerVersion returns the PostgreSQL server's version string.
func (b *Baseline) ServerVersion(ctx context.Context) (string, error) {
	var v string
	err := b.pool.QueryRow(ctx, `SHOW server_version`).Scan(&v)
	return v, err
}

// Close stops the server, drops the schema and closes the pool. It is safe
// to call once.
func (b *Baseline) Close(ctx context.Context) error {
	err := b.srv.Shutdown(ctx)
	if serr := <-b.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	err = errors.Join(err, b.dropSchema())
	b.pool.Close()
	if err != nil {
		return fmt.Errorf("loadgen: baseline: %w", err)
	}
	return nil
}

func (b *Baseline) dropSchema() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := b.pool.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{b.Schema}.Sanitize()+` CASCADE`)
	return err
}
