package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/report"
	"github.com/hako-dev/hako/run"
)

// load reads and evaluates the plan, printing diagnostics. A nil plan means
// the command must exit 1 without contacting any host.
func load(o *options, stderr io.Writer, allowMissing bool) *plan.Plan {
	cfg, diags := plan.Load(o.dir, o.varFiles()...)
	var p *plan.Plan
	if !diags.HasErrors() {
		var d = diags
		p, d = plan.Build(cfg, plan.Inputs{Args: o.vars, Environ: os.Environ(), AllowMissing: allowMissing,
			SSHConfig: &hosts.SSHConfig{File: o.sshConfigFile}})
		diags = diags.Extend(d)
	}
	if len(diags) > 0 {
		_ = plan.WriteDiagnostics(stderr, cfg.Files(), diags, wrapWidth(stderr), o.colorOn(stderr))
	}
	if diags.HasErrors() {
		return nil
	}
	if err := checkHostNames(p, o.reprovision); err != nil {
		fmt.Fprintf(stderr, "Error: -reprovision: %v\n", err)
		return nil
	}
	accepted := map[string]bool{}
	for n := range o.acceptHostKeys {
		accepted[n] = true
	}
	if err := checkHostNames(p, accepted); err != nil {
		fmt.Fprintf(stderr, "Error: -accept-host-key: %v\n", err)
		return nil
	}
	if o.verbose {
		writeConnOrigins(stderr, p)
	}
	return p
}

// writeConnOrigins is -v: each host's connection settings and where each
// came from.
func writeConnOrigins(w io.Writer, p *plan.Plan) {
	for _, h := range p.Hosts {
		fmt.Fprintf(w, "host %q: connection settings\n", h.Name)
		writeOrigins(w, h.Conn, h.ConnFrom)
		if h.Bootstrap != nil && len(h.BootstrapFrom) > 0 {
			fmt.Fprintf(w, "host %q: bootstrap connection settings\n", h.Name)
			writeOrigins(w, *h.Bootstrap, h.BootstrapFrom)
		}
	}
}

func writeOrigins(w io.Writer, conn hosts.Config, from []hosts.Origin) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, o := range from {
		if o.Setting == "read" {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", o.Setting, o.Value, o.From)
	}
	for _, j := range conn.Jumps {
		fmt.Fprintf(tw, "  jump host\t%s@%s\t%s\n", j.User, net.JoinHostPort(j.Address, strconv.Itoa(j.Port)),
			"known_hosts "+j.KnownHostsFile+", identity files "+strings.Join(j.IdentityFiles, " "))
	}
	tw.Flush()
	for _, o := range from {
		if o.Setting == "read" {
			fmt.Fprintf(w, "  (ssh_config read with: %s)\n", o.Value)
		}
	}
}

// checkHostNames refuses a flag's host name that the plan does not have:
// a typo in -reprovision must not pass silently.
func checkHostNames(p *plan.Plan, names map[string]bool) error {
	known := map[string]bool{}
	var all []string
	for _, h := range p.Hosts {
		known[h.Name] = true
		all = append(all, h.Name)
	}
	for n := range names {
		if !known[n] {
			return fmt.Errorf("the plan has no host %q (its hosts: %s)", n, strings.Join(all, ", "))
		}
	}
	return nil
}

// varFiles are the -var-file paths, which Load must not read as plan.
func (o *options) varFiles() []string {
	var files []string
	for _, v := range o.vars {
		if v.File != "" {
			files = append(files, v.File)
		}
	}
	return files
}

func (o *options) runOptions() run.Options {
	cmdTimeout := o.commandTimeout
	if cmdTimeout == 0 {
		cmdTimeout = -1 // the flag's 0 is no limit, hosts' is its default
	}
	return run.Options{BootstrapPassword: o.password, BecomePassword: o.becomePassword, Passphrase: keyPassphrase(os.Stdin, os.Stderr), AcceptNewHostKeys: o.acceptNewHostKeys, AcceptHostKeys: o.acceptHostKeys, HashKnownHosts: o.hashKnownHosts, ConnectTimeout: o.timeout, Parallel: o.parallel,
		Reprovision: o.reprovision, AllowRisky: o.allowRisky, Confirm: o.confirm, ArmSafetyNet: armSafetyNet,
		CommandTimeout: cmdTimeout, Verbose: o.verbose}
}

func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	if err := parse(newFlagSet("validate", &o, stderr, false), args, &o); err != nil {
		return usageError(err, stderr)
	}
	p := load(&o, stderr, true)
	if p == nil {
		return 1
	}
	steps := 0
	for _, h := range p.Hosts {
		steps += len(h.Steps) + h.FactTasks()
	}
	fmt.Fprintf(stdout, "The plan is valid: %d host(s), %d task(s) in all.\n", len(p.Hosts), steps)
	return 0
}

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet("plan", &o, stderr, true)
	fs.BoolVar(&o.detailedExitCode, "detailed-exitcode", false, "exit 0: no changes, 2: changes, 1: error")
	fs.BoolVar(&o.json, "json", false, "write the plan as one JSON document (sensitive content is never in it)")
	if err := parse(fs, args, &o); err != nil {
		return usageError(err, stderr)
	}
	p := load(&o, stderr, false)
	if p == nil || !o.readPassword(stderr) {
		return 1
	}
	var view report.PlanView = report.NewHumanPlan(stdout, report.Style{Color: o.colorOn(stdout)})
	if o.json {
		view = report.NewJSONPlan(stdout)
	}
	sum := view.Plan(run.Plan(ctx, p, o.runOptions()))
	switch {
	case sum.Errors > 0:
		return 1
	case sum.ToChange > 0 && o.detailedExitCode:
		return 2
	}
	return 0
}

func cmdApply(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet("apply", &o, stderr, true)
	// What arms is run/policy.go's armsGuard: every change that can cut
	// SSH and that the guard can restore, not port moves alone; a change
	// to SSH's configuration arms it without -confirm too.
	fs.DurationVar(&o.confirm, "confirm", 0,
		"commit-confirmed: a change that can cut SSH (/etc/ssh, network or sudo configuration, a user's sudo rule, the firewall) "+
			"arms a rollback on the host, disarmed only over a new connection; unconfirmed within this time, the host rolls back "+
			"by itself. Port moves and changes to SSH's configuration (/etc/ssh, ssh's units, /etc/default/ssh, PAM, TCP wrappers) "+
			"are always guarded (default 10m). It also lets a connection brought up now "+
			"move the address hako uses (check address-move)")
	if err := parse(fs, args, &o); err != nil {
		return usageError(err, stderr)
	}
	p := load(&o, stderr, false)
	if p == nil || !o.readPassword(stderr) {
		return 1
	}
	st := report.Style{Color: o.colorOn(stdout)}
	var names []string
	for _, h := range p.Hosts {
		names = append(names, h.Name)
	}
	var view report.ApplyView = report.NewProgress(stdout, st, names)
	recaps := run.Apply(ctx, p, o.runOptions(), view)
	view.Recap(recaps)
	for _, r := range recaps {
		if r.Failed > 0 {
			return 1
		}
	}
	return 0
}

func usageError(err error, stderr io.Writer) int {
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "hako:", err)
	}
	return 1
}
