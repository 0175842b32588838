package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// unreachableSource lists an apt source nothing listens on: apt-get update
// cannot fetch it, warns, and by default still exits 0.
const unreachableSource = "echo 'deb [trusted=yes] http://127.0.0.1:9/debian ./' >/etc/apt/sources.list.d/unreachable.list"

func TestPackageUpdateFailureIsShown(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.LocalAptRepo(t, "hako-demo-pkg")
	h.Exec(t, unreachableSource)
	// The name lives only in the source apt cannot reach; twice, because
	// a failed update must not leave the lists counting as fresh.
	missing := planFor(t, h, `
task "package" "p" {
  names = ["hako-unreachable-pkg"]
}
`)
	for range 2 {
		r := hako(t, "apply", missing)
		if r.code != 1 {
			t.Fatalf("want exit 1:\n%s", r)
		}
		mustContain(t, r, "pi  failed   package.p: apt-get update failed, so nothing was installed:",
			"E: Failed to fetch http://127.0.0.1:9/debian/./InRelease  Could not connect to 127.0.0.1:9",
			"Connection refused")
		if strings.Contains(r.stdout+r.stderr, "lists are fresh") {
			t.Errorf("a failed update counted as fresh lists:\n%s", r)
		}
	}
	if got := h.Exec(t, "ls /var/lib/apt/periodic/update-success-stamp 2>&1 || true"); !strings.Contains(got, "No such file") {
		t.Errorf("update-success-stamp after failed updates: %s", got)
	}

	// The same for a name the reachable source has: the lists are not
	// what the plan asked for, so nothing is installed from them.
	demo := planFor(t, h, `
task "package" "p" {
  names = ["hako-demo-pkg"]
}
`)
	r := hako(t, "apply", demo)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "apt-get update failed, so nothing was installed:", "Failed to fetch http://127.0.0.1:9/")
	if got := h.Exec(t, "dpkg-query -W -f='${db:Status-Status}' hako-demo-pkg 2>/dev/null || true"); got == "installed" {
		t.Error("installed from lists the update could not refresh")
	}

	// Once the source is fixed, the same plan converges.
	h.Exec(t, "rm /etc/apt/sources.list.d/unreachable.list")
	mustContain(t, hako(t, "apply", demo), "changed  package.p: install hako-demo-pkg")
}

// holdAptLocks takes apt's and dpkg's locks inside h as unattended-upgrades
// does (fcntl locks, in a process named unattended-upgr) and returns its
// pid once they are held. It holds them until killed, or with untilApt
// until an apt-get has run into them (then one second more), so that a
// test sees apt-get meet the lock whatever the machine's speed.
func holdAptLocks(t *testing.T, h *testhost.Host, untilApt bool) string {
	t.Helper()
	h.Exec(t, `cat >/root/hold-apt-locks.pl <<'EOF'
use Fcntl;
my @held;
for my $p ("/var/lib/apt/lists/lock", "/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/cache/apt/archives/lock") {
  sysopen(my $f, $p, O_RDWR|O_CREAT, 0640) or die "$p: $!";
  my $lock = pack("s s l l i", F_WRLCK, 0, 0, 0, 0);
  fcntl($f, F_SETLK, $lock) or die "lock $p: $!";
  push @held, $f;
}
$0 = "unattended-upgr";
open(my $ok, ">", "/run/apt-locks-held") or die; close($ok);
if ($ARGV[0] ne "until-apt") { sleep 100000; exit; }
WAIT: while (1) {
  for my $c (glob "/proc/[0-9]*/comm") {
    open(my $fh, "<", $c) or next;
    my $n = <$fh>;
    last WAIT if defined $n && $n eq "apt-get\n";
  }
  select(undef, undef, undef, 0.05);
}
sleep 1;
EOF`)
	mode := "forever"
	if untilApt {
		mode = "until-apt"
	}
	pid := strings.TrimSpace(h.Exec(t, "rm -f /run/apt-locks-held; perl /root/hold-apt-locks.pl "+mode+
		" </dev/null >/dev/null 2>&1 & while kill -0 $! && ! test -e /run/apt-locks-held; do sleep 0.1; done; test -e /run/apt-locks-held && echo $!"))
	t.Cleanup(func() { h.Exec(t, "kill "+pid+" 2>/dev/null || true") })
	return pid
}

func TestPackageWaitsForAptLock(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.LocalAptRepo(t, "hako-first-pkg", "hako-second-pkg", "hako-third-pkg")
	install := func(name, extra string) result {
		t.Helper()
		return hako(t, "apply", planFor(t, h, `
task "package" "p" {
  names = ["`+name+`"]
  `+extra+`
}
`))
	}

	// The lists are missing, so the run starts with apt-get update, which
	// does not wait for the lists' lock itself: hako waits until the holder
	// is done.
	holdAptLocks(t, h, true)
	r := install("hako-first-pkg", "")
	mustContain(t, r, "changed  package.p: install hako-first-pkg")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}

	// A holder that does not let go: hako gives up after its timeout and
	// names the lock and the process. First the lists' lock (update)...
	pid := holdAptLocks(t, h, false)
	r = install("hako-second-pkg", "lock_timeout_seconds = 2\n  cache_valid_seconds = 0")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "pi  failed   package.p: apt is busy: /var/lib/apt/lists/lock is held by process "+pid+
		" (unattended-upgr); hako waited 2 s for it (lock_timeout_seconds)")
	// ...then dpkg's, with fresh lists (install).
	r = install("hako-second-pkg", "lock_timeout_seconds = 2")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "pi  failed   package.p: apt is busy: /var/lib/dpkg/lock-frontend is held by process "+pid+
		" (unattended-upgr); hako waited 2 s for it (lock_timeout_seconds)")
	if got := h.Exec(t, "dpkg-query -W -f='${db:Status-Status}' hako-second-pkg 2>/dev/null || true"); got == "installed" {
		t.Error("installed while another process held dpkg's lock")
	}
	h.Exec(t, "kill "+pid)

	// A holder that lets go in time, with fresh lists: apt-get install
	// waits.
	holdAptLocks(t, h, true)
	mustContain(t, install("hako-second-pkg", ""), "changed  package.p: install hako-second-pkg")
}

// A dpkg run cut short (a Ctrl-C or a lost connection during an earlier
// apply) leaves dpkg's journal of updates behind, and apt then refuses all
// work ("dpkg was interrupted, you must manually run 'dpkg --configure
// -a'"): the next apply runs that repair and installs.
func TestPackageAfterInterruptedDpkg(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.LocalAptRepo(t, "hako-demo-pkg")
	// What dpkg leaves when it is killed mid-run: a status entry in its
	// updates journal, not yet merged into its status file.
	h.Exec(t, `mkdir -p /var/lib/dpkg/updates && dpkg-query -s base-files >/var/lib/dpkg/updates/0001`)
	if got := h.Exec(t, "apt-get -y install base-files 2>&1 || true"); !strings.Contains(got, "dpkg was interrupted") {
		t.Fatalf("apt does not see an interrupted dpkg; the test sets up nothing:\n%s", got)
	}
	dir := planFor(t, h, `
task "package" "p" {
  names = ["hako-demo-pkg"]
}
`)
	r := hako(t, "apply", dir)
	if r.code != 0 {
		t.Fatalf("apply after an interrupted dpkg: want exit 0\n%s", r)
	}
	mustContain(t, r, "changed  package.p: install hako-demo-pkg")
	if got := h.Exec(t, "dpkg-query -W -f='${db:Status-Status}' hako-demo-pkg; ls -A /var/lib/dpkg/updates"); got != "installed" {
		t.Errorf("after the apply: %q, want the package installed and dpkg's journal empty", got)
	}
	if r := hako(t, "plan", "-detailed-exitcode", dir); r.code != 0 {
		t.Errorf("plan after the apply: want exit 0\n%s", r)
	}
}
