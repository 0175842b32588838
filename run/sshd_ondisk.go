package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/tasks"
)

// A new login proves the sshd that runs at the end of the run. A run that
// changed sshd's files without restarting sshd would be confirmed by the
// old sshd, and the next restart would lock hako out. So, when the run
// changed a file under /etc/ssh, the confirmation also asks the sshd on
// disk, over the new connection, what it would do with hako's login:
// `sshd -t`, then `sshd -T -C` for hako's user and connection, judged by
// the same rules as the lockout checks.

// sshdBinary is where Debian's openssh-server puts sshd.
const sshdBinary = "/usr/sbin/sshd"

// changesSSHDFiles reports whether a changed step writes a file under
// /etc/ssh, where sshd and what it includes live; sensitive, whether a
// step writes sensitive content there (then what sshd says of its files
// is not shown: it may quote that content).
func changesSSHDFiles(steps []*plan.Step, changes map[*plan.Step]*tasks.Change, env tasks.Env) (changed, sensitive bool) {
	inSSHD := func(p string) bool { return strings.HasPrefix(p, "/etc/ssh/") }
	for _, s := range steps {
		if f, ok := s.Task.(tasks.PlannedFile); ok && inSSHD(f.ManagedPath()) {
			if _, hidden := f.PlannedContent(); hidden {
				sensitive = true
			}
		}
	}
	return changedStepWriting(steps, changes, env, inSSHD) != nil, sensitive
}

// sshdOnDiskScript asks the host, in one command, whether sshd's files
// pass sshd -t, how the host sees the connection the script runs over
// (the confirming one: hosts' Run passes SSH_CONNECTION through sudo as
// HAKO_SSH_CONNECTION), user's groups, whether ssh.socket holds sshd's
// port, and sshd -T for user over that connection. Each answer starts
// with a line of its own, so that output from something other than this
// script (a ForceCommand) is not taken for an answer.
func sshdOnDiskScript(user string) string {
	return `sshd=` + sshdBinary + `
if [ ! -x "$sshd" ]; then echo 'hako-sshd: none'; exit 0; fi
if ! out=$("$sshd" -t 2>&1); then printf 'hako-sshd: invalid\n%s\n' "$out"; exit 0; fi
set -- ${HAKO_SSH_CONNECTION:-$SSH_CONNECTION}
if [ $# -ne 4 ]; then echo 'hako-sshd: noconn'; exit 0; fi
echo 'hako-sshd: valid'
printf 'hako-sshd-conn: %s %s %s\n' "$1" "$3" "$4"
printf 'hako-sshd-groups: %s\n' "$(id -Gn -- ` + hosts.Quote(user) + ` 2>/dev/null)"
if command -v systemctl >/dev/null 2>&1 && { systemctl is-enabled --quiet ssh.socket 2>/dev/null || systemctl is-active --quiet ssh.socket 2>/dev/null; }; then echo 'hako-sshd-socket: yes'; fi
echo 'hako-sshd-T:'
"$sshd" -T -C "user="` + hosts.Quote(user) + `",host=$1,addr=$1,laddr=$3,lport=$4" 2>&1 || echo "hako-sshd-T-failed: $?"
`
}

// errSSHDUnknown: the host could not say what sshd on disk would do; the
// run falls back to the login alone (with a note).
type errSSHDUnknown struct{ why string }

func (e errSSHDUnknown) Error() string { return e.why }

// judgeSSHDOnDisk asks the sshd on the host's disk, over the new
// connection c, whether it would let hako's login in once it restarts: an
// error (naming why) when it would not. A refusal that a lockout check
// covers, when -allow-risky overrides that check, is a warning instead:
// the operator forced that change, and the override holds for the sshd
// on disk as it did for the plan.
func (a *hostApply) judgeSSHDOnDisk(ctx context.Context, c hosts.Host, sensitive bool) error {
	user := a.host.Conn.User
	res, err := c.Run(ctx, sshdOnDiskScript(user))
	if err != nil {
		return fmt.Errorf("asking sshd over the new connection how it would judge the next login: %w", err)
	}
	why, check, err := judgeSSHDAnswer(res.Stdout, user, sensitive)
	if unknown, ok := err.(errSSHDUnknown); ok {
		a.rep.Note(a.host.Name, unknown.why+"; only the login proves the change, against the sshd running now")
		return nil
	}
	if err != nil {
		return err
	}
	if why == "" {
		return nil
	}
	f := preflight.Finding{Check: check, Message: fmt.Sprintf("sshd's configuration on disk would refuse the next login of %s once sshd restarts: %s", user, why)}
	if overrides(check, a.conn.allow, false) {
		f.Overridden = true
		a.rep.Warning(a.host.Name, f.String())
		return nil
	}
	if check != "" {
		return fmt.Errorf("%s (check %s; -allow-risky %s overrides it)", f.Message, check, check)
	}
	return errors.New(f.Message)
}

// judgeSSHDAnswer reads sshdOnDiskScript's output: why sshd would refuse
// user's login over the connection the script ran on ("" when it would
// not), and the lockout check that covers why ("" none: see
// sshdTestCheck and preflight.SSHDEffectiveRefusal); errSSHDUnknown when
// the host could not tell.
func judgeSSHDAnswer(out []byte, user string, sensitive bool) (why, check string, err error) {
	head, rest, _ := bytes.Cut(out, []byte("\n"))
	switch string(head) {
	case "hako-sshd: none":
		return "", "", errSSHDUnknown{"cannot ask sshd how it would judge the next login: no " + sshdBinary + " on the host"}
	case "hako-sshd: noconn":
		return "", "", errSSHDUnknown{"cannot ask sshd how it would judge the next login: the host did not say how it sees the connection"}
	case "hako-sshd: invalid":
		check := sshdTestCheck(rest)
		if sensitive {
			return "sshd -t refuses it (its message is not shown: a file under /etc/ssh holds sensitive content)", check, nil
		}
		msg := strings.TrimSpace(string(rest))
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if len(msg) > 200 {
			msg = msg[:197] + "..."
		}
		return "sshd -t: " + msg, check, nil
	case "hako-sshd: valid":
	default:
		// Not this script's answer: sshd ran something in its place. The
		// disarm, which must print its own line, refuses such a login.
		return "", "", nil
	}
	l := preflight.SSHDLogin{User: user, Sensitive: sensitive}
	info, dump, ok := bytes.Cut(rest, []byte("hako-sshd-T:\n"))
	if !ok {
		return "", "", nil
	}
	for _, line := range strings.Split(string(info), "\n") {
		if g, ok := strings.CutPrefix(line, "hako-sshd-groups: "); ok {
			l.Groups = strings.Fields(g)
		}
		if conn, ok := strings.CutPrefix(line, "hako-sshd-conn: "); ok {
			if f := strings.Fields(conn); len(f) == 3 {
				l.Addr, l.LAddr = f[0], f[1]
				l.LPort, _ = strconv.Atoi(f[2])
			}
		}
		if line == "hako-sshd-socket: yes" {
			l.Socket = true
		}
	}
	if l.Addr == "" || l.LPort == 0 {
		return "", "", errSSHDUnknown{"cannot ask sshd how it would judge the next login: the host did not say how it sees the connection"}
	}
	if i := bytes.Index(dump, []byte("hako-sshd-T-failed: ")); i >= 0 {
		msg := strings.TrimSpace(string(dump[:i]))
		if sensitive {
			msg = "(its message is not shown: a file under /etc/ssh holds sensitive content)"
		}
		if len(msg) > 200 {
			msg = msg[:197] + "..."
		}
		return "", "", errSSHDUnknown{"cannot ask sshd how it would judge the next login: sshd -T failed: " + msg}
	}
	why, check = preflight.SSHDEffectiveRefusal(dump, l)
	return why, check, nil
}

// sshdTestCheck is the lockout check that covers what sshd -t refused
// (its output is msg): sshd-include refuses, at plan time, Includes that
// nest too deep or loop, which sshd -t reports as too many recursive
// includes. No check judges sshd's syntax otherwise: "".
func sshdTestCheck(msg []byte) string {
	if bytes.Contains(msg, []byte("Too many recursive configuration includes")) {
		return preflight.CheckSSHDInclude
	}
	return ""
}
