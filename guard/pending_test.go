package guard

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
)

// The pending probe runs its real shell locally over guard folders as arm
// leaves them: an armed one is found with its deadline, a rolled back one
// and a folder without an armed file are not.
func TestPendingOnThisMachine(t *testing.T) {
	dir := t.TempDir()
	armedAt := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	for id, files := range map[string]map[string]string{
		"20261126T084123-aaaa": {"armed": armedAt.Format("2006-01-02T15:04:05Z") + " timeout 600000ms\n"},
		"20261126T084123-bbbb": {"armed": armedAt.Format("2006-01-02T15:04:05Z") + " timeout 600000ms\n", "rolledback": ""},
		"20261126T084123-cccc": {},
	} {
		if err := os.MkdirAll(filepath.Join(dir, id), 0o700); err != nil {
			t.Fatal(err)
		}
		for n, c := range files {
			if err := os.WriteFile(filepath.Join(dir, id, n), []byte(c), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	req := Pending{Dir: dir}
	a, err := probe.Gather(t.Context(), hosts.NewLocal("local"), []probe.Request{req})
	if err != nil {
		t.Fatal(err)
	}
	got := probe.Answer[[]PendingGuard](a, req)
	if len(got) != 1 || got[0].ID != "20261126T084123-aaaa" || !got[0].Deadline.Equal(armedAt.Add(10*time.Minute)) ||
		time.Since(got[0].Now) > time.Hour {
		t.Errorf("pending %+v", got)
	}
	// Nothing armed: an empty answer, not an error.
	empty := Pending{Dir: filepath.Join(dir, "none")}
	a, err = probe.Gather(t.Context(), hosts.NewLocal("local"), []probe.Request{empty})
	if err != nil || len(probe.Answer[[]PendingGuard](a, empty)) != 0 {
		t.Errorf("no guards: %v", err)
	}
}

func TestParsePending(t *testing.T) {
	g, ok := parsePending("a 1000 600000 1100")
	if !ok || g.ID != "a" || g.Deadline.Unix() != 1600 || g.Now.Unix() != 1100 {
		t.Errorf("%+v %v", g, ok)
	}
	for _, s := range []string{"x - 600000 1", "a 1 2", ""} {
		if _, ok := parsePending(s); ok {
			t.Errorf("accepted %q", s)
		}
	}
}
