package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
	"github.com/hako-dev/hako/tasks"
)

const token = "tok-3f9a1c-SECRET"

// quickstart returns the -var arguments that point the quick-start example
// at a test host.
func quickstart(h *testhost.Host, knownHosts string, extra ...string) []string {
	args := []string{repoPath("examples/quickstart"),
		"-var", "address=" + h.Addr,
		"-var", fmt.Sprintf("port=%d", h.Port),
		"-var", "identity_file=" + h.KeyFile,
		"-var", "known_hosts=" + knownHosts,
		"-var", "token=" + token,
	}
	return append(args, extra...)
}

func mustContain(t *testing.T, r result, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output lacks %q:\n%s", s, r)
		}
	}
}

func noSecret(t *testing.T, rs ...result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.stdout+r.stderr, token) {
			t.Errorf("the sensitive token appears in the output:\n%s", r)
		}
	}
}

// snapshot is the state of what the plan manages, read as root inside the
// host without SSH.
func snapshot(t *testing.T, h *testhost.Host) string {
	return h.Exec(t, "for p in /opt/app /opt/app/.initialised /etc/motd /etc/app.env; do "+
		"if [ -e $p ]; then stat -c '%n %F %a %U %G %s' $p; sha256sum $p 2>/dev/null || true; else echo \"$p missing\"; fi; done")
}

func TestFoundation(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	kh := h.KnownHostsFile(t)

	before := snapshot(t, h)
	plan := hako(t, append([]string{"plan"}, quickstart(h, kh)...)...)
	if plan.code != 0 {
		t.Fatalf("plan failed:\n%s", plan)
	}
	mustContain(t, plan, "+ directory.app", "~ file.motd", "+ file.secret", "! command.marker",
		"+hello from pi, configured by hako.", "(sensitive content changed:", "Plan: 4 to change, 0 unchanged.")
	if after := snapshot(t, h); after != before {
		t.Fatalf("plan changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if r := hako(t, append([]string{"plan", "-detailed-exitcode"}, quickstart(h, kh)...)...); r.code != 2 {
		t.Errorf("plan -detailed-exitcode with changes: want exit 2\n%s", r)
	}
	js := hako(t, append([]string{"plan", "-json"}, quickstart(h, kh)...)...)
	checkPlanJSON(t, js)

	apply := hako(t, append([]string{"apply"}, quickstart(h, kh)...)...)
	if apply.code != 0 {
		t.Fatalf("apply failed:\n%s", apply)
	}
	mustContain(t, apply, "changed  directory.app", "changed  file.motd", "changed  file.secret",
		"changed  command.marker", "changed  handler reload_motd", "\npi  ok=0 changed=5 failed=0 skipped=0\n")
	verifyConverged(t, h)

	again := hako(t, append([]string{"apply"}, quickstart(h, kh)...)...)
	if again.code != 0 {
		t.Fatalf("second apply failed:\n%s", again)
	}
	mustContain(t, again, "\npi  ok=4 changed=0 failed=0 skipped=0\n")
	if strings.Contains(again.stdout, "handler") {
		t.Errorf("a handler ran although nothing changed:\n%s", again)
	}
	final := hako(t, append([]string{"plan", "-detailed-exitcode"}, quickstart(h, kh)...)...)
	if final.code != 0 {
		t.Errorf("plan -detailed-exitcode after apply: want exit 0\n%s", final)
	}
	mustContain(t, final, "Plan: 0 to change, 4 unchanged.")
	noSecret(t, plan, js, apply, again, final)
}

// checkPlanJSON reads plan -json's document: the same four changes as the
// human view, the motd's new content, and the secret file's content only
// as sensitive with its line counts.
func checkPlanJSON(t *testing.T, r result) {
	t.Helper()
	var doc struct {
		Hosts []struct {
			Changes []*tasks.Change `json:"changes"`
		} `json:"hosts"`
		Summary struct {
			ToChange int `json:"to_change"`
		} `json:"summary"`
	}
	if r.code != 0 {
		t.Fatalf("plan -json failed:\n%s", r)
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan -json: not one JSON document: %v\n%s", err, r.stdout)
	}
	if len(doc.Hosts) != 1 || doc.Summary.ToChange != 4 {
		t.Fatalf("plan -json: %s", r.stdout)
	}
	for _, c := range doc.Hosts[0].Changes {
		switch c.Address.String() {
		case "file.motd":
			if c.Content == nil || !strings.Contains(c.Content.Diff(), "+hello from pi, configured by hako.") {
				t.Errorf("plan -json: file.motd's content: %s", r.stdout)
			}
		case "file.secret":
			if c.Content == nil || !c.Content.Sensitive() || !strings.Contains(r.stdout, `"after_lines"`) {
				t.Errorf("plan -json: file.secret's content is not marked sensitive: %s", r.stdout)
			}
		}
	}
}

// verifyConverged checks over SSH, with the OpenSSH client, what apply did.
func verifyConverged(t *testing.T, h *testhost.Host) {
	t.Helper()
	want := map[string]string{
		"stat -c '%F %a %U' /opt/app":                       "directory 750 root",
		"stat -c '%F %a %U %G' /etc/motd":                   "regular file 644 root root",
		"cat /etc/motd":                                     "hello from pi, configured by hako.",
		"sudo -n stat -c '%F %a %U %G' /etc/app.env":        "regular file 600 root root",
		"sudo -n cat /etc/app.env":                          "TOKEN=" + token,
		"sudo -n test -e /opt/app/.initialised && echo yes": "yes",
		// no temp files left next to the targets
		"sudo -n find /etc /opt/app -maxdepth 1 -name '.*hako*' | wc -l": "0",
	}
	for cmd, w := range want {
		out, code := h.SSH(t, cmd)
		if code != 0 || strings.TrimSpace(out) != w {
			t.Errorf("%s: exit %d, %q; want %q", cmd, code, strings.TrimSpace(out), w)
		}
	}
}

// Drift made by hand shows up in plan as exactly that drift, and apply
// repairs it.
func TestDriftIsShownAndRepaired(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	kh := h.KnownHostsFile(t)
	if r := hako(t, append([]string{"apply"}, quickstart(h, kh)...)...); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	h.Exec(t, "echo 'edited by hand' > /etc/motd; chmod 0700 /opt/app")
	plan := hako(t, append([]string{"plan"}, quickstart(h, kh)...)...)
	mustContain(t, plan, "~ directory.app", "mode: 0700 → 0750", "~ file.motd", "-edited by hand",
		"+hello from pi, configured by hako.", "Plan: 2 to change, 2 unchanged.")
	apply := hako(t, append([]string{"apply"}, quickstart(h, kh)...)...)
	mustContain(t, apply, "\npi  ok=2 changed=3 failed=0 skipped=0\n") // 2 tasks + the handler
	verifyConverged(t, h)
}

func TestUnknownHostKeyIsRefused(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	fp := strings.Fields(h.Exec(t, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))[1]

	r := hako(t, append([]string{"plan"}, quickstart(h, kh)...)...)
	if r.code != 1 {
		t.Fatalf("plan against an unknown host: want exit 1\n%s", r)
	}
	mustContain(t, r, fp, "-accept-new-host-keys", `"pi"`)
	if b, _ := os.ReadFile(kh); len(b) != 0 {
		t.Errorf("known_hosts written without consent: %q", b)
	}

	r = hako(t, append([]string{"apply", "-accept-new-host-keys"}, quickstart(h, kh)...)...)
	if r.code != 0 {
		t.Fatalf("apply -accept-new-host-keys:\n%s", r)
	}
	b, _ := os.ReadFile(kh)
	if key := strings.Fields(h.HostKeyLine())[1]; !strings.Contains(string(b), key) {
		t.Errorf("known_hosts lacks the host's ed25519 key:\n%s", b)
	}
	mustContain(t, r, "note: recorded host key ssh-ed25519 "+fp+" for ")
	if r = hako(t, append([]string{"plan", "-detailed-exitcode"}, quickstart(h, kh)...)...); r.code != 0 {
		t.Errorf("the recorded key is trusted afterwards:\n%s", r)
	}
}

func TestChangedHostKeyIsRefused(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	other := testhost.Start(t, testhost.Options{})
	// known_hosts holds another host's key for this host's address: what a
	// reflashed card or a man in the middle looks like.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := strings.Replace(readFile(t, other.KnownHostsFile(t)), other.Addr, h.Addr, 1)
	writeFile(t, kh, line)

	r := hako(t, append([]string{"apply", "-accept-new-host-keys"}, quickstart(h, kh)...)...)
	if r.code != 1 {
		t.Fatalf("apply with a changed key: want exit 1\n%s", r)
	}
	mustContain(t, r, "pi")
	if !regexp.MustCompile(`(?i)changed|mismatch`).MatchString(r.stdout + r.stderr) {
		t.Errorf("the refusal does not say the key changed:\n%s", r)
	}
	if got := readFile(t, kh); got != line {
		t.Errorf("known_hosts was modified:\n%s", got)
	}
	if out := h.Exec(t, "test -e /opt/app && echo present || echo absent"); strings.TrimSpace(out) != "absent" {
		t.Error("the host was changed")
	}
}

func TestFailingTaskNamesHostAndTask(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "file" "conf" {
  path    = "/etc/hako-test.conf"
  content = "a\n"
  notify  = ["restart"]
}
task "command" "broken" {
  command = "echo 'no such service' >&2; exit 3"
}
task "file" "after" {
  path    = "/etc/hako-after.conf"
  content = "b\n"
}
handler "restart" {
  command = "touch /run/restarted"
}
`)
	r := hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "pi  failed   command.broken: exit status 3: no such service",
		"pi  skipped  file.after", "running the handlers", "pi  changed  handler restart",
		"\npi  ok=0 changed=2 failed=1 skipped=1\n")
	if out := h.Exec(t, "ls /run/restarted /etc/hako-after.conf 2>&1 || true"); !strings.Contains(out, "/run/restarted") ||
		!strings.Contains(out, "No such file") {
		t.Errorf("handler must run, the skipped task must not: %s", out)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
