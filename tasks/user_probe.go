package tasks

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/hosts"
)

// What a user task learns from the host in one output probe: the account,
// its groups, its home's .ssh and authorized_keys, and hako's sudoers rule.

// probe prints, one tagged line each: the prober's uid and the user hako
// logged in as (sudo sets SUDO_USER); if the user exists, its passwd
// entry, groups, primary group, and the type, mode and owner of ~/.ssh and
// ~/.ssh/authorized_keys with the latter's content; then the same for the
// sudo rule. A missing user or file is just a missing line or "-".
// authorized_keys is read as the user, as sshd reads it: the user can swap
// it for a link to any file between a check and a read, and root would
// then show that file's lines in the plan or copy them into the new
// authorized_keys; "k-" says the user cannot read it.
func (u *User) probe() string {
	return `n=` + hosts.Quote(u.name) + `; f=` + hosts.Quote(u.sudoersPath()) + `
echo "U $(id -u) ${SUDO_USER:-$(id -un)}"
st() { if _s=$(stat -c '%a:%U:%G:%F' -- "$2" 2>/dev/null); then echo "$1 $_s"; else echo "$1 -"; fi; }
rd() { if [ -f "$2" ] && [ ! -L "$2" ]; then printf '%s ' "$1"; base64 -w0 < "$2"; echo; fi; }
rdu() { if [ -f "$2" ] && [ ! -L "$2" ]; then
  if _o=$(setpriv --reuid="$_u" --regid="$_g" --init-groups -- base64 -w0 -- "$2" 2>/dev/null); then printf '%s %s\n' "$1" "$_o"; else echo "$1-"; fi
fi; }
if pw=$(getent passwd -- "$n"); then
  echo "P $pw"
  echo "G $(id -nG -- "$n")"
  echo "g $(id -gn -- "$n")"
  _u=$(id -u -- "$n"); _g=$(id -g -- "$n")
  h=$(printf '%s\n' "$pw" | cut -d: -f6)
  st D "$h/.ssh"; st K "$h/.ssh/authorized_keys"; rdu k "$h/.ssh/authorized_keys"
fi
st S "$f"; rd s "$f"`
}

func (u *User) Probes() []Probe { return []Probe{{ProbeOut, u.probe()}} }

// fileMeta is a stat answer of the user probe.
type fileMeta struct {
	exists       bool
	mode         int
	owner, group string
	typ          string
}

func (m fileMeta) String() string { return fmt.Sprintf("%04o %s", m.mode, m.owner) }

// userFacts is what the probe learned.
type userFacts struct {
	uid     int    // of the probing shell: root is needed
	login   string // the user hako is logged in as
	exists  bool
	shell   string
	home    string
	groups  []string // all of them, primary first (id -nG)
	primary string
	sshDir  fileMeta
	keyFile fileMeta
	keys    []byte
	keysBad bool // authorized_keys exists but its user cannot read it
	sudo    fileMeta
	rule    []byte
}

func parseUserFacts(out Output) (*userFacts, error) {
	f := &userFacts{uid: -1}
	sc := bufio.NewScanner(bytes.NewReader(out.Stdout))
	sc.Buffer(make([]byte, 64*1024), 4*MaxRead)
	bad := func(line string) error { return fmt.Errorf("unexpected answer from the user probe: %.80q", line) }
	for sc.Scan() {
		line := sc.Text()
		tag, rest, _ := strings.Cut(line, " ")
		var err error
		switch tag {
		case "U":
			uid, login, _ := strings.Cut(rest, " ")
			if f.uid, err = strconv.Atoi(uid); err != nil {
				return nil, bad(line)
			}
			f.login = login
		case "P":
			fields := strings.Split(rest, ":")
			if len(fields) != 7 {
				return nil, bad(line)
			}
			f.exists, f.home, f.shell = true, fields[5], fields[6]
		case "G":
			f.groups = strings.Fields(rest)
		case "g":
			f.primary = rest
		case "D":
			f.sshDir, err = parseFileMeta(rest)
		case "K":
			f.keyFile, err = parseFileMeta(rest)
		case "S":
			f.sudo, err = parseFileMeta(rest)
		case "k":
			f.keys, err = base64.StdEncoding.DecodeString(rest)
		case "k-":
			f.keysBad = true
		case "s":
			f.rule, err = base64.StdEncoding.DecodeString(rest)
		default:
			return nil, bad(line)
		}
		if err != nil {
			return nil, bad(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the user probe's answer: %w", err)
	}
	if f.uid < 0 {
		return nil, fmt.Errorf("the user probe did not answer (exit status %d)", out.ExitCode)
	}
	return f, nil
}

// parseFileMeta reads "MODE:USER:GROUP:TYPE" or "-".
func parseFileMeta(s string) (fileMeta, error) {
	if s == "-" {
		return fileMeta{}, nil
	}
	p := strings.SplitN(s, ":", 4)
	if len(p) != 4 {
		return fileMeta{}, errors.New("bad stat answer")
	}
	mode, err := strconv.ParseInt(p[0], 8, 32)
	if err != nil {
		return fileMeta{}, err
	}
	typ := p[3]
	if typ == "regular empty file" { // what GNU stat says of an empty one
		typ = "regular file"
	}
	return fileMeta{exists: true, mode: int(mode), owner: p[1], group: p[2], typ: typ}, nil
}
