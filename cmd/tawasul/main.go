// Command tawasul is the municipality's direct-contact call-centre and
// volunteer service. Run `tawasul help` for its subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"tawasul/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx)
	stop()
	os.Exit(code)
}
