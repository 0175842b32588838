package main

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// bootPartition makes a directory that looks like a freshly flashed
// bookworm card's boot partition; cloudInit adds the seed files of a
// trixie one.
func bootPartition(t *testing.T, cloudInit bool) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"config.txt":          "arm_64bit=1\n",
		"cmdline.txt":         "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait quiet\n",
		"start4.elf":          "",
		"bcm2711-rpi-4-b.dtb": "",
		"kernel8.img":         "",
	}
	if cloudInit {
		files["user-data"] = "#cloud-config\n#hostname: raspberrypi\n"
		files["meta-data"] = "instance-id: rpios-image\n"
		files["network-config"] = "#network:\n#  version: 2\n"
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// publicKey writes identity+".pub" (never the private key: hako sdcard
// does not read it) and returns the key's fingerprint.
func publicKey(t *testing.T, identity string) string {
	t.Helper()
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public()
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(identity), 0o700); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " me@laptop\n"
	if err := os.WriteFile(identity+".pub", []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(sp)
}

const sdcardPlan = `
variable "address" { type = string }
variable "admin_user" {
  type    = string
  default = "admin"
}
host "pi" {
  address       = var.address
  user          = var.admin_user
  identity_file = "keys/id_ed25519"
  become        = true
}
`

func TestSdcardBookworm(t *testing.T) {
	dir := planDir(t, sdcardPlan)
	fp := publicKey(t, filepath.Join(dir, "keys", "id_ed25519"))
	boot := bootPartition(t, false)

	// address has no value: the card does not need it. Flags may follow the directories.
	code, stdout, stderr := hako(t, "sdcard", boot, dir, "-var", "admin_user=alice")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"bookworm-style", "First user alice (host \"pi\")", fp,
		"created    ssh", "created    userconf.txt", "created    firstrun.sh", "updated    cmdline.txt"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout does not say %q:\n%s", w, stdout)
		}
	}
	uc, err := os.ReadFile(filepath.Join(boot, "userconf.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^alice:\$6\$[^$]{16}\$[./0-9A-Za-z]{86}\n$`).Match(uc) {
		t.Errorf("userconf.txt = %q", uc)
	}
	hash := strings.TrimSpace(strings.SplitN(string(uc), ":", 2)[1])
	if strings.Contains(stdout+stderr, hash) || strings.Contains(stdout+stderr, "$6$") {
		t.Error("the password hash is printed")
	}

	// Again: the same files, the password kept, cmdline.txt edited once.
	before := readDir(t, boot)
	code, stdout, stderr = hako(t, "sdcard", "-var", "admin_user=alice", boot, dir)
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s%s", code, stdout, stderr)
	}
	if after := readDir(t, boot); !equalStringMaps(before, after) {
		t.Errorf("the second run changed files:\nbefore %v\nafter  %v", before, after)
	}
	for _, w := range []string{"kept       userconf.txt", "unchanged  firstrun.sh", "unchanged  cmdline.txt"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("second run does not say %q:\n%s", w, stdout)
		}
	}
	if n := strings.Count(before["cmdline.txt"], "systemd.run=/boot/firstrun.sh"); n != 1 {
		t.Errorf("cmdline.txt has the argument %d times: %q", n, before["cmdline.txt"])
	}
}

func TestSdcardCloudInit(t *testing.T) {
	// The plan's bootstrap block names the first user when it has one.
	dir := planDir(t, strings.Replace(sdcardPlan, "become        = true",
		"become        = true\n  bootstrap {\n    user = \"pi\"\n  }", 1))
	publicKey(t, filepath.Join(dir, "keys", "id_ed25519"))
	boot := bootPartition(t, true)
	code, stdout, stderr := hako(t, "sdcard", "-var", "address=192.0.2.1", boot, dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	ud, _ := os.ReadFile(filepath.Join(boot, "user-data"))
	if !strings.Contains(string(ud), "  name: pi\n") || !strings.Contains(string(ud), "ssh-ed25519 ") {
		t.Errorf("user-data:\n%s", ud)
	}
	if !strings.Contains(stdout, `First user pi (host "pi", bootstrap block)`) || !strings.Contains(stdout, "trixie-style") {
		t.Errorf("stdout:\n%s", stdout)
	}
	for _, f := range []string{"ssh", "userconf.txt", "firstrun.sh"} {
		if _, err := os.Stat(filepath.Join(boot, f)); err == nil {
			t.Errorf("%s written on a cloud-init card", f)
		}
	}
}

func TestSdcardErrors(t *testing.T) {
	required := strings.Replace(sdcardPlan, "type    = string\n  default = \"admin\"", "type = string", 1)
	cases := []struct {
		name   string
		plan   string
		pub    bool
		boot   func(t *testing.T) string
		args   []string
		stderr []string
	}{
		{name: "missing variable", plan: required, pub: true, stderr: []string{
			`hako sdcard needs the first user's name, the host "pi" user, which uses var.admin_user, and it has no value`,
			"-var admin_user=...", "HAKO_VAR_admin_user"}},
		{name: "missing .pub", plan: sdcardPlan, stderr: []string{"id_ed25519.pub does not exist", "ssh-keygen"}},
		{name: "not a boot partition", plan: sdcardPlan, pub: true, boot: func(t *testing.T) string { return t.TempDir() },
			stderr: []string{"does not look like the boot partition", "no config.txt"}},
		{name: "unknown host", plan: sdcardPlan, pub: true, args: []string{"-host", "nas"}, stderr: []string{`no host "nas"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := planDir(t, c.plan)
			if c.pub {
				publicKey(t, filepath.Join(dir, "keys", "id_ed25519"))
			}
			boot := bootPartition(t, false)
			if c.boot != nil {
				boot = c.boot(t)
			}
			before := readDir(t, boot)
			args := append([]string{"sdcard"}, c.args...)
			code, stdout, stderr := hako(t, append(args, boot, dir)...)
			if code != 1 {
				t.Errorf("exit %d\n%s", code, stdout)
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if after := readDir(t, boot); !equalStringMaps(before, after) {
				t.Errorf("files changed on error:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestSdcardUsage(t *testing.T) {
	code, _, stderr := hako(t, "sdcard", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "expected BOOT_DIR and PLAN_DIR, got 1") || !strings.Contains(stderr, "Usage: hako sdcard") {
		t.Errorf("one directory: exit %d\n%s", code, stderr)
	}
	code, _, stderr = hako(t, "sdcard", "-h")
	if code != 1 || !strings.Contains(stderr, "-host") || !strings.Contains(stderr, "-var-file") {
		t.Errorf("-h: exit %d\n%s", code, stderr)
	}
	if _, stdout, _ := hako(t, "help"); !strings.Contains(stdout, "sdcard") {
		t.Errorf("hako help does not list sdcard:\n%s", stdout)
	}
}

// The repository's example: nothing but the key is needed; the key comes
// from identity_file's default, ~/.ssh/id_ed25519.
func TestSdcardExamplePlan(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, kv := range os.Environ() { // a developer's own HAKO_VAR_identity_file, say
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "HAKO_VAR_") {
			t.Setenv(name, "") // restored after the test
			os.Unsetenv(name)
		}
	}
	fp := publicKey(t, filepath.Join(home, ".ssh", "id_ed25519"))
	boot := bootPartition(t, false)
	code, stdout, stderr := hako(t, "sdcard", boot, filepath.Join("..", "..", "examples", "pi-home-server"))
	if code != 0 || !strings.Contains(stdout, fp) || !strings.Contains(stdout, filepath.Join(home, ".ssh", "id_ed25519.pub")) {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
