//go:build linux

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
)

// secretsPlan is the plan of TestSecretsMeasured before the port move: a
// sensitive marker in two files and a command; var.case adds a file whose
// validator prints it and fails, a file and then a command that prints it
// and fails, or an sshd drop-in that refuses hako's login (with a part of
// the marker on the refused line); "ask" leaves the become password to
// -ask-become-password.
const secretsPlan = `
variable "marker" {
  type      = string
  sensitive = true
}

variable "become_pw" {
  type      = string
  sensitive = true
}

variable "case" {
  type    = string
  default = "ok"
}

variable "round" {
  type    = number
  default = 1
}

host "pi" {
  address         = %q
  port            = 22
  user            = "pi"
  identity_file   = %q
  known_hosts     = %q
  become          = true
  become_password = var.case == "ask" ? null : var.become_pw
}

task "file" "secret" {
  path    = "/etc/hako-secret.env"
  content = "TOKEN=${var.marker}\n"
}

task "file" "sshd_secret" {
  path    = "/etc/ssh/sshd_config.d/30-secret.conf"
  content = "# ${var.marker} (round ${var.round})\n"
}

task "command" "use" {
  command = "printf '%%s' '${replace(var.marker, "'", "'\\''")}' | wc -c >/root/marker.len"
  creates = "/root/marker.len"
}

task "file" "validated" {
  when     = var.case == "validator"
  path     = "/etc/hako-validated.env"
  content  = "TOKEN=${var.marker}\n"
  validate = "cat %%s; cat %%s >&2; echo rejected >&2; exit 1"
}

task "file" "before_failure" {
  when    = var.case == "command"
  path    = "/etc/hako-secret2.env"
  content = "SECOND=${var.marker}\n"
}

task "command" "fails" {
  when    = var.case == "command"
  command = "echo 'using ${replace(var.marker, "'", "'\\''")}'; echo '${replace(var.marker, "'", "'\\''")}' >&2; exit 3"
}

task "file" "deny" {
  when    = var.case == "refuse"
  path    = "/etc/ssh/sshd_config.d/05-deny.conf"
  content = "# ${var.marker}\nAllowUsers nobody ${substr(var.marker, 0, 12)}\n"
}
`

// movePlan moves SSH of the same host from 22 (pi, who now has only a
// password: -ask-bootstrap-password) to 2222 (alice, made by the plan),
// with the marker in the files, one of them under the guard.
const movePlan = `
variable "marker" {
  type      = string
  sensitive = true
}

variable "become_pw" {
  type      = string
  sensitive = true
}

host "pi" {
  address         = %q
  port            = 2222
  user            = "alice"
  identity_file   = %q
  known_hosts     = %q
  become          = true
  become_password = var.become_pw
  bootstrap {
    port = 22
    user = "pi"
  }
}

task "user" "alice" {
  name            = "alice"
  groups          = ["sudo"]
  authorized_keys = [%q]
  sudo            = "nopasswd"
}

task "file" "secret" {
  path    = "/etc/hako-secret.env"
  content = "TOKEN=${var.marker}\n"
}

task "file" "sshd_secret" {
  path    = "/etc/ssh/sshd_config.d/30-secret.conf"
  content = "# ${var.marker} (round 3)\n"
}

task "file" "sshd_port" {
  path     = "/etc/ssh/sshd_config.d/20-port.conf"
  content  = "Port 2222\n"
  validate = "/usr/sbin/sshd -t -f %%s"
  notify   = ["restart_ssh"]
}

handler "restart_ssh" {
  command = "service ssh restart"
}
`

// One run of each way hako meets a secret, on one systemd host: a
// sensitive marker (from the environment, HAKO_VAR_marker, as the README
// shows) and a sudo password that is also the bootstrap user's login
// password (from a var file kept apart, from -ask-become-password and
// from -ask-bootstrap-password). Every output, every file hako wrote on
// this machine, the environment and command line of the processes it
// started, the host's journal and files, and the process lists sampled
// every 20 ms are searched for the secrets and what is cheaply derived
// from them; the only places allowed to hold them are the managed files
// and, root-only, the guard's snapshots of them.
func TestSecretsMeasured(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	marker := randomAlnum(t, 12) + "-it's a $ecret x-" + randomAlnum(t, 12)
	pw := "Pw" + randomAlnum(t, 22)
	h.SudoAsksPassword(t, pw)

	s := newSecretScan(t, h, map[string]string{"the marker": marker, "the sudo/bootstrap password": pw},
		// contents whose hashes would give the marker away
		"TOKEN="+marker+"\n", "SECOND="+marker+"\n", "# "+marker+" (round 1)\n", "# "+marker+" (round 2)\n", "# "+marker+" (round 3)\n")
	s.allowHost = map[string]bool{"/etc/hako-secret.env": true, "/etc/hako-secret2.env": true,
		"/etc/ssh/sshd_config.d/30-secret.conf": true}

	kh := h.KnownHostsFile(t)
	varDir := t.TempDir()
	varFile := filepath.Join(varDir, "secret.hcl")
	writeFile(t, varFile, fmt.Sprintf("become_pw = %q\n", pw))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(secretsPlan, h.Addr, h.KeyFile, kh))
	env := []string{"HAKO_VAR_marker=" + marker}
	args := func(extra ...string) []string { return append(append(extra, "-var-file", varFile), dir) }
	s.localDirs = append(s.localDirs, dir, varDir, filepath.Dir(kh))
	s.allowLocal = map[string]bool{varFile: true}

	s.startHostSampler()
	want := func(r result, code int, subs ...string) {
		t.Helper()
		if r.code != code {
			t.Errorf("want exit %d:\n%s", code, r)
		}
		mustContain(t, r, subs...)
	}

	want(s.run("validate", env, "", "validate", dir), 0)
	want(s.run("plan", env, "", args("plan")...), 0, "+ file.secret", "(sensitive content changed", "(sensitive command)")
	js := s.run("plan -json", env, "", args("plan", "-json")...)
	want(js, 0)
	if !json.Valid([]byte(js.stdout)) {
		t.Errorf("plan -json is not JSON:\n%s", js)
	}
	want(s.run("apply", env, "", args("apply")...), 0, "changed  file.secret", "changed  file.sshd_secret", "changed  command.use")
	if got := strings.TrimSpace(h.Exec(t, "cat /root/marker.len")); got != strconv.Itoa(len(marker)) {
		t.Fatalf("the command saw a marker of %s bytes, want %d", got, len(marker))
	}
	if got := h.Exec(t, "sha256sum </etc/hako-secret.env"); !strings.HasPrefix(got, sha256Hex("TOKEN="+marker+"\n")) {
		t.Fatalf("/etc/hako-secret.env does not hold the marker")
	}
	want(s.run("apply -v -ask-become-password", env, pw+"\n", args("apply", "-v", "-ask-become-password", "-var", "case=ask")...),
		0, "changed=0", "probe: ")

	// The host's copy changes: world-readable, with the marker and a line
	// more. plan shows line counts only.
	h.ExecInput(t, "TOKEN="+marker+"\nEXTRA=1\n", "cat >/etc/hako-secret.env && chmod 0644 /etc/hako-secret.env")
	want(s.run("plan (sensitive diff)", env, "", args("plan")...), 0, "~ file.secret", "(sensitive content changed: 2 → 1 lines)")
	want(s.run("plan -json (sensitive diff)", env, "", args("plan", "-json")...), 0, `"sensitive": true`)
	// Under the guard: it saves the host's sshd drop-in, marker and all.
	want(s.run("apply -confirm", env, "", args("apply", "-confirm", "60s", "-var", "round=2")...),
		0, "guarded change", "changed  file.secret", "changed  file.sshd_secret")

	want(s.run("failing apply (validator)", env, "", args("apply", "-var", "case=validator")...), 1, "failed   file.validated")
	want(s.run("failing apply (command)", env, "", args("apply", "-var", "case=command")...), 1,
		"changed  file.before_failure", "failed   command.fails")
	want(s.run("refused plan", env, "", args("plan", "-var", "case=refuse")...), 1, "sshd-login-user")
	want(s.run("refused apply", env, "", args("apply", "-var", "case=refuse")...), 1, "sshd-login-user")

	// The port move: pi logs in with its password only.
	h.Exec(t, "rm /home/pi/.ssh/authorized_keys")
	pub, err := os.ReadFile(h.KeyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	moveDir := t.TempDir()
	writeFile(t, filepath.Join(moveDir, "plan.hcl"), fmt.Sprintf(movePlan, h.Addr, h.KeyFile, kh, strings.TrimSpace(string(pub))))
	s.localDirs = append(s.localDirs, moveDir)
	moveArgs := func(extra ...string) []string { return append(append(extra, "-var-file", varFile), moveDir) }
	want(s.run("port move", env, pw+"\n", moveArgs("apply", "-ask-bootstrap-password")...), 0,
		"connecting with the bootstrap settings", "changed  user.alice", "confirmed: logged in on port 2222 as alice")
	want(s.run("plan after the move", env, "", moveArgs("plan")...), 0, "Plan: 0 to change")

	s.stopHostSampler()
	s.scanHost()
	s.scanLocalFiles()
	s.report()
}

// secretScan holds what TestSecretsMeasured looks for and what it found.
type secretScan struct {
	t       *testing.T
	h       *testhost.Host
	needles []needle
	start   time.Time
	home    string // HOME and TMPDIR of hako's runs
	tmp     string
	bin     string // an ssh on PATH that records its environment, then runs ssh

	localDirs  []string        // walked after the runs (besides home, tmp, bin)
	allowLocal map[string]bool // local files that hold a secret by the test's doing
	allowHost  map[string]bool // the managed files

	mu           sync.Mutex
	runs         int
	places       map[string]bool
	hits         map[string]bool
	localSamples int
	hostSamples  int
	guardSeen    int // host samples that saw a guard snapshot holding a secret
}

type needle struct {
	label string
	b     []byte
}

func newSecretScan(t *testing.T, h *testhost.Host, secrets map[string]string, contents ...string) *secretScan {
	s := &secretScan{t: t, h: h, start: time.Now(), places: map[string]bool{}, hits: map[string]bool{}}
	for _, name := range sortedKeys(secrets) {
		s.needles = append(s.needles, derivatives(name, secrets[name])...)
	}
	for i, c := range contents {
		s.needles = append(s.needles, needle{fmt.Sprintf("sha256 of managed content %d", i+1), []byte(sha256Hex(c))})
	}
	root := t.TempDir()
	s.home, s.tmp, s.bin = filepath.Join(root, "home"), filepath.Join(root, "tmp"), filepath.Join(root, "bin")
	for _, d := range []string{s.home, s.tmp, s.bin} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	realSSH, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	// hako runs ssh -G to read ssh_config: a process that lives a few
	// milliseconds, which sampling may miss; this one leaves its
	// environment behind for the scan.
	writeFile(t, filepath.Join(s.bin, "ssh"), fmt.Sprintf("#!/bin/sh\ncat /proc/$$/environ >%q/ssh-environ.$$\nexec %q \"$@\"\n", s.bin, realSSH))
	if err := os.Chmod(filepath.Join(s.bin, "ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.localDirs = []string{s.home, s.tmp, s.bin}
	return s
}

// derivatives are a secret and what is cheaply derived from it: its
// base64 (standard and URL alphabets, at each of the three alignments it
// may have inside a longer text), hex, sha256, its shell and Go quoted
// forms, and its first and last 8 characters.
func derivatives(name, v string) []needle {
	var ns []needle
	add := func(label, s string) {
		for _, n := range ns {
			if string(n.b) == s {
				return
			}
		}
		ns = append(ns, needle{name + " (" + label + ")", []byte(s)})
	}
	add("as is", v)
	for skip := range 3 {
		tail := []byte(v[skip:])
		tail = tail[:len(tail)/3*3]
		add(fmt.Sprintf("base64, alignment %d", skip), base64.StdEncoding.EncodeToString(tail))
		add(fmt.Sprintf("base64url, alignment %d", skip), base64.URLEncoding.EncodeToString(tail))
	}
	add("hex", hex.EncodeToString([]byte(v)))
	add("HEX", strings.ToUpper(hex.EncodeToString([]byte(v))))
	add("sha256 hex", sha256Hex(v))
	add("shell-quoted", "'"+strings.ReplaceAll(v, "'", `'\''`)+"'")
	add("Go-quoted", strconv.Quote(v))
	if b, err := json.Marshal(v); err == nil {
		add("JSON", string(b))
	}
	if len(v) >= 24 {
		add("first 8", v[:8])
		add("last 8", v[len(v)-8:])
	}
	return ns
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomAlnum(t *testing.T, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// scan records data as a place searched and every needle found in it.
func (s *secretScan) scan(place string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.places[place] = true
	for _, n := range s.needles {
		if bytes.Contains(data, n.b) {
			s.hits[place+": "+n.label] = true
		}
	}
}

func (s *secretScan) occurrence(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[what] = true
}

// run runs hako as the user would (NO_COLOR, no agent), with env added,
// stdin on its standard input, and HOME, TMPDIR and PATH pointing to the
// scan's folders; it samples the local processes every 20 ms meanwhile.
func (s *secretScan) run(name string, env []string, stdin string, args ...string) result {
	t := s.t
	t.Helper()
	cmd := exec.Command(hakoBin, withConnectTimeout(args)...)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1", "HOME="+s.home, "TMPDIR="+s.tmp, "PATH="+s.bin+":"+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("running hako: %v", err)
	}
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			s.sampleLocal(cmd.Process.Pid)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-sampled
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running hako: %v", err)
	}
	t.Logf("%s (hako %s): exit %d in %v", name, strings.Join(args, " "), r.code, r.elapsed.Round(time.Millisecond))
	s.mu.Lock()
	s.runs++
	s.mu.Unlock()
	s.scan(name+": stdout", out.Bytes())
	s.scan(name+": stderr", errb.Bytes())
	return r
}

// sampleLocal reads the command line of every process on this machine
// (the test hosts' too: they share its process table) and the
// environment of hako's descendants. hako's own environment is left out:
// HAKO_VAR_marker is how the test hands it the marker.
func (s *secretScan) sampleLocal(hako int) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	hakoExe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", hako))
	parent := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(st, ')'); i > 0 {
			if f := strings.Fields(string(st[i+1:])); len(f) > 1 {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
		if cl, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil {
			s.scan("local command lines", cl)
		}
	}
	for pid := range parent {
		if pid == hako {
			continue
		}
		for p, n := parent[pid], 0; p > 1 && n < 64; p, n = parent[p], n+1 {
			if p == hako {
				// A child caught between fork and exec still runs hako's
				// own program in hako's memory: its environ is hako's own
				// (left out above). Read before the environment: a child
				// that has exec'd by then shows the environment it got.
				if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != "" && exe == hakoExe {
					break
				}
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
				if envb, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
					s.scan("environment of a process hako started ("+strings.TrimSpace(string(comm))+")", envb)
				}
				break
			}
		}
	}
	s.mu.Lock()
	s.localSamples++
	s.mu.Unlock()
}

// hostScanDir holds the sampler's script, its log and the needles (for
// grep -f: never on a command line inside the host).
const hostScanDir = "/run/hako-secret-scan"

// startHostSampler starts, inside the host, a loop that every 20 ms
// appends `ps -eo args` to a log and, whenever /var/lib/hako changes,
// lists the files there that hold a needle, with the mode and owner of
// each and of the folders above it: the guard's snapshots live only
// while a guarded run does.
func (s *secretScan) startHostSampler() {
	var patterns strings.Builder
	for _, n := range s.needles {
		patterns.Write(n.b)
		patterns.WriteByte('\n')
	}
	s.h.ExecInput(s.t, patterns.String(), "umask 077 && mkdir -p "+hostScanDir+" && cat >"+hostScanDir+"/patterns")
	s.h.ExecInput(s.t, `cd `+hostScanDir+` || exit 1
last=
while [ ! -e stop ]; do
	echo '--- sample'
	ps -eo args
	cur=$(ls -laR /var/lib/hako 2>/dev/null | md5sum)
	if [ "$cur" != "$last" ]; then
		last=$cur
		find /var/lib/hako -type f -exec grep -laF -f patterns {} + 2>/dev/null | while IFS= read -r f; do
			echo "GUARDHIT $(stat -c '%a %U' "$f") $f"
			d=$(dirname "$f")
			while [ "$d" != / ]; do
				echo "GUARDDIR $(stat -c '%a %U' "$d") $d"
				d=$(dirname "$d")
			done
		done
	fi
	sleep 0.02
done >ps.log 2>&1
echo done >stopped
`, "cat >"+hostScanDir+"/sampler.sh")
	s.h.Exec(s.t, "setsid sh "+hostScanDir+"/sampler.sh </dev/null >/dev/null 2>&1 &")
}

func (s *secretScan) stopHostSampler() {
	s.h.Exec(s.t, "touch "+hostScanDir+"/stop; i=0; while [ ! -e "+hostScanDir+"/stopped ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done")
	log := s.h.Exec(s.t, "cat "+hostScanDir+"/ps.log")
	s.hostSamples = strings.Count(log, "--- sample\n")
	// Not vacuous: the samples saw hako's sudo, which gets the password.
	if !strings.Contains(log, "sudo -k -S -p  -- ") {
		s.t.Errorf("the host's process samples never saw hako's sudo (%d samples)", s.hostSamples)
	}
	var guard []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "GUARDHIT ") || strings.HasPrefix(l, "GUARDDIR ") {
			guard = append(guard, l)
		}
	}
	s.scan("host process list (ps -eo args)", []byte(log))
	s.checkRootOnly(guard)
}

// checkRootOnly judges each guard file seen holding a needle: it must be
// root's, and no one else may reach it (its mode, or a folder above it
// inside /var/lib/hako, is root's alone).
func (s *secretScan) checkRootOnly(lines []string) {
	type stat struct {
		mode  int64
		owner string
	}
	var file string
	var fileStat stat
	var safe bool
	flush := func() {
		if file == "" {
			return
		}
		s.guardSeen++
		if fileStat.owner != "root" || (fileStat.mode&0o077 != 0 && !safe) {
			s.occurrence(fmt.Sprintf("host guard file %s (mode %o, owner %s) holds a secret and is not root-only", file, fileStat.mode, fileStat.owner))
		}
		s.mu.Lock()
		s.places["host guard snapshot "+file] = true
		s.mu.Unlock()
	}
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			continue
		}
		mode, _ := strconv.ParseInt(f[1], 8, 32)
		switch f[0] {
		case "GUARDHIT":
			flush()
			file, fileStat, safe = f[3], stat{mode, f[2]}, false
		case "GUARDDIR":
			if strings.HasPrefix(f[3], "/var/lib/hako") && f[2] == "root" && mode&0o077 == 0 {
				safe = true
			}
		}
	}
	flush()
}

// scanHost searches the host's journal and files (all of its own file
// system, /run and /tmp included; /proc, /sys and /dev aside) for the
// needles.
func (s *secretScan) scanHost() {
	t := s.t
	journal := s.h.Exec(t, "journalctl --sync 2>/dev/null; journalctl --no-pager -o export")
	if !strings.Contains(journal, "COMMAND=/usr/bin/env HAKO_RUN=") {
		t.Errorf("the journal has no sudo line of hako's: not what the scan is about (%d bytes)", len(journal))
	}
	s.scan("host journal (journalctl -o export)", []byte(journal))

	const walk = `find / /run /tmp /dev/shm -xdev \( -path /proc -o -path /sys -o -path /dev -o -path ` + hostScanDir + ` \) -prune -o -type f -print0 2>/dev/null`
	n, _ := strconv.Atoi(strings.TrimSpace(s.h.Exec(t, walk+" | sort -zu | tr -cd '\\0' | wc -c")))
	out := s.h.Exec(t, walk+` | sort -zu | xargs -0 -r grep -laF -f `+hostScanDir+`/patterns 2>/dev/null | while IFS= read -r f; do
	printf 'HIT %s %s\n' "$(stat -c '%a %U' "$f")" "$f"
	grep -oaF -f `+hostScanDir+`/patterns "$f" | sort -u | sed 's/^/ /'
done; true`)
	var file string
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "HIT "); ok {
			f := strings.SplitN(rest, " ", 3)
			if len(f) == 3 {
				file = f[2]
				if !s.allowHost[file] {
					s.occurrence(fmt.Sprintf("host file %s (mode %s, owner %s)", file, f[0], f[1]))
				}
			}
			continue
		}
		if m, ok := strings.CutPrefix(l, " "); ok && file != "" && !s.allowHost[file] {
			for _, nd := range s.needles {
				if strings.Contains(m, string(nd.b)) {
					s.occurrence("host file " + file + ": " + nd.label)
				}
			}
		}
	}
	s.mu.Lock()
	for i := range n {
		s.places[fmt.Sprintf("host file #%d", i)] = true
	}
	s.mu.Unlock()
}

// scanLocalFiles searches every file in the folders hako's runs used
// (HOME, TMPDIR, the plan directories, known_hosts's folder, the
// environments ssh left) and every file under /tmp, /var/tmp and /dev/shm
// changed since the test began (hako writing past TMPDIR).
func (s *secretScan) scanLocalFiles() {
	seen := map[string]bool{}
	visit := func(root string, onlyNew bool) {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || seen[p] || s.allowLocal[p] {
				return nil
			}
			info, err := d.Info()
			if err != nil || (onlyNew && info.ModTime().Before(s.start)) || info.Size() > 16<<20 {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			seen[p] = true
			s.scan("local file "+p, b)
			return nil
		})
	}
	for _, d := range s.localDirs {
		visit(d, false)
	}
	var wrote []string
	for p := range seen {
		if strings.HasPrefix(p, s.home+"/") || strings.HasPrefix(p, s.tmp+"/") {
			wrote = append(wrote, p)
		}
	}
	s.t.Logf("files in hako's HOME and TMPDIR after the runs: %q", wrote)
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
		visit(d, true)
	}
	if env, _ := filepath.Glob(filepath.Join(s.bin, "ssh-environ.*")); len(env) == 0 {
		s.t.Errorf("hako never ran ssh (ssh -G): the environment scan of its children is vacuous")
	}
}

func (s *secretScan) report() {
	t := s.t
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guardSeen == 0 {
		t.Errorf("the host sampler never saw a guard snapshot holding the marker: the guard check is vacuous")
	}
	var hits []string
	for h := range s.hits {
		hits = append(hits, h)
	}
	sort.Strings(hits)
	for _, h := range hits {
		t.Errorf("secret found: %s", h)
	}
	figures.Record(t, "secrets: %d runs, %d places scanned, %d process samples (%d local, %d on the host), %d guard snapshots seen holding the marker, %d needles (2 secrets and their derivatives), %d occurrences",
		s.runs, len(s.places), s.localSamples+s.hostSamples, s.localSamples, s.hostSamples, s.guardSeen, len(s.needles), len(hits))
}
