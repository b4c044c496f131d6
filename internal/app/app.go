// Package app wires Tawasul together and implements the `tawasul`
// subcommands. It is the only package that imports everything; cmd/tawasul
// only calls Run.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"tawasul/internal/config"
)

// Version is set at build time with -ldflags "-X tawasul/internal/app.Version=…".
var Version = "dev"

// Env is the process's outside world, passed in so tests can run commands
// side by side.
type Env struct {
	Args    []string // without the program name
	Environ []string // "K=V" strings
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e *Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the web server and River workers (starts a private PostgreSQL when DATABASE_URL is unset)", runServe},
		{"worker", "run River workers only, no web server", runWorker},
		{"migrate", "apply pending database migrations (or: migrate status)", runMigrate},
		{"user", "manage staff accounts: add, list, set-password, disable, enable", runUser},
		{"token", "manage API tokens: add, list, revoke", runToken},
		{"devdb", "the private development PostgreSQL: status, url, stop", runDevDB},
		{"loadgen", "benchmark the inbound-SMS webhook beside a same-run baseline: loadgen sms (make bench-sms)", runLoadgen},
		{"version", "print the version", func(_ context.Context, e *Env, _ []string) error {
			fmt.Fprintln(e.Stdout, "tawasul", Version)
			return nil
		}},
	}
}

// errUsage marks errors already explained by a usage message.
var errUsage = errors.New("usage")

// Run runs the subcommand named by e.Args and returns the process exit code.
func Run(ctx context.Context, e *Env) int {
	if len(e.Args) == 0 || e.Args[0] == "help" || e.Args[0] == "-h" || e.Args[0] == "--help" {
		if len(e.Args) > 1 {
			return Run(ctx, &Env{Args: []string{e.Args[1], "--help"}, Environ: e.Environ, Stdin: e.Stdin, Stdout: e.Stdout, Stderr: e.Stderr})
		}
		usage(e.Stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == e.Args[0] {
			err := c.run(ctx, e, e.Args[1:])
			switch {
			case err == nil, errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintln(e.Stderr, "tawasul "+c.name+":", err)
				return 1
			}
		}
	}
	fmt.Fprintf(e.Stderr, "tawasul: unknown command %q\n\n", e.Args[0])
	usage(e.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Tawasul (تواصل) — the municipality's direct-contact call-centre and volunteer service.

Usage: tawasul <command> [flags]    (tawasul <command> --help for its flags)

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nConfiguration comes from environment variables:\n")
	for _, v := range config.Variables() {
		def := ""
		if v.Default != "" {
			def = " (default " + v.Default + ")"
		}
		fmt.Fprintf(w, "  %-30s %s%s\n", v.Name, v.Description, def)
	}
}

// flagSet returns a FlagSet for a subcommand whose --help prints summary.
func flagSet(e *Env, name, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("tawasul "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage: tawasul %s\n\n%s\n", name, summary)
		if hasFlags(fs) {
			fmt.Fprintln(e.Stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseFlags parses args and maps flag errors to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// newLogger builds the process logger from the configuration.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadConfig reads the configuration from the environment.
func loadConfig(e *Env) (*config.Config, error) {
	return config.Load(e.Environ)
}

// Main is cmd/tawasul's entry point.
func Main(ctx context.Context) int {
	return Run(ctx, &Env{Args: os.Args[1:], Environ: os.Environ(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}
