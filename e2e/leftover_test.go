package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// A write interrupted between upload and rename leaves its temp file
// (maybe holding a secret) next to the target. The next run shows it and
// removes it, in a folder only root can write, even when the file itself
// is already right; a second apply changes nothing. A symlink named like a
// temp file is not hako's: it and its target stay. In a folder the user pi
// owns, root does not remove by path: the leftover stays and plan warns.
func TestLeftoverTempFilesRemoved(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, `set -e
install -d -m 0755 /etc/app
printf 'TOKEN=%s\n' '`+token+`' >/etc/app/app.env; chmod 600 /etc/app/app.env
printf 'TOKEN=%s\n' '`+token+`' >/etc/app/.app.env.hako-0123456789ab; chmod 600 /etc/app/.app.env.hako-0123456789ab
printf 'keep me\n' >/etc/app/victim
ln -s /etc/app/victim /etc/app/.app.env.hako-aaaaaaaaaaaa
printf 'note\n' >/home/pi/notes; chown pi: /home/pi/notes
printf 'half\n' >/home/pi/.notes.hako-bbbbbbbbbbbb; chown pi: /home/pi/.notes.hako-bbbbbbbbbbbb`)
	dir := planFor(t, h, `
variable "token" {
  type      = string
  sensitive = true
}

task "file" "env" {
  path    = "/etc/app/app.env"
  content = "TOKEN=${var.token}\n"
}

task "file" "notes" {
  path    = "/home/pi/notes"
  content = "note\n"
}
`)
	vars := []string{"-var", "token=" + token, dir}
	plan := hako(t, append([]string{"plan"}, vars...)...)
	mustContain(t, plan, "~ file.env  /etc/app/app.env: remove leftover temp file(s)",
		"leftover temp file: /etc/app/.app.env.hako-0123456789ab → (none)",
		"warning: file.notes: leftover temp file(s) of an interrupted write next to /home/pi/notes",
		"/home/pi/.notes.hako-bbbbbbbbbbbb", "(check leftover-temp)",
		"Plan: 1 to change, 1 unchanged.")
	if strings.Contains(plan.stdout, "aaaaaaaaaaaa") {
		t.Errorf("plan lists the symlink named like a temp file:\n%s", plan)
	}
	apply := hako(t, append([]string{"apply"}, vars...)...)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	mustContain(t, apply, "\npi  ok=1 changed=1 failed=0 skipped=0\n")
	again := hako(t, append([]string{"apply"}, vars...)...)
	mustContain(t, again, "\npi  ok=2 changed=0 failed=0 skipped=0\n")
	noSecret(t, plan, apply, again)

	got := h.Exec(t, `cd /etc/app; for f in .app.env.hako-0123456789ab .app.env.hako-aaaaaaaaaaaa victim app.env /home/pi/.notes.hako-bbbbbbbbbbbb; do
  if [ -L "$f" ]; then echo "$f link to $(readlink "$f")"; elif [ -e "$f" ]; then echo "$f $(cat "$f" | head -c 9)"; else echo "$f gone"; fi
done`)
	want := `.app.env.hako-0123456789ab gone
.app.env.hako-aaaaaaaaaaaa link to /etc/app/victim
victim keep me
app.env TOKEN=tok
/home/pi/.notes.hako-bbbbbbbbbbbb half
`
	if got != want {
		t.Errorf("on the host:\n%s\nwant:\n%s", got, want)
	}
}
