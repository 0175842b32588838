package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
)

// watchHost is the local host with its file writes watched: which writes
// were in flight when each one started, and hooks that hold a write back
// until others have started or finished (at most a minute, so that a run
// that makes them one after the other ends, and the test then fails on
// what it sees).
type watchHost struct {
	*hosts.Local
	mu       sync.Mutex
	inflight map[string]bool
	peak     int                 // the most writes in flight at once
	beside   map[string][]string // path → the writes in flight when it started
	started  map[string]chan struct{}
	finished map[string]chan struct{}
	// before runs at the start of a write of path, before the write.
	before func(h *watchHost, path string)
}

func newWatchHost(before func(*watchHost, string)) *watchHost {
	return &watchHost{Local: hosts.NewLocal("local"), inflight: map[string]bool{}, beside: map[string][]string{},
		started: map[string]chan struct{}{}, finished: map[string]chan struct{}{}, before: before}
}

// signal is the channel closed when path's write starts (started) or ends
// (finished).
func (h *watchHost) signal(m map[string]chan struct{}, path string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := m[path]
	if !ok {
		c = make(chan struct{})
		m[path] = c
	}
	return c
}

// await waits for c, at most a minute; false when it did not come.
func await(c chan struct{}) bool {
	select {
	case <-c:
		return true
	case <-time.After(time.Minute):
		return false
	}
}

func (h *watchHost) WriteFile(ctx context.Context, w hosts.FileWrite) error {
	h.mu.Lock()
	var others []string
	for p := range h.inflight {
		others = append(others, filepath.Base(p))
	}
	slices.Sort(others)
	h.beside[filepath.Base(w.Path)] = others
	h.inflight[w.Path] = true
	h.peak = max(h.peak, len(h.inflight))
	h.mu.Unlock()
	close(h.signal(h.started, filepath.Base(w.Path)))
	defer func() {
		h.mu.Lock()
		delete(h.inflight, w.Path)
		h.mu.Unlock()
		close(h.signal(h.finished, filepath.Base(w.Path)))
	}()
	if h.before != nil {
		h.before(h, filepath.Base(w.Path))
	}
	return h.Local.WriteFile(ctx, w)
}

func fileTasks(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "task \"file\" %q {\n  path    = \"ROOT/%s\"\n  content = \"%s\\n\"\n}\n", n, n, n)
	}
	return b.String()
}

// Independent file writes are made at once: the first writes of a plan of
// files each wait until four are in flight together, which happens only
// when they overlap. A file with a validate command (which may do
// anything) is written alone, neither beside the files before it nor
// beside those after. The results come in plan order, all changed.
func TestIndependentWritesOverlap(t *testing.T) {
	const together = 4
	var entered sync.WaitGroup
	entered.Add(together)
	barrier := make(chan struct{})
	go func() { entered.Wait(); close(barrier) }()
	// One minute in all, not for each write made alone.
	giveUp, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var once sync.Mutex
	n := 0
	h := newWatchHost(func(h *watchHost, path string) {
		once.Lock()
		first := n < together && strings.HasPrefix(path, "a")
		if first {
			n++
		}
		once.Unlock()
		if first {
			entered.Done()
			select {
			case <-barrier:
			case <-giveUp.Done():
			}
		}
	})
	src := fileTasks("a0", "a1", "a2", "a3", "a4", "a5") + `task "file" "v" {
  path     = "ROOT/v"
  content  = "v\n"
  validate = "test -s %s"
}
` + fileTasks("b0", "b1", "b2")
	p, root := localPlan(t, src)
	o := localOpts
	o.Dial = func(context.Context, hosts.Config) (hosts.Host, error) { return h, nil }
	rec := &recorder{}
	recaps := Apply(context.Background(), p, o, rec)
	want := "file.a0=changed file.a1=changed file.a2=changed file.a3=changed file.a4=changed file.a5=changed file.v=changed file.b0=changed file.b1=changed file.b2=changed"
	if got := rec.statuses(); got != want {
		t.Fatalf("statuses %s\nwant %s\nrecap %+v", got, want, recaps[0])
	}
	if h.peak < together {
		t.Errorf("at most %d writes were in flight at once, want %d: %v", h.peak, together, h.beside)
	}
	if b := h.beside["v"]; len(b) > 0 {
		t.Errorf("the validated file was written beside %v", b)
	}
	for _, f := range []string{"b0", "b1", "b2"} {
		if slices.Contains(h.beside[f], "v") || slices.ContainsFunc(h.beside[f], func(o string) bool { return strings.HasPrefix(o, "a") }) {
			t.Errorf("%s was written beside %v", f, h.beside[f])
		}
	}
	for _, f := range []string{"a0", "a5", "v", "b2"} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err != nil || string(b) != f+"\n" {
			t.Errorf("%s: %q %v", f, b, err)
		}
	}
}

// One write of a batch fails after its temp file is made (the target
// became a folder after the check): the writes before it and the one
// made beside it are reported changed, as the host has them; those of the
// batch not yet started are skipped and not written; the failure names
// the host and the task; nothing after the batch runs; no temp file is
// left. The results come in plan order.
func TestFailureInABatch(t *testing.T) {
	var root string
	h := newWatchHost(func(h *watchHost, path string) {
		if path != "f3" {
			return
		}
		// f4 is written beside f3 and ends first.
		await(h.signal(h.finished, "f4"))
		if err := os.MkdirAll(filepath.Join(root, "f3", "inside"), 0o755); err != nil {
			t.Error(err)
		}
	})
	names := []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"}
	p, r := localPlan(t, fileTasks(names...)+`task "command" "after" {
  command = "touch ROOT/after-ran"
  creates = "ROOT/after-ran"
}
`)
	root = r
	o := localOpts
	o.Dial = func(context.Context, hosts.Config) (hosts.Host, error) { return h, nil }
	rec := &recorder{}
	recaps := Apply(context.Background(), p, o, rec)

	var order []string
	status := map[string]Result{}
	for _, res := range rec.results {
		a := res.Step.Task.Address().String()
		order = append(order, a)
		status[a] = res
	}
	wantOrder := []string{}
	for _, n := range names {
		wantOrder = append(wantOrder, "file."+n)
	}
	wantOrder = append(wantOrder, "command.after")
	if !slices.Equal(order, wantOrder) {
		t.Errorf("results in the order %v", order)
	}
	changed, skipped := 0, 0
	for _, n := range names {
		res := status["file."+n]
		_, err := os.Stat(filepath.Join(root, n))
		switch {
		case n == "f3":
			if res.Status != Failed || res.Err == nil || !strings.Contains(res.Err.Error(), `host "local"`) ||
				!strings.Contains(res.Err.Error(), "write "+filepath.Join(root, "f3")) {
				t.Errorf("f3: %v %v", res.Status, res.Err)
			}
		case n < "f3" || n == "f4":
			if res.Status != Changed || err != nil {
				t.Errorf("%s: %v (%v), want changed and written", n, res.Status, err)
			}
			changed++
		case res.Status == Changed && err == nil:
			changed++
		case res.Status == Skipped && os.IsNotExist(err):
			skipped++
		default:
			t.Errorf("%s: %v, and on the host: %v", n, res.Status, err)
		}
	}
	t.Logf("after the failure, %d of f5..f9 were in flight (changed), %d not started (skipped)", changed-4, skipped)
	if status["command.after"].Status != Skipped {
		t.Errorf("the task after the batch: %v", status["command.after"].Status)
	}
	if _, err := os.Stat(filepath.Join(root, "after-ran")); !os.IsNotExist(err) {
		t.Errorf("the task after the batch ran: %v", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".hako-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	if r := recaps[0]; r.Changed != changed || r.Failed != 1 || r.Skipped != skipped+1 || r.OK != 0 {
		t.Errorf("recap %+v, want changed=%d failed=1 skipped=%d", r, changed, skipped+1)
	}
}
