package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// The Pi's first reprovisioning step: logged in as the image's user, create
// the admin user with a key and passwordless sudo; then prove with OpenSSH
// that it can log in and become root.
func TestUserAdmin(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	k := testhost.NewKeyPair(t, t.TempDir(), "alice@test")
	pubLine, fp := k.Public, k.Fingerprint
	alice := testhost.Login{User: "alice", KeyFile: k.Private}
	dir := planFor(t, h, `
task "user" "admin" {
  name            = "alice"
  groups          = ["sudo"]
  authorized_keys = [file("alice.pub")]
  sudo            = "nopasswd"
}
`)
	writeFile(t, filepath.Join(dir, "alice.pub"), pubLine+"\n")

	if _, code, _ := h.SSHAs(t, alice, "true"); code != 255 {
		t.Fatalf("alice can log in before she exists (exit %d)", code)
	}
	plan := hako(t, "plan", dir)
	mustContain(t, plan, "+ user.admin  create user alice\n",
		"      groups: (none) → sudo\n",
		"      shell: (none) → /bin/bash\n",
		"      authorized key: (none) → ssh-ed25519 "+fp+" alice@test\n",
		"      sudo: none → nopasswd\n",
		"Plan: 1 to change, 0 unchanged.")
	if b64 := strings.Fields(pubLine)[1]; strings.Contains(plan.stdout, b64) {
		t.Errorf("the plan shows the whole key:\n%s", plan)
	}
	t.Logf("plan for a new user:\n%s", plan.stdout)

	apply := hako(t, "apply", dir)
	if apply.code != 0 {
		t.Fatalf("apply failed:\n%s", apply)
	}
	mustContain(t, apply, "changed  user.admin: create user alice", "pi  ok=0 changed=1 failed=0")
	mustContain(t, hako(t, "apply", dir), "pi  ok=1 changed=0 failed=0")

	want := "700 alice alice /home/alice/.ssh\n" +
		"600 alice alice /home/alice/.ssh/authorized_keys\n" +
		"440 root root /etc/sudoers.d/hako-alice\n"
	if got := h.Exec(t, "stat -c '%a %U %G %n' /home/alice/.ssh /home/alice/.ssh/authorized_keys /etc/sudoers.d/hako-alice"); got != want {
		t.Errorf("files:\n%s\nwant:\n%s", got, want)
	}
	if got := h.Exec(t, "cat /etc/sudoers.d/hako-alice; getent passwd alice | cut -d: -f7; id -nG alice"); got != "alice ALL=(ALL) NOPASSWD: ALL\n/bin/bash\nalice sudo\n" {
		t.Errorf("sudo rule, shell, groups: %q", got)
	}
	if out, code, _ := h.SSHAs(t, alice, "sudo -n id -u"); code != 0 || out != "0\n" {
		t.Fatalf("alice: sudo -n id -u: exit %d, %q", code, out)
	}

	// Drift by hand: out of the sudo group, key gone.
	h.Exec(t, "gpasswd -d alice sudo >/dev/null && : > /home/alice/.ssh/authorized_keys")
	if _, code, _ := h.SSHAs(t, alice, "true"); code != 255 {
		t.Fatalf("alice still logs in without her key (exit %d)", code)
	}
	drift := hako(t, "plan", dir)
	mustContain(t, drift, "~ user.admin  update user alice\n      groups: (none) → sudo\n      authorized key: (none) → ssh-ed25519 "+fp+" alice@test\n\n")
	for _, unwanted := range []string{"shell:", "sudo: "} {
		if strings.Contains(drift.stdout, unwanted) {
			t.Errorf("the drift plan shows %q, which did not drift:\n%s", unwanted, drift)
		}
	}
	mustContain(t, hako(t, "apply", dir), "changed  user.admin: update user alice", "pi  ok=0 changed=1 failed=0")
	if out, code, _ := h.SSHAs(t, alice, "id -nG && sudo -n id -u"); code != 0 || out != "alice sudo\n0\n" {
		t.Fatalf("after the repair: exit %d, %q", code, out)
	}
	mustContain(t, hako(t, "apply", dir), "pi  ok=1 changed=0 failed=0")

	// And away again: the user and its sudo rule go, the home stays.
	gone := planFor(t, h, `
task "user" "admin" {
  name  = "alice"
  state = "absent"
}
`)
	mustContain(t, hako(t, "apply", gone), "changed  user.admin: remove user alice (its home /home/alice is kept)", "pi  ok=0 changed=1 failed=0")
	if got := h.Exec(t, "getent passwd alice || echo no alice; ls /etc/sudoers.d; test -d /home/alice && echo home kept"); got != "no alice\n010_pi-nopasswd\nREADME\nhome kept\n" {
		t.Errorf("after removal: %q", got)
	}
	mustContain(t, hako(t, "apply", gone), "pi  ok=1 changed=0 failed=0")
}

// Removing the user hako logs in as is refused before anything changes.
func TestUserRefusesToRemoveLoginUser(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "file" "first" {
  path    = "/etc/hako-before"
  content = "x\n"
}
task "user" "pi" {
  name  = "pi"
  state = "absent"
}
`)
	plan := hako(t, "plan", dir)
	mustContain(t, plan, `error user.pi: refused: user.pi would remove the user "pi", whom hako is logged in as on this host`)
	apply := hako(t, "apply", dir)
	if apply.code != 1 {
		t.Fatalf("want exit 1:\n%s", apply)
	}
	mustContain(t, apply, `user.pi would remove the user "pi", whom hako is logged in as`,
		"the plan was refused; nothing was changed on this host")
	if got := h.Exec(t, "getent passwd pi | cut -d: -f1; test -e /etc/hako-before && echo changed || echo untouched"); got != "pi\nuntouched\n" {
		t.Errorf("host: %q", got)
	}
	if _, err := os.Stat(h.KeyFile); err != nil {
		t.Fatal(err)
	}
	if out, code := h.SSH(t, "id -un"); code != 0 || out != "pi\n" {
		t.Errorf("pi after the refusal: exit %d, %q", code, out)
	}
}

// Two users' keys in one apply: each ~/.ssh and authorized_keys is made
// as its user (hako switches from one user's file access to the other's),
// and ends the user's own, as sshd wants it.
func TestUserKeysForTwoUsers(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	c := testhost.NewKeyPair(t, t.TempDir(), "carol@test")
	d := testhost.NewKeyPair(t, t.TempDir(), "dave@test")
	dir := planFor(t, h, `
task "user" "carol" {
  name            = "carol"
  authorized_keys = [`+strconv.Quote(c.Public)+`]
}
task "user" "dave" {
  name            = "dave"
  authorized_keys = [`+strconv.Quote(d.Public)+`]
}
task "file" "carol_note" {
  path    = "/home/carol/.ssh/note"
  content = "hi\n"
}
`)
	if r := hako(t, "apply", dir); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	want := "carol carol 700 /home/carol/.ssh\ncarol carol 600 /home/carol/.ssh/authorized_keys\ncarol carol 644 /home/carol/.ssh/note\n" +
		"dave dave 700 /home/dave/.ssh\ndave dave 600 /home/dave/.ssh/authorized_keys\n"
	if got := h.Exec(t, "stat -c '%U %G %a %n' /home/carol/.ssh /home/carol/.ssh/authorized_keys /home/carol/.ssh/note /home/dave/.ssh /home/dave/.ssh/authorized_keys"); got != want {
		t.Errorf("files:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range []testhost.Login{{User: "carol", KeyFile: c.Private}, {User: "dave", KeyFile: d.Private}} {
		if out, code, _ := h.SSHAs(t, l, "id -un"); code != 0 || out != l.User+"\n" {
			t.Errorf("%s logs in: exit %d, %q", l.User, code, out)
		}
	}
	mustContain(t, hako(t, "apply", dir), "pi  ok=3 changed=0 failed=0")
}
