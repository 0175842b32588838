package main

import (
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/run"
	"golang.org/x/term"
)

// options are the flags every command shares.
type options struct {
	vars              []plan.VarArg
	noColor           bool
	acceptNewHostKeys bool
	hashKnownHosts    bool
	timeout           time.Duration
	commandTimeout    time.Duration
	parallel          int
	detailedExitCode  bool
	json              bool // plan: the JSON view
	reprovision       map[string]bool
	acceptHostKeys    map[string]string
	allowRisky        map[string]bool
	confirm           time.Duration
	askPassword       bool
	password          string
	askBecome         bool
	becomePassword    string
	dir               string
	sshConfigFile     string // -F
	verbose           bool   // -v
}

// nameSet collects repeatable host names (-reprovision pi).
type nameSet map[string]bool

func (n nameSet) String() string { return "" }

func (n nameSet) Set(s string) error {
	if s == "" {
		return fmt.Errorf("a host name is required")
	}
	n[s] = true
	return nil
}

// fingerprintSet collects repeatable -accept-host-key NAME=SHA256:FP.
type fingerprintSet map[string]string

func (f fingerprintSet) String() string { return "" }

func (f fingerprintSet) Set(s string) error {
	name, fp, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=SHA256:FINGERPRINT, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host")
	}
	fp = strings.TrimRight(fp, "=")
	b64, ok := strings.CutPrefix(fp, "SHA256:")
	if b, err := base64.RawStdEncoding.DecodeString(b64); !ok || err != nil || len(b) != sha256.Size {
		return fmt.Errorf("host %q: %q is not a SHA256 fingerprint: want SHA256: and 43 base64 characters, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host", name, fp)
	}
	if old, dup := f[name]; dup && old != fp {
		return fmt.Errorf("host %q: two different fingerprints given", name)
	}
	f[name] = fp
	return nil
}

// checkSet collects repeatable lockout check names (-allow-risky ufw-lockout).
type checkSet map[string]bool

func (c checkSet) String() string { return "" }

func (c checkSet) Set(s string) error {
	if !preflight.IsRefusalCheck(s) {
		return fmt.Errorf("unknown check %q: the checks are %s", s, strings.Join(preflight.RefusalChecks, ", "))
	}
	c[s] = true
	return nil
}

// varFlag appends -var and -var-file values in command-line order.
type varFlag struct {
	list   *[]plan.VarArg
	isFile bool
}

func (v varFlag) String() string { return "" }

func (v varFlag) Set(s string) error {
	if v.isFile {
		*v.list = append(*v.list, plan.VarArg{File: s})
	} else {
		*v.list = append(*v.list, plan.VarArg{Assign: s})
	}
	return nil
}

func newFlagSet(name string, o *options, stderr io.Writer, remote bool) *flag.FlagSet {
	fs := flag.NewFlagSet("hako "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(varFlag{&o.vars, false}, "var", "set a variable: -var name=value (repeatable)")
	fs.Var(varFlag{&o.vars, true}, "var-file", "read variables from an HCL file (repeatable)")
	fs.BoolVar(&o.noColor, "no-color", false, "never color the output")
	fs.StringVar(&o.sshConfigFile, "F", "",
		"read this ssh_config file instead of ~/.ssh/config and /etc/ssh/ssh_config (as ssh -F does)")
	fs.BoolVar(&o.verbose, "v", false, "say which connection settings came from the plan, ssh_config or the defaults, and what probing each host cost it (round trips, processes started there)")
	if remote {
		fs.BoolVar(&o.acceptNewHostKeys, "accept-new-host-keys", false,
			"trust and record host keys seen for the first time (never a changed key)")
		fs.BoolVar(&o.hashKnownHosts, "hash-known-hosts", false,
			"record new host keys under hashed names, as OpenSSH's HashKnownHosts yes does")
		fs.DurationVar(&o.timeout, "connect-timeout", 10*time.Second,
			"limit for connecting to a host (default: ssh_config's ConnectTimeout for the host, else 10s)")
		fs.DurationVar(&o.commandTimeout, "command-timeout", time.Hour,
			"limit for each command on a host; one still running then is killed and its task fails (0: no limit; a command task's or handler's timeout replaces it)")
		fs.IntVar(&o.parallel, "parallel", 0, fmt.Sprintf(
			"hosts worked on at once (default: all of the plan's hosts, at most %d, fewer when the open-file limit leaves no room)", run.MaxDefaultParallel))
		o.acceptHostKeys = map[string]string{}
		fs.Var(fingerprintSet(o.acceptHostKeys), "accept-host-key",
			"NAME=SHA256:FINGERPRINT: on first contact trust and record exactly this key for host NAME (the fingerprint read on its console), refuse any other (repeatable)")
		o.reprovision = map[string]bool{}
		fs.BoolVar(&o.askPassword, "ask-bootstrap-password", false,
			"ask once for the bootstrap user's password (a fresh card without your key); it is never stored or printed")
		fs.BoolVar(&o.askBecome, "ask-become-password", false,
			"ask once for the sudo password of hosts with become = true whose sudo asks for one (unless the host sets become_password); it is never stored or printed")
		fs.Var(nameSet(o.reprovision), "reprovision",
			"accept the changed host key of this host (a reflashed card): its old keys are removed from known_hosts (repeatable)")
		o.allowRisky = map[string]bool{}
		fs.Var(checkSet(o.allowRisky), "allow-risky",
			"go ahead although this lockout check refuses the plan; it is reported as a warning (repeatable): "+strings.Join(preflight.RefusalChecks, ", "))
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hako %s [options] DIR\n\nOptions:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parse accepts flags before and after the plan directory, like
// `hako apply examples/pi -var-file pi.hcl`.
func parse(fs *flag.FlagSet, args []string, o *options) error {
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		dirs = append(dirs, rest[0])
		args = rest[1:]
	}
	// An explicit -connect-timeout wins over ssh_config's ConnectTimeout;
	// the flag's default does not.
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "connect-timeout" })
	if !timeoutSet {
		o.timeout = 0
	}
	switch len(dirs) {
	case 0:
		o.dir = "."
	case 1:
		o.dir = dirs[0]
	default:
		return fmt.Errorf("expected one plan directory, got %d: %v", len(dirs), dirs)
	}
	return nil
}

// colorOn: only on a terminal, and never when NO_COLOR is set.
func (o *options) colorOn(w io.Writer) bool {
	if o.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// wrapWidth wraps diagnostics to a terminal's width; never when piped,
// so that scripts can grep whole messages.
func wrapWidth(w io.Writer) uint {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
		return uint(cols - 1)
	}
	return 78
}
