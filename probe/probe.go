// Package probe is how hako learns about a host before it changes anything:
// one protocol between the shell on the host and Go, owned here.
//
// A caller asks for facts by Go type (Stat, File, Exit, Output, Leftovers,
// RealDir, Endpoint, Login, Account, Unit, Packages, NetDevices, Configs, Facts, or a type
// of another package that implements Request, such as guard.Pending). Script
// turns all requests of a host into one shell script, run in one round trip:
// identical requests (from several tasks and preflight) are asked once.
// Each request is answered by one shell function (in the embedded .sh
// files) that prints records, one a line:
//
//	INDEX FIELD VALUE
//
// VALUE is ":" and the text when the text is one line (most are: a stat, an
// exit status, a name), else the text in base64 (file contents, command
// output), so that any bytes fit on one line.
//
// INDEX is the request's place in the script, so fields never collide
// across request types; one Go decoder (Decode) reads them all and hands
// each request its own records, which the request type turns into its
// answer struct. A marker line ends the output, so a script cut short is
// an error, not a host without facts.
package probe

import (
	"bytes"
	"cmp"
	"context"
	_ "embed" // the shell functions
	"encoding/base64"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/rootpath"
)

// MaxRead is the largest file whose content a File probe brings back;
// larger files are answered by their hash.
const MaxRead = 1 << 20

//go:embed probe.sh
var funcs string

// Record is one line of an answer: a field and its (decoded) value.
type Record struct {
	Field string
	Value []byte
}

// Func is a shell function that answers requests: its name and, for
// functions defined outside this package, its source (sh, defining Name).
// It is called as NAME INDEX ARGS... and prints records with hako_rec (or
// hako_recb, for a value in base64 already). The script's functions and
// variables start with hako_ or _: the commands of Exit and Output run in
// the same shell and must find their own commands, not these.
type Func struct {
	Name   string
	Source string
	// Batch: all requests of the function are asked in one call,
	// NAME INDEX ARGS... INDEX ARGS..., so that it can answer them with
	// one process for all (one stat for every path). The requests of one
	// function have the same number of arguments; they come in the order
	// of their first argument's folder, then the argument.
	Batch bool
}

// Request is a fact asked of the host.
type Request interface {
	// Call is the function that answers the request and its arguments.
	// Requests with the same function and arguments are asked once.
	Call() (Func, []string)
	// Decode turns the request's records (at least one) into its answer.
	Decode(recs []Record) (any, error)
	// Describe names the request in errors, without anything secret.
	Describe() string
}

func key(r Request) string {
	fn, args := r.Call()
	return fn.Name + "\x00" + strings.Join(args, "\x00")
}

// sensitive requests hide their argument in errors; when a request is
// asked twice, once sensitive, the sensitive one is kept.
func sensitive(r Request) bool {
	s, ok := r.(interface{ isSensitive() bool })
	return ok && s.isSensitive()
}

// endMarker ends the script's output.
const endMarker = "hako-probe-end"

// Script builds the probe script for reqs; identical requests are asked
// once. It returns the script and the request of each index.
//
// LC_ALL=C: the answers are parsed (stat %F, systemctl, dpkg-query), and a
// host in another language (LANG=ja_JP.UTF-8, LANGUAGE=ja) would translate
// them; sshd passes the login locale on and sudo keeps it.
func Script(reqs []Request) (string, []Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "export LC_ALL=C\nhako_max_read=%d\nhako_cr='\r'\n", MaxRead)
	// The last PID the host handed out, before and after: how many
	// processes the probe started (see Answers.Processes). Read by cat:
	// the kernel answers a read of this file only from its start, and
	// dash's read takes one byte at a time.
	b.WriteString(lastPID("hako_pid0"))
	b.WriteString(rootpath.Funcs)
	b.WriteString(funcs)
	seen := map[string]int{}
	sources := map[string]bool{}
	var order []Request
	var calls strings.Builder
	batches := map[string][]batched{}
	var batchNames []string
	for _, r := range reqs {
		k := key(r)
		if i, ok := seen[k]; ok {
			if sensitive(r) {
				order[i] = r
			}
			continue
		}
		seen[k] = len(order)
		fn, args := r.Call()
		if fn.Source != "" && !sources[fn.Name] {
			sources[fn.Name] = true
			b.WriteString(fn.Source)
			if !strings.HasSuffix(fn.Source, "\n") {
				b.WriteString("\n")
			}
		}
		if fn.Batch {
			if _, ok := batches[fn.Name]; !ok {
				batchNames = append(batchNames, fn.Name)
			}
			batches[fn.Name] = append(batches[fn.Name], batched{len(order), args})
		} else {
			writeCall(&calls, fn.Name, batched{len(order), args})
		}
		order = append(order, r)
	}
	for _, name := range batchNames {
		reqs := batches[name]
		slices.SortStableFunc(reqs, func(a, b batched) int {
			if len(a.args) == 0 || len(b.args) == 0 {
				return 0
			}
			return cmp.Or(strings.Compare(path.Dir(a.args[0]), path.Dir(b.args[0])), strings.Compare(a.args[0], b.args[0]))
		})
		writeCall(&calls, name, reqs...)
	}
	b.WriteString(calls.String())
	b.WriteString(lastPID("hako_pid1"))
	b.WriteString("echo " + endMarker + " \"$hako_pid0\" \"$hako_pid1\"\n")
	return b.String(), order
}

// lastPID is the shell that sets v to the last PID the host handed out
// in its PID namespace, or to "" where the kernel does not say.
func lastPID(v string) string {
	return v + "=$(cat /proc/sys/kernel/ns_last_pid 2>/dev/null) || " + v + "=\n"
}

// batched is one request's index and arguments in a call.
type batched struct {
	index int
	args  []string
}

// writeCall writes one call line: NAME INDEX ARGS... (INDEX ARGS...)...
func writeCall(w *strings.Builder, name string, reqs ...batched) {
	w.WriteString(name)
	for _, r := range reqs {
		fmt.Fprintf(w, " %d", r.index)
		for _, a := range r.args {
			w.WriteString(" " + hosts.Quote(a))
		}
	}
	w.WriteString("\n")
}

// Gather answers reqs with one remote command.
func Gather(ctx context.Context, h hosts.Host, reqs []Request) (*Answers, error) {
	script, order := Script(reqs)
	res, err := h.Run(ctx, script)
	if err != nil {
		return nil, fmt.Errorf("gathering state: %w", err)
	}
	if res.StdoutTruncated {
		return nil, fmt.Errorf("gathering state: the host's answers are larger than %d MiB, the most hako reads from one command; manage fewer large files on this host",
			hosts.MaxStdout>>20)
	}
	pids, ended := endLine(res.Stdout)
	if res.ExitCode != 0 || !ended {
		return nil, fmt.Errorf("gathering state: the probe script exited %d: %s",
			res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	a, err := Decode(res.Stdout, order)
	if err != nil {
		return nil, err
	}
	a.Processes = processes(pids)
	return a, nil
}

// endLine finds the line that ends the script's output (the marker and
// the two PIDs) and returns the fields after the marker.
func endLine(out []byte) ([]string, bool) {
	i := bytes.LastIndex(out, []byte("\n"+endMarker))
	if i < 0 && !bytes.HasPrefix(out, []byte(endMarker)) {
		return nil, false
	}
	line, _, ended := bytes.Cut(out[i+1:], []byte("\n"))
	f := strings.Fields(string(line))
	if !ended || len(f) == 0 || f[0] != endMarker {
		return nil, false
	}
	return f[1:], true
}

// processes is how many PIDs the host handed out between the two the
// script read, or -1 when it could not read them (no
// /proc/sys/kernel/ns_last_pid, or PIDs wrapped around).
func processes(pids []string) int {
	if len(pids) != 2 {
		return -1
	}
	p0, err0 := strconv.Atoi(pids[0])
	p1, err1 := strconv.Atoi(pids[1])
	if err0 != nil || err1 != nil || p1 < p0 {
		return -1
	}
	// The read of the second PID started no process: the count is the
	// processes the probe script started, and those of anything else that
	// ran on the host meanwhile (the host's PID namespace as a whole).
	return p1 - p0
}

// Decode reads the probe script's output; order is what Script returned.
func Decode(out []byte, order []Request) (*Answers, error) {
	recs := make([][]Record, len(order))
	// Line by line over the answer, which is in memory already (bounded by
	// what Run keeps): no line-length limit, as bufio.Scanner has.
	for l := range bytes.Lines(out) {
		line := strings.TrimSuffix(string(l), "\n")
		if line == "" || strings.HasPrefix(line, endMarker) {
			continue
		}
		idxText, rest, ok1 := strings.Cut(line, " ")
		field, b64, ok2 := strings.Cut(rest, " ")
		idx, err := strconv.Atoi(idxText)
		if !ok1 || !ok2 || err != nil || idx < 0 || idx >= len(order) || field == "" {
			return nil, fmt.Errorf("gathering state: unexpected line from the host: %.80q", line)
		}
		v, err := decodeValue(b64)
		if err != nil {
			return nil, fmt.Errorf("gathering state for %s: unexpected answer %s: %w", order[idx].Describe(), field, err)
		}
		recs[idx] = append(recs[idx], Record{Field: field, Value: v})
	}
	a := NewAnswers()
	for i, r := range order {
		if len(recs[i]) == 0 {
			return nil, fmt.Errorf("gathering state: no answer for %s", r.Describe())
		}
		v, err := r.Decode(recs[i])
		if err != nil {
			return nil, fmt.Errorf("gathering state for %s: %w", r.Describe(), err)
		}
		a.m[key(r)] = v
	}
	return a, nil
}

// decodeValue reads a record's value: ":" and the text, or base64.
func decodeValue(s string) ([]byte, error) {
	if text, ok := strings.CutPrefix(s, ":"); ok {
		return []byte(text), nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// Answers holds the answers to a host's requests.
type Answers struct {
	m map[string]any
	// Processes is how many processes were started on the host while the
	// probe script ran (all of its PID namespace), -1 when unknown.
	Processes int
}

// NewAnswers returns an empty set of answers (no request answered).
func NewAnswers() *Answers { return &Answers{m: map[string]any{}, Processes: -1} }

// Answer returns the answer to r. It panics if nobody asked: that is a bug
// in the caller, which must list r among its requests.
func Answer[T any](a *Answers, r Request) T {
	v, ok := a.m[key(r)]
	if !ok {
		panic("probe: no answer for " + r.Describe())
	}
	t, ok := v.(T)
	if !ok {
		panic(fmt.Sprintf("probe: the answer for %s is a %T", r.Describe(), v))
	}
	return t
}

// Add adds b's answers to a (b's win where both answer a request).
func (a *Answers) Add(b *Answers) {
	for k, v := range b.m {
		a.m[k] = v
	}
}

// Has reports whether r was answered.
func (a *Answers) Has(r Request) bool {
	_, ok := a.m[key(r)]
	return ok
}

// Stat returns the answer of Stat{Path: path}.
func (a *Answers) Stat(path string) FileInfo { return Answer[FileInfo](a, Stat{Path: path}) }

// Content returns the answer of File{Path: path}.
func (a *Answers) Content(path string) Content { return Answer[Content](a, File{Path: path}) }

// Exit returns the exit status of Exit{Cmd: cmd}.
func (a *Answers) Exit(cmd string) int { return Answer[int](a, Exit{Cmd: cmd}) }

// Output returns the answer of Output{Cmd: cmd}.
func (a *Answers) Output(cmd string) CmdOutput { return Answer[CmdOutput](a, Output{Cmd: cmd}) }

// Leftovers returns the answer of Leftovers{Dir: dir}.
func (a *Answers) Leftovers(dir string) LeftoverFiles {
	return Answer[LeftoverFiles](a, Leftovers{Dir: dir})
}
