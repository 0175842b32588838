package lint

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
)

// facts is what the facts probe learned about the host.
type facts struct {
	login      string                // the user hako is logged in as now
	units      map[string]unitFacts  // by unit name, from systemctl (none without systemd)
	devices    map[string]string     // NetworkManager's devices and their states (nmcli)
	files      map[string][]byte     // sshd, ssh.socket and sudoers configuration files
	unreadable map[string]bool       // such files hako could not read
	users      map[string]*userFacts // the login users, by name
	guards     []pendingGuard        // rollbacks armed by earlier runs, not yet run (root only)
}

type unitFacts struct {
	activeState, unitFileState string
	listen                     []string // a socket's addresses
}

type userFacts struct {
	exists         bool
	groups         []string // all of them, primary included
	keys           []byte
	keysKnown      bool // keys holds ~/.ssh/authorized_keys (nil: no such file)
	keysUnreadable bool
}

// The files the checks read: sshd's configuration, ssh.socket's unit and
// drop-ins under /etc (where a socket-activated sshd listens), and the
// sudoers rules.
const factFiles = "/etc/ssh/sshd_config /etc/ssh/sshd_config.d/* /etc/systemd/system/ssh.socket " +
	"/etc/systemd/system/ssh.socket.d/*.conf /etc/sudoers /etc/sudoers.d/*"

// factsScript prints, one tagged line each: the user hako is logged in as
// (L); with systemd, the state of ssh.socket and NetworkManager (Y, from
// one systemctl show); NetworkManager's devices when nmcli is there (M);
// the content of sshd's, ssh.socket's and sudo's configuration files (F,
// or f when unreadable); and for the host's user, its bootstrap user and
// the user logged in as: whether it exists, its groups and authorized_keys
// (N or U, then K or k).
func factsScript(h *plan.Host) string {
	users := []string{hosts.Quote(h.Conn.User)}
	if h.Bootstrap != nil && h.Bootstrap.User != h.Conn.User {
		users = append(users, hosts.Quote(h.Bootstrap.User))
	}
	users = append(users, `"$l"`)
	return `PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
l=${SUDO_USER:-$(id -un)}; echo "L $l"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl show -p Id -p ActiveState -p UnitFileState -p Listen ssh.socket NetworkManager.service 2>/dev/null | sed 's/^/Y /'
fi
if command -v nmcli >/dev/null 2>&1; then nmcli -t -f DEVICE,STATE device 2>/dev/null | sed 's/^/M /'; fi
for f in ` + factFiles + `; do
  [ -f "$f" ] || continue
  if [ -r "$f" ]; then printf 'F %s ' "$f"; base64 -w0 < "$f"; echo; else echo "f $f"; fi
done
` + pendingGuardsScript + `
for u in ` + strings.Join(users, " ") + `; do
  pw=$(getent passwd -- "$u") || { echo "N $u"; continue; }
  echo "U $u $(id -nG -- "$u" | tr ' ' ,)"
  k="$(printf '%s\n' "$pw" | cut -d: -f6)/.ssh/authorized_keys"
  if [ -f "$k" ] && [ -r "$k" ]; then printf 'K %s ' "$u"; base64 -w0 < "$k"; echo; elif [ -e "$k" ]; then echo "k $u"; fi
done`
}

// parseFacts reads the probe's output. Lines it does not know are
// skipped: a check without its fact finds nothing.
func parseFacts(out []byte) *facts {
	f := &facts{units: map[string]unitFacts{}, devices: map[string]string{}, files: map[string][]byte{},
		unreadable: map[string]bool{}, users: map[string]*userFacts{}}
	user := func(name string) *userFacts {
		if f.users[name] == nil {
			f.users[name] = &userFacts{}
		}
		return f.users[name]
	}
	var unit string
	var uf unitFacts
	flush := func() {
		if unit != "" {
			f.units[unit] = uf
		}
		unit, uf = "", unitFacts{}
	}
	// Line by line over the answer, which is in memory already (bounded by
	// what Run keeps): a line-length limit, as bufio.Scanner has, would
	// end the reading at the first large file and silently drop every
	// fact after it.
	for l := range bytes.Lines(out) {
		line := strings.TrimSuffix(strings.TrimSuffix(string(l), "\n"), "\r")
		tag, rest, _ := strings.Cut(line, " ")
		switch tag {
		case "L":
			f.login = rest
		case "Y": // systemctl show: a block of properties per unit, in its own order
			k, v, _ := strings.Cut(rest, "=")
			switch k {
			case "":
				flush()
			case "Id":
				unit = v
			case "ActiveState":
				uf.activeState = v
			case "UnitFileState":
				uf.unitFileState = v
			case "Listen": // "[::]:22 (Stream)", one line per socket
				if v, _, _ = strings.Cut(v, " "); v != "" {
					uf.listen = append(uf.listen, v)
				}
			}
		case "M":
			if i := strings.LastIndex(rest, ":"); i > 0 {
				f.devices[strings.ReplaceAll(rest[:i], `\:`, ":")] = rest[i+1:]
			}
		case "F":
			i := strings.LastIndex(rest, " ")
			if i < 0 {
				continue
			}
			if data, err := base64.StdEncoding.DecodeString(rest[i+1:]); err == nil {
				f.files[rest[:i]] = data
			}
		case "f":
			f.unreadable[rest] = true
		case "G":
			if g, ok := parsePendingGuard(rest); ok {
				f.guards = append(f.guards, g)
			}
		case "N":
			user(rest)
		case "U":
			name, groups, _ := strings.Cut(rest, " ")
			u := user(name)
			u.exists = true
			u.groups = strings.FieldsFunc(groups, func(r rune) bool { return r == ',' })
		case "K":
			name, b64, _ := strings.Cut(rest, " ")
			if data, err := base64.StdEncoding.DecodeString(b64); err == nil {
				u := user(name)
				u.keys, u.keysKnown = data, true
			}
		case "k":
			user(rest).keysUnreadable = true
		}
	}
	flush()
	return f
}

// systemd units' states as the checks read them.
func (u unitFacts) enabled() bool {
	return u.unitFileState == "enabled" || u.unitFileState == "enabled-runtime"
}

func (u unitFacts) active() bool {
	switch u.activeState {
	case "active", "activating", "reloading":
		return true
	}
	return false
}
