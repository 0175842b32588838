package hosts

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// All of ssh_config's UserKnownHostsFile files and its GlobalKnownHostsFile
// are read, as OpenSSH reads them; new keys are recorded in the first;
// -reprovision takes the old entries out of every user file; entries are
// named by their real file, also when read through a lower-cased copy.
func TestSeveralKnownHostsFiles(t *testing.T) {
	for _, noSSH := range []bool{false, true} {
		if _, err := exec.LookPath("ssh"); err != nil && !noSSH {
			continue
		}
		f := newFixture(t)
		dir := sshConfigFixture(t, map[string]string{"config": "Host box\n  HostName localhost\n  Port " + itoa(f.srv.port) +
			"\n  UserKnownHostsFile {{dir}}/kh1 {{dir}}/kh2 {{dir}}/missing\n  GlobalKnownHostsFile {{dir}}/global\n"})
		kh1, kh2, global := filepath.Join(dir, "kh1"), filepath.Join(dir, "kh2"), filepath.Join(dir, "global")
		c := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: noSSH}
		cfg, from, err := c.Resolve(t.Context(), Config{Name: "box", Address: "box", User: "tester",
			IdentityFiles: f.cfg.IdentityFiles, ConnectTimeout: f.cfg.ConnectTimeout})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.KnownHostsFile != kh1 || !slices.Equal(cfg.KnownHostsFiles, []string{kh2, dir + "/missing"}) ||
			!slices.Equal(cfg.GlobalKnownHostsFiles, []string{global}) {
			t.Fatalf("noSSH=%v: known_hosts %q %q %q", noSSH, cfg.KnownHostsFile, cfg.KnownHostsFiles, cfg.GlobalKnownHostsFiles)
		}
		if !slices.ContainsFunc(from, func(o Origin) bool { return o.Setting == "globalknownhostsfile" && o.From == "ssh_config" }) {
			t.Errorf("noSSH=%v: origins %+v", noSSH, from)
		}
		f.cfg = cfg
		key := f.srv.hostKeys[0].PublicKey()
		upper := "[LocalHost]:" + itoa(f.srv.port)
		write := func(file, content string) {
			t.Helper()
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}

		// Known from the second user file only (hand-written in upper
		// case), then from the global file only: no new entry anywhere.
		write(kh1, "")
		write(kh2, "# mine\n"+knownHostsLine(upper, key)+"\n")
		f.dial(t).Close()
		write(kh2, "")
		write(global, knownHostsLine(upper, key)+"\n")
		f.dial(t).Close()
		if a, b := readFile(t, kh1), readFile(t, kh2); a != "" || b != "" {
			t.Errorf("noSSH=%v: a known key was recorded: kh1 %q, kh2 %q", noSSH, a, b)
		}

		// A changed key in the second file is refused, named by that file.
		old := newEd25519Signer(t).PublicKey()
		write(global, "")
		write(kh2, "# mine\n"+knownHostsLine(upper, old)+"\n")
		f.cfg.AcceptNewHostKeys = true
		_, err = Dial(t.Context(), f.cfg)
		var changed *HostKeyChangedError
		if !errors.As(err, &changed) || changed.KnownHostsFile != kh2 || !slices.Equal(changed.KnownAt, []string{kh2 + ":2"}) {
			t.Fatalf("noSSH=%v: changed key in kh2: %v", noSSH, err)
		}
		if readFile(t, kh1) != "" {
			t.Errorf("noSSH=%v: recorded beside a changed key", noSSH)
		}

		// Reprovisioning takes it out of kh2 and records the new key in kh1.
		f.cfg.Reprovision = true
		h := f.dial(t)
		if h.Replaced == nil || h.Replaced.Removed != 1 ||
			!strings.Contains(h.Replaced.String(), "removed from "+kh2+" and the new key recorded in "+kh1) {
			t.Errorf("noSSH=%v: replaced %+v", noSSH, h.Replaced)
		}
		h.Close()
		if got := readFile(t, kh2); got != "# mine\n" {
			t.Errorf("noSSH=%v: kh2 after reprovision %q", noSSH, got)
		}
		if got := readFile(t, kh1); got != knownHostsLine("localhost:"+itoa(f.srv.port), key)+"\n" {
			t.Errorf("noSSH=%v: kh1 after reprovision %q", noSSH, got)
		}

		// An old key in the global file is not removed (nothing hako
		// should write): refused, naming it.
		f.cfg.Reprovision, f.cfg.AcceptNewHostKeys = false, false
		write(kh1, "")
		write(global, knownHostsLine("localhost:"+itoa(f.srv.port), old)+"\n")
		_, err = Dial(t.Context(), f.cfg)
		if !errors.As(err, &changed) || changed.KnownHostsFile != global || !strings.Contains(err.Error(), global+":1") {
			t.Errorf("noSSH=%v: changed key in the global file: %v", noSSH, err)
		}
		f.cfg.Reprovision = true
		_, err = Dial(t.Context(), f.cfg)
		if !errors.As(err, &changed) || changed.KnownHostsFile != global {
			t.Errorf("noSSH=%v: reprovision with the old key in the global file: %v", noSSH, err)
		}
		if got := readFile(t, global); got != knownHostsLine("localhost:"+itoa(f.srv.port), old)+"\n" {
			t.Errorf("noSSH=%v: the global file was changed: %q", noSSH, got)
		}
		if _, err := os.Stat(dir + "/missing"); !os.IsNotExist(err) {
			t.Errorf("noSSH=%v: a missing further file was created: %v", noSSH, err)
		}
	}
}
