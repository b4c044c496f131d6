// Package auth signs staff in: password hashing (argon2id), generated
// passwords, API tokens, and the sign-in check with its per-account limit
// and audit trail.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/alexedwards/argon2id"
)

// Passwords hashes and checks passwords with argon2id. At most two hashes
// run at once: each takes Params.Memory KiB, and sign-in bursts must not
// exhaust memory.
type Passwords struct {
	params *argon2id.Params
	sem    chan struct{}
}

// DefaultParams are OWASP's argon2id recommendation (64 MiB, 1 pass, 2 lanes);
// about 0.2 s per hash on the project's 2-core machines.
var DefaultParams = argon2id.DefaultParams

// FastParams are for tests only: cheap and insecure.
var FastParams = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// NewPasswords returns a Passwords using params (nil = DefaultParams).
func NewPasswords(params *argon2id.Params) *Passwords {
	if params == nil {
		params = DefaultParams
	}
	return &Passwords{params: params, sem: make(chan struct{}, 2)}
}

// Hash returns the PHC-format argon2id hash of pw.
func (p *Passwords) Hash(ctx context.Context, pw string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	h, err := argon2id.CreateHash(pw, p.params)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return h, nil
}

// Verify reports whether pw matches hash.
func (p *Passwords) Verify(ctx context.Context, pw, hash string) (bool, error) {
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	if err != nil {
		return false, fmt.Errorf("auth: verify password: %w", err)
	}
	return ok, nil
}

// dummyHash is verified against when no user matches, so that a wrong
// e-mail takes as long as a wrong password.
func (p *Passwords) dummyHash() string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$c29tZXNhbHRzb21lc2FsdA$4S6ls3aM0CDyI5ylyrd8xxEtQ0s0wQMEKl6kxdnwlUY",
		p.params.Memory, p.params.Iterations, p.params.Parallelism)
}

func (p *Passwords) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Passwords) release() { <-p.sem }

// passwordAlphabet has no look-alikes (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random 16-character password that is easy to
// read aloud and type.
func GeneratePassword() string {
	return randomString(16, passwordAlphabet)
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		var r [1]byte
		for {
			_, _ = rand.Read(r[:])
			// rejection sampling keeps the distribution uniform
			if int(r[0]) < 256-256%len(alphabet) {
				break
			}
		}
		b[i] = alphabet[int(r[0])%len(alphabet)]
	}
	return string(b)
}

// TokenPrefix starts every API token, so a leaked one is easy to recognise.
const TokenPrefix = "tws_"

// NewToken returns a new random API token, its SHA-256 hash (what is stored)
// and a short prefix for display.
func NewToken() (token string, hash []byte, prefix string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return token, HashToken(token), token[:len(TokenPrefix)+6]
}

// HashToken returns the SHA-256 of token, as stored.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
