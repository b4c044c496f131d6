package app

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"tawasul/internal/auth"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
)

// withStore runs f with a store on a migrated database.
func withStore(ctx context.Context, e *Env, f func(*postgres.Store) error) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.Stderr)
	db, err := openDatabase(ctx, cfg, log, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.requireCurrent(ctx); err != nil {
		return err
	}
	return f(postgres.New(db.Pool))
}

func runMigrate(ctx context.Context, e *Env, args []string) error {
	fs := flagSet(e, "migrate [status]", "Applies pending migrations (Tawasul's and River's). Safe to run from several instances at once.\n\"tawasul migrate status\" says whether any migration is pending, and applies none.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 || (fs.NArg() == 1 && fs.Arg(0) != "status") {
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.Stderr)
	db, err := openDatabase(ctx, cfg, log, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	if fs.Arg(0) == "status" {
		pending, err := db.pending(ctx)
		if err != nil {
			return err
		}
		if pending {
			fmt.Fprintln(e.Stdout, "migrations pending")
		} else {
			fmt.Fprintln(e.Stdout, "database is current")
		}
		return nil
	}
	n, err := db.migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "applied %d migration(s)\n", n)
	return nil
}

func runUser(ctx context.Context, e *Env, args []string) error {
	const summary = `Manages staff accounts.
  tawasul user add --email E --name N --role R[,R…] [--department CODE]
        reads the password from stdin (one line), or generates one and prints it once
  tawasul user list
  tawasul user set-password --email E     (password from stdin, or generated and printed)
  tawasul user disable --email E          (ends the user's sign-ins)
  tawasul user enable --email E
Roles: admin, supervisor, agent, moderator, coordinator, department (department needs --department).`
	fs := flagSet(e, "user <add|list|set-password|disable|enable> [flags]", summary)
	email := fs.String("email", "", "the user's e-mail address")
	name := fs.String("name", "", "the user's full name (add)")
	role := fs.String("role", "", "comma-separated roles (add)")
	dept := fs.String("department", "", "department code, for the department role (add)")
	verb, err := parseVerb(fs, args, "add", "list", "set-password", "disable", "enable")
	if err != nil {
		return err
	}
	passwords := auth.NewPasswords(nil)
	return withStore(ctx, e, func(s *postgres.Store) error {
		switch verb {
		case "add":
			addr, err := tawasul.NormalizeEmail(*email)
			if err != nil {
				return err
			}
			roles, err := tawasul.ParseRoles(*role)
			if err != nil {
				return err
			}
			if strings.TrimSpace(*name) == "" {
				return fmt.Errorf("--name is required")
			}
			pw, generated, err := readPassword(e)
			if err != nil {
				return err
			}
			hash, err := passwords.Hash(ctx, pw)
			if err != nil {
				return err
			}
			u, err := s.UserInsert(ctx, postgres.UserInsertParams{Email: addr, Name: strings.TrimSpace(*name),
				PasswordHash: hash, Roles: roles, DepartmentCode: *dept, MustChangePassword: generated})
			if err != nil {
				return err
			}
			_ = s.AuditInsert(ctx, postgres.AuditEntry{Actor: "cli", Action: "user.created", Subject: addr})
			fmt.Fprintf(e.Stdout, "created user %d <%s>\n", u.ID, u.Email)
			if generated {
				fmt.Fprintf(e.Stdout, "one-time password: %s\n", pw)
			}
			return nil
		case "list":
			users, err := s.UserList(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tE-MAIL\tNAME\tROLES\tDEPARTMENT\tSTATE")
			for _, u := range users {
				state := "active"
				if u.Disabled() {
					state = "disabled"
				}
				roles := make([]string, len(u.Roles))
				for i, r := range u.Roles {
					roles[i] = string(r)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, strings.Join(roles, ","), u.DepartmentCode, state)
			}
			return tw.Flush()
		case "set-password":
			addr, err := tawasul.NormalizeEmail(*email)
			if err != nil {
				return err
			}
			pw, generated, err := readPassword(e)
			if err != nil {
				return err
			}
			hash, err := passwords.Hash(ctx, pw)
			if err != nil {
				return err
			}
			if err := s.UserSetPassword(ctx, addr, hash, generated); err != nil {
				return err
			}
			_ = s.AuditInsert(ctx, postgres.AuditEntry{Actor: "cli", Action: "user.password_set", Subject: addr})
			fmt.Fprintln(e.Stdout, "password changed")
			if generated {
				fmt.Fprintf(e.Stdout, "one-time password: %s\n", pw)
			}
			return nil
		case "disable", "enable":
			addr, err := tawasul.NormalizeEmail(*email)
			if err != nil {
				return err
			}
			if err := s.UserSetDisabled(ctx, addr, verb == "disable"); err != nil {
				return err
			}
			_ = s.AuditInsert(ctx, postgres.AuditEntry{Actor: "cli", Action: "user." + verb + "d", Subject: addr})
			fmt.Fprintf(e.Stdout, "user %sd\n", verb)
			return nil
		}
		fs.Usage()
		return errUsage
	})
}

// readPassword reads one line from stdin; with nothing there (an empty line
// or a terminal-less empty stdin) it generates a password instead.
func readPassword(e *Env) (pw string, generated bool, err error) {
	if e.Stdin != nil {
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", false, err
		}
		if pw = strings.TrimRight(line, "\r\n"); pw != "" {
			return pw, false, tawasul.ValidatePassword(pw)
		}
	}
	return auth.GeneratePassword(), true, nil
}

func runToken(ctx context.Context, e *Env, args []string) error {
	const summary = `Manages API tokens for the JSON API (/api/v1/…, header "Authorization: Bearer <token>").
  tawasul token add --name N --role R    prints the new token once; only its hash is stored
  tawasul token list
  tawasul token revoke --id ID`
	fs := flagSet(e, "token <add|list|revoke> [flags]", summary)
	name := fs.String("name", "", "what the token is for (add)")
	role := fs.String("role", "", "the role the token acts with (add)")
	id := fs.Int64("id", 0, "token id (revoke)")
	verb, err := parseVerb(fs, args, "add", "list", "revoke")
	if err != nil {
		return err
	}
	return withStore(ctx, e, func(s *postgres.Store) error {
		switch verb {
		case "add":
			r, err := tawasul.ParseRole(*role)
			if err != nil {
				return err
			}
			if strings.TrimSpace(*name) == "" {
				return fmt.Errorf("--name is required")
			}
			token, hash, prefix := auth.NewToken()
			t, err := s.APITokenInsert(ctx, strings.TrimSpace(*name), r, hash, prefix)
			if err != nil {
				return err
			}
			_ = s.AuditInsert(ctx, postgres.AuditEntry{Actor: "cli", Action: "token.created", Subject: "token:" + strconv.FormatInt(t.ID, 10)})
			fmt.Fprintf(e.Stdout, "token %d (%s, role %s) — shown once, store it now:\n%s\n", t.ID, t.Name, t.Role, token)
			return nil
		case "list":
			tokens, err := s.APITokenList(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tPREFIX\tCREATED\tLAST USED\tSTATE")
			for _, t := range tokens {
				state, last := "live", "never"
				if t.RevokedAt != nil {
					state = "revoked"
				}
				if t.LastUsedAt != nil {
					last = t.LastUsedAt.UTC().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Prefix,
					t.CreatedAt.UTC().Format("2006-01-02 15:04"), last, state)
			}
			return tw.Flush()
		case "revoke":
			if err := s.APITokenRevoke(ctx, *id); err != nil {
				return err
			}
			_ = s.AuditInsert(ctx, postgres.AuditEntry{Actor: "cli", Action: "token.revoked", Subject: "token:" + strconv.FormatInt(*id, 10)})
			fmt.Fprintln(e.Stdout, "token revoked")
			return nil
		}
		fs.Usage()
		return errUsage
	})
}

// parseVerb reads "<verb> [flags]" for a command whose first argument is
// one of verbs. Help (-h, --help) and an unknown or missing verb are
// answered here, before the command opens a database.
func parseVerb(fs *flag.FlagSet, args []string, verbs ...string) (string, error) {
	if len(args) == 0 || !slices.Contains(verbs, args[0]) {
		if err := parseFlags(fs, args); err != nil {
			return "", err // flag.ErrHelp after printing the usage, or errUsage
		}
		fs.Usage()
		return "", errUsage
	}
	return args[0], parseFlags(fs, args[1:])
}

func runDevDB(ctx context.Context, e *Env, args []string) error {
	fs := flagSet(e, "devdb <status|url|stop>", "The private PostgreSQL cluster used when DATABASE_URL is unset (in TAWASUL_DATA_DIR/pg).\n  status  where its data directory is\n  url     start it if needed and print its URL (for psql)\n  stop    stop it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL != "" {
		return fmt.Errorf("DATABASE_URL is set: there is no private cluster to manage")
	}
	c := devCluster(cfg, newLogger(cfg, e.Stderr))
	switch fs.Arg(0) {
	case "url":
		dsn, _, err := c.Start(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, dsn)
		return nil
	case "stop":
		running, err := c.Running()
		if err != nil {
			return err
		}
		if err := c.Stop(ctx); err != nil {
			return err
		}
		if running {
			fmt.Fprintln(e.Stdout, "stopped")
		} else {
			fmt.Fprintln(e.Stdout, "not running")
		}
		return nil
	case "status", "":
		fmt.Fprintln(e.Stdout, "data directory:", c.DataDir)
		return nil
	}
	fs.Usage()
	return errUsage
}
