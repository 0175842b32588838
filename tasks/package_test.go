package tasks

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// answered builds a State in which every output probe printed out.
func answered(t *testing.T, task Task, out string) *State {
	t.Helper()
	_, order := Script(task.Probes())
	var lines []string
	for i, p := range order {
		if p.Kind != ProbeOut {
			t.Fatalf("unexpected probe %v", p)
		}
		lines = append(lines, "O "+string(rune('0'+i))+" 0 "+b64(out))
	}
	st, err := ParseAnswers([]byte(strings.Join(lines, "\n")+"\n"), order)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func names(ns ...string) cty.Value {
	var vs []cty.Value
	for _, n := range ns {
		vs = append(vs, str(n))
	}
	return cty.ListVal(vs)
}

func TestPackageCheck(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("ufw", "ppp", "pppoe")})
	st := answered(t, task, "ufw\tinstalled\nppp\tconfig-files\n")
	c, err := task.Check(st)
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Create || c.Summary != "install ppp, pppoe" || len(c.Attrs) != 2 ||
		c.Attrs[0] != (AttrChange{"ppp", "absent", "present"}) {
		t.Errorf("change %+v", c)
	}
	st = answered(t, task, "ufw\tinstalled\nppp\tinstalled\npppoe\tinstalled\n")
	if c, _ := task.Check(st); c.Changed() {
		t.Errorf("all installed, yet %+v", c)
	}
}

func TestPackageAbsent(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("telnet", "rsh-client"), "state": str("absent")})
	c, _ := task.Check(answered(t, task, "telnet\tinstalled\n"))
	if c.Action != Delete || c.Summary != "remove telnet" {
		t.Errorf("change %+v", c)
	}
}

func TestUnknownPackages(t *testing.T) {
	got := unknownPackages([]byte("Reading package lists...\nE: Unable to locate package nosuch\nE: Unable to locate package other\n"))
	if strings.Join(got, " ") != "nosuch other" {
		t.Errorf("got %v", got)
	}
}

func TestServiceCheck(t *testing.T) {
	task := decode(t, "service", map[string]cty.Value{"name": str("ssh"), "enabled": cty.True, "state": str("started")})
	c, err := task.Check(answered(t, task, "systemd\ndisabled\ninactive\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Update || len(c.Attrs) != 2 || c.Attrs[1] != (AttrChange{"state", "inactive", "started"}) {
		t.Errorf("change %+v", c)
	}
	if c, _ := task.Check(answered(t, task, "systemd\nenabled\nactive\n")); c.Changed() {
		t.Errorf("up to date, yet %+v", c)
	}
	_, err = task.Check(answered(t, task, "init\n\n\n"))
	if err == nil || !strings.Contains(err.Error(), "does not run systemd") {
		t.Errorf("without systemd: %v", err)
	}
}

func TestServiceActionNeedsSystemd(t *testing.T) {
	a := &Attrs{Addr: Address{"handler", "restart_ssh"}, Items: map[string]Attr{"service": {Value: str("ssh")}}}
	task := ServiceActionKind.Decode(a)
	if _, err := task.Check(answered(t, task, "init\n\n\n")); err == nil {
		t.Error("a restart on a host without systemd must fail clearly")
	}
	c, err := task.Check(answered(t, task, "systemd\nenabled\nactive\n"))
	if err != nil || c.Action != Run || c.Summary != "systemctl restart ssh" {
		t.Errorf("%+v %v", c, err)
	}
}

func TestServiceStaticUnit(t *testing.T) {
	on := decode(t, "service", map[string]cty.Value{"name": str("systemd-journald"), "enabled": cty.True})
	if c, err := on.Check(answered(t, on, "systemd\nstatic\nactive\n")); err != nil || c.Changed() {
		t.Errorf("a static unit counts as enabled: %+v %v", c, err)
	}
	off := decode(t, "service", map[string]cty.Value{"name": str("systemd-journald"), "enabled": cty.False})
	if _, err := off.Check(answered(t, off, "systemd\nstatic\nactive\n")); err == nil || !strings.Contains(err.Error(), "cannot disable") {
		t.Errorf("disabling a static unit: %v", err)
	}
}
