package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/sdcard"
)

const sdcardUsage = `Usage: hako sdcard [options] BOOT_DIR PLAN_DIR

Prepares a freshly flashed Raspberry Pi OS card, whose boot partition is
mounted on BOOT_DIR, so that its first boot creates the plan's first user
(the host's bootstrap user, else its user) and lets it in over SSH with the
public key <identity_file>.pub only, with passwordless sudo. Nothing is
written outside BOOT_DIR; running it again changes nothing.

Options:
`

// cmdSdcard is `hako sdcard`: the plan gives the user and the key, package
// sdcard writes the files.
func cmdSdcard(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	var host string
	fs := newFlagSet("sdcard", &o, stderr, false)
	fs.StringVar(&host, "host", "", "the plan's host the card is for (needed when the plan has several)")
	fs.Usage = func() {
		fmt.Fprint(stderr, sdcardUsage)
		fs.PrintDefaults()
	}
	dirs, err := parseDirs(fs, args)
	if err != nil {
		return usageError(err, stderr)
	}
	if len(dirs) != 2 {
		fmt.Fprintf(stderr, "hako sdcard: expected BOOT_DIR and PLAN_DIR, got %d argument(s)\n\n", len(dirs))
		fs.Usage()
		return 1
	}
	bootDir := dirs[0]
	o.dir = dirs[1]

	cfg, diags := plan.Load(o.dir, o.varFiles()...)
	var user sdcard.FirstUser
	if !diags.HasErrors() {
		u, d := sdcard.FromPlan(cfg, plan.Inputs{Args: o.vars, Environ: os.Environ(),
			SSHConfig: &hosts.SSHConfig{File: o.sshConfigFile}}, host)
		user, diags = u, diags.Extend(d)
	}
	if len(diags) > 0 {
		_ = plan.WriteDiagnostics(stderr, cfg.Files(), diags, wrapWidth(stderr), o.colorOn(stderr))
	}
	if diags.HasErrors() {
		return 1
	}
	key, err := sdcard.LoadPublicKey(user.IdentityFile)
	if err != nil {
		fmt.Fprintln(stderr, "hako sdcard:", err)
		return 1
	}
	res, err := sdcard.Prepare(bootDir, user.Name, key, rand.Reader)
	if res != nil {
		res.Report(stdout, user.Source)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hako sdcard:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Boot the Pi from the card with Ethernet connected; then hako apply reaches it as %s with that key.\n", user.Name)
	return 0
}

// parseDirs accepts flags before, between and after the positional
// arguments, like parse does for the other commands.
func parseDirs(fs *flag.FlagSet, args []string) ([]string, error) {
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return dirs, nil
		}
		dirs = append(dirs, rest[0])
		args = rest[1:]
	}
}
