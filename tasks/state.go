package tasks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/rootpath"
)

// ProbeKind is a kind of question about the host.
type ProbeKind byte

const (
	ProbeStat ProbeKind = 'S' // lstat of a path
	ProbeRead ProbeKind = 'C' // content of a regular file
	ProbeExit ProbeKind = 'X' // exit status of a read-only command
	ProbeOut  ProbeKind = 'O' // exit status and output of a read-only command
	// ProbeLeftovers: hako's temp files left in a folder by interrupted
	// writes, and whether the folder is root's alone.
	ProbeLeftovers ProbeKind = 'T'

	// ProbeSensitive is added to a Kind (ProbeStat|ProbeSensitive) when
	// Arg derives from a sensitive value, such as a command's creates
	// guard: errors then name the probe by its kind only. A flag in the
	// kind, not another field, keeps every Probe{Kind, Arg} literal as it is.
	ProbeSensitive ProbeKind = 0x80
)

// base is the kind without the ProbeSensitive flag.
func (k ProbeKind) base() ProbeKind { return k &^ ProbeSensitive }

// Probe is one question Check needs answered. Probes of all tasks of a host
// are answered by one script in one round trip.
type Probe struct {
	Kind ProbeKind
	Arg  string // a path or a command
}

// describe names a probe in errors: a path by its quoted text, unless it
// is sensitive; a command by its kind only, as its text may carry a secret
// and is long.
func (p Probe) describe() string {
	var what string
	switch p.Kind.base() {
	case ProbeStat:
		what = "the path probe (stat)"
	case ProbeRead:
		what = "the file probe (read)"
	case ProbeLeftovers:
		what = "the folder probe (leftover temp files)"
	default:
		return "a command probe"
	}
	if p.Kind&ProbeSensitive != 0 {
		return what + " of a sensitive path (not shown)"
	}
	return what + " of " + strconv.Quote(p.Arg)
}

// MaxRead is the largest file whose content the probe brings back; larger
// files are compared by hash.
const MaxRead = 1 << 20

// FileInfo is what a stat probe learned. Exists is false for a missing path.
type FileInfo struct {
	Exists   bool
	Type     string // "regular file", "directory", "symbolic link", ...
	Mode     int    // permission bits
	User     string // owner name ("UNKNOWN" when the uid has none)
	Group    string
	UID, GID int
	Size     int64
}

// Content is what a read probe learned.
type Content struct {
	Readable bool   // a regular file no larger than MaxRead
	Data     []byte // when Readable
	SHA256   string // hex, for files larger than MaxRead
}

// State holds the answers to a host's probes.
type State struct {
	stats    map[string]FileInfo
	contents map[string]Content
	exits    map[string]int
	outputs  map[string]Output
	leftover map[string]Leftovers
	// Endpoint is the connection the run uses (zero for a local host), so
	// that firewall tasks can refuse to cut it.
	Endpoint hosts.Endpoint
	// MigrateTo is the SSH port the plan moves the host to while hako is
	// connected through the host's bootstrap settings (0 otherwise).
	MigrateTo int
	// AllowRisky holds the checks the operator overrides (-allow-risky):
	// a task whose refusal names one goes ahead instead.
	AllowRisky map[string]bool
}

// Output is what an output probe learned: the command's exit status and
// standard output (its errors are discarded).
type Output struct {
	ExitCode int
	Stdout   []byte
}

func newState() *State {
	return &State{stats: map[string]FileInfo{}, contents: map[string]Content{}, exits: map[string]int{},
		outputs: map[string]Output{}, leftover: map[string]Leftovers{}}
}

// Stat returns the stat answer for path. Like the accessors below, it
// panics if nobody asked: that is a bug in the task kind, which must list
// the path in Probes.
func (s *State) Stat(path string) FileInfo { return answer(s.stats, "stat", path) }

// Content returns the read answer for path.
func (s *State) Content(path string) Content { return answer(s.contents, "read", path) }

// Leftovers returns the answer of a leftover probe for the folder dir.
func (s *State) Leftovers(dir string) Leftovers { return answer(s.leftover, "leftover", dir) }

// Exit returns the exit status of a probed command.
func (s *State) Exit(cmd string) int { return answer(s.exits, "exit", cmd) }

// Output returns the answer of an output probe.
func (s *State) Output(cmd string) Output { return answer(s.outputs, "output", cmd) }

func answer[T any](answers map[string]T, kind, key string) T {
	v, ok := answers[key]
	if !ok {
		panic("tasks: no " + kind + " probe for " + key)
	}
	return v
}

// probeFuncs answer one probe each and print one line per answer. They run
// as the become user. c reads a file as root only when the folders on its
// way are root's alone (route, in rootpath.Funcs); else as the one user who owns folders or
// links there (or as nobody, under a folder anyone may write): whoever can
// change a folder on the way could swap the file, or the folder, for a
// link to /etc/shadow after the [ ! -L ] test, and root would show its
// lines in the plan's diff. x runs its command in a subshell with no
// input, so a broken command only fails its own probe.
// LC_ALL=C: the answers are parsed (stat %F, systemctl, dpkg-query), and a
// host in another language (LANG=ja_JP.UTF-8, LANGUAGE=ja) would translate
// them; sshd passes the login locale on and sudo keeps it.
var probeFuncs = `export LC_ALL=C
s() { if _s=$(stat -c '%F	%a	%U	%G	%u	%g	%s' -- "$2" 2>/dev/null); then echo "S $1 $_s"; else echo "S $1 -"; fi; }
ra() { _a=; [ "$(id -u)" = 0 ] || return 0; route "${1%/*}"
  case $_ru in
  '') ;;
  -) _a="setpriv --reuid=65534 --regid=65534 --clear-groups --" ;;
  *) _a="setpriv --reuid=${_ru% *} --regid=${_ru#* } --clear-groups --" ;;
  esac; }
c() { if [ -f "$2" ] && [ ! -L "$2" ] && [ -r "$2" ]; then ra "$2"
  if [ "$(stat -c %s -- "$2")" -le ` + "1048576" + ` ]; then
    if _o=$($_a base64 -w0 -- "$2" 2>/dev/null); then echo "C $1 $_o"; else echo "C $1 -"; fi
  elif _o=$($_a sha256sum -- "$2" 2>/dev/null); then echo "H $1 ${_o%% *}"; else echo "C $1 -"; fi
else echo "C $1 -"; fi; }
x() { ( eval "$2" ) </dev/null >/dev/null 2>&1; echo "X $1 $?"; }
o() { _o=$( ( eval "$2" ) </dev/null 2>/dev/null; echo "=$?" ); printf 'O %s %s ' "$1" "${_o##*=}"; printf '%s' "${_o%=*}" | base64 -w0; echo; }
` + rootpath.Funcs + leftoverProbeFunc

const endMarker = "E hako-probe-end"

// Script builds the probe script for a list of probes; identical probes
// are asked once. It returns the script and the probe of each index.
func Script(probes []Probe) (string, []Probe) {
	var b strings.Builder
	b.WriteString(probeFuncs)
	seen := map[Probe]bool{}
	var order []Probe
	for _, p := range probes {
		if seen[p] {
			continue
		}
		seen[p] = true
		fn := map[ProbeKind]string{ProbeStat: "s", ProbeRead: "c", ProbeExit: "x", ProbeOut: "o", ProbeLeftovers: "t"}[p.Kind.base()]
		fmt.Fprintf(&b, "%s %d %s\n", fn, len(order), hosts.Quote(p.Arg))
		order = append(order, p)
	}
	// How the host sees this connection (sshd sets it; hosts passes it
	// through sudo), which is more than the client knows behind NAT.
	b.WriteString(`echo "N ${HAKO_SSH_CONNECTION:-$SSH_CONNECTION}"` + "\n")
	b.WriteString("echo '" + endMarker + "'\n")
	return b.String(), order
}

// Gather answers all probes with one remote command.
func Gather(ctx context.Context, h hosts.Host, probes []Probe) (*State, error) {
	script, order := Script(probes)
	res, err := h.Run(ctx, script)
	if err != nil {
		return nil, fmt.Errorf("gathering state: %w", err)
	}
	if res.StdoutTruncated {
		return nil, fmt.Errorf("gathering state: the host's answers are larger than %d MiB, the most hako reads from one command; manage fewer large files on this host",
			hosts.MaxStdout>>20)
	}
	if res.ExitCode != 0 || !bytes.Contains(res.Stdout, []byte(endMarker)) {
		return nil, fmt.Errorf("gathering state: the probe script exited %d: %s",
			res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	st, err := ParseAnswers(res.Stdout, order)
	if err != nil {
		return nil, err
	}
	if eh, ok := h.(hosts.EndpointHost); ok && st.Endpoint.ServerPort == 0 {
		st.Endpoint = eh.Endpoint()
	}
	return st, nil
}

// ParseAnswers reads the probe script's output; order is what Script returned.
func ParseAnswers(out []byte, order []Probe) (*State, error) {
	st := newState()
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*MaxRead)
	for sc.Scan() {
		line := sc.Text()
		if line == endMarker || line == "" {
			continue
		}
		tag, rest, _ := strings.Cut(line, " ")
		if tag == "N" {
			st.Endpoint = parseSSHConnection(rest)
			continue
		}
		idxText, payload, _ := strings.Cut(rest, " ")
		idx, err := strconv.Atoi(idxText)
		if err != nil || idx < 0 || idx >= len(order) || len(tag) != 1 {
			return nil, fmt.Errorf("gathering state: unexpected line from the host: %.80q", line)
		}
		p := order[idx]
		if err := st.record(tag[0], p, payload); err != nil {
			return nil, fmt.Errorf("gathering state for %s: %w", p.describe(), err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gathering state: %w", err)
	}
	for _, p := range order {
		if !st.answered(p) {
			return nil, fmt.Errorf("gathering state: no answer for %s", p.describe())
		}
	}
	return st, nil
}

func (st *State) record(tag byte, p Probe, payload string) error {
	switch tag {
	case 'S':
		fi, err := parseStat(payload)
		st.stats[p.Arg] = fi
		return err
	case 'C':
		if payload == "-" {
			st.contents[p.Arg] = Content{}
			return nil
		}
		data, err := base64.StdEncoding.DecodeString(payload)
		st.contents[p.Arg] = Content{Readable: true, Data: data}
		return err
	case 'H':
		st.contents[p.Arg] = Content{SHA256: payload}
	case 'T':
		lo, err := parseLeftovers(p.Arg, payload)
		st.leftover[p.Arg] = lo
		return err
	case 'X':
		code, err := strconv.Atoi(payload)
		st.exits[p.Arg] = code
		return err
	case 'O':
		codeText, b64, _ := strings.Cut(payload, " ")
		code, err := strconv.Atoi(codeText)
		if err != nil {
			return err
		}
		out, err := base64.StdEncoding.DecodeString(b64)
		st.outputs[p.Arg] = Output{ExitCode: code, Stdout: out}
		return err
	default:
		return fmt.Errorf("unknown answer %q", tag)
	}
	return nil
}

func (st *State) answered(p Probe) bool {
	var ok bool
	switch p.Kind.base() {
	case ProbeStat:
		_, ok = st.stats[p.Arg]
	case ProbeRead:
		_, ok = st.contents[p.Arg]
	case ProbeExit:
		_, ok = st.exits[p.Arg]
	case ProbeOut:
		_, ok = st.outputs[p.Arg]
	case ProbeLeftovers:
		_, ok = st.leftover[p.Arg]
	}
	return ok
}

func parseStat(payload string) (FileInfo, error) {
	if payload == "-" {
		return FileInfo{}, nil
	}
	f := strings.Split(payload, "\t")
	if len(f) != 7 {
		return FileInfo{}, fmt.Errorf("unexpected stat answer %q", payload)
	}
	mode, err1 := strconv.ParseInt(f[1], 8, 32)
	uid, err2 := strconv.Atoi(f[4])
	gid, err3 := strconv.Atoi(f[5])
	size, err4 := strconv.ParseInt(f[6], 10, 64)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return FileInfo{}, fmt.Errorf("unexpected stat answer %q", payload)
		}
	}
	typ := f[0]
	if typ == "regular empty file" { // GNU stat's word for a file of size 0
		typ = "regular file"
	}
	return FileInfo{Exists: true, Type: typ, Mode: int(mode), User: f[2], Group: f[3],
		UID: uid, GID: gid, Size: size}, nil
}

// parseSSHConnection reads SSH_CONNECTION: "client_ip client_port
// server_ip server_port"; anything else gives a zero Endpoint.
func parseSSHConnection(s string) hosts.Endpoint {
	f := strings.Fields(s)
	if len(f) != 4 {
		return hosts.Endpoint{}
	}
	port, err := strconv.Atoi(f[3])
	if err != nil {
		return hosts.Endpoint{}
	}
	return hosts.Endpoint{ClientAddr: f[0], ServerAddr: f[2], ServerPort: port}
}
