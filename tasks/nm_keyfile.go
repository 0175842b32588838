package tasks

import (
	"slices"
	"strings"
)

// A NetworkManager keyfile (nm-settings-keyfile(5)) is a GLib key file:
// [group] headers, key=value lines, '#' comments. The nm_connection task
// owns some keys of some groups and must leave every other line of the
// file as it is, byte for byte: the Wi-Fi connection Raspberry Pi Imager
// wrote keeps its SSID, PSK and uuid when hako sets its IPv4 addresses.

// kfEntry is one key the task wants, with its value as written (escaped).
type kfEntry struct{ key, value string }

// kfGroup is what the task wants of one group: the entries, in the order
// a new file gets them, and which keys it owns. An owned key that is not
// among the entries is removed (an old address2 when the plan has one
// address, a gateway when the plan has none).
type kfGroup struct {
	name    string
	entries []kfEntry
	owns    func(key string) bool
	// same reports whether an existing value means what the entry's does
	// (a bool written "yes" is "true"); nil: equal strings.
	same func(key, existing, wanted string) bool
	// secret keys are never shown, only whether they change.
	secret map[string]bool
}

// kfGroupAliases are the long names older NetworkManager versions wrote
// for the groups the task manages.
var kfGroupAliases = map[string]string{
	"802-3-ethernet":           "ethernet",
	"802-11-wireless":          "wifi",
	"802-11-wireless-security": "wifi-security",
	"ethernet":                 "ethernet",
	"wifi":                     "wifi",
	"wifi-security":            "wifi-security",
}

func kfCanonGroup(g string) string {
	if a, ok := kfGroupAliases[g]; ok {
		return a
	}
	return g
}

// kfLine is one line of a keyfile, with its newline.
type kfLine struct {
	text  string
	group string // canonical name of the group it is in ("" before the first)
	key   string // "" for headers, comments, blank lines
	value string // raw, as written after '='
	head  bool   // a [group] header
}

func parseKeyfile(data []byte) []kfLine {
	var out []kfLine
	group := ""
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		kl := kfLine{text: l, group: group}
		t := strings.TrimSpace(l)
		switch {
		case t == "" || t[0] == '#':
		case t[0] == '[' && strings.HasSuffix(t, "]"):
			group = kfCanonGroup(t[1 : len(t)-1])
			kl.group, kl.head = group, true
		default:
			if k, v, ok := strings.Cut(t, "="); ok {
				kl.key, kl.value = strings.TrimSpace(k), strings.TrimLeft(v, " \t")
			}
		}
		out = append(out, kl)
	}
	return out
}

// kfGet is the raw value of a key of a group ("" and false when absent);
// the first one counts, as the task writes only one.
func kfGet(lines []kfLine, group, key string) (string, bool) {
	for _, l := range lines {
		if !l.head && l.group == group && l.key == key {
			return l.value, true
		}
	}
	return "", false
}

// mergeKeyfile sets the wanted keys in data (nil: a new file) and returns
// the new content. A line of an owned key whose value means what the
// plan's does is kept as it is; the first other line of an owned key the
// plan sets is replaced in place; every further line of an owned key goes.
// Keys not yet in the group follow its last key; a missing group is added
// at the end. Everything else is kept.
func mergeKeyfile(data []byte, want []kfGroup) []byte {
	lines := parseKeyfile(data)
	byName := map[string]*kfGroup{}
	for i := range want {
		byName[want[i].name] = &want[i]
	}
	done := map[string]map[string]bool{} // group → keys written
	last := map[string]int{}             // group → index in out of its last line that is no blank or comment
	var out []string
	for _, l := range lines {
		g := byName[l.group]
		if g != nil && l.key != "" && g.owns(l.key) {
			if done[l.group] == nil {
				done[l.group] = map[string]bool{}
			}
			i := slices.IndexFunc(g.entries, func(e kfEntry) bool { return e.key == l.key })
			if i < 0 || done[l.group][l.key] {
				continue // an owned key the plan does not set, or a repeat
			}
			done[l.group][l.key] = true
			e := g.entries[i]
			if !sameValue(g, e.key, l.value, e.value) {
				l.text = e.key + "=" + e.value + "\n"
			} else if !strings.HasSuffix(l.text, "\n") {
				l.text += "\n"
			}
		}
		out = append(out, l.text)
		if t := strings.TrimSpace(l.text); t != "" && t[0] != '#' {
			last[l.group] = len(out) - 1
		}
	}
	if n := len(out); n > 0 && !strings.HasSuffix(out[n-1], "\n") {
		out[n-1] += "\n"
	}
	// The keys each existing group still lacks, after its last key.
	extra := map[int][]string{}
	var newGroups []string
	for _, g := range want {
		var add []string
		for _, e := range g.entries {
			if !done[g.name][e.key] {
				add = append(add, e.key+"="+e.value+"\n")
			}
		}
		if i, ok := last[g.name]; ok && g.name != "" {
			extra[i] = append(extra[i], add...)
			continue
		}
		if len(newGroups) > 0 || len(out) > 0 {
			newGroups = append(newGroups, "\n")
		}
		newGroups = append(newGroups, "["+g.name+"]\n")
		newGroups = append(newGroups, add...)
	}
	var b strings.Builder
	for i, t := range out {
		b.WriteString(t)
		for _, a := range extra[i] {
			b.WriteString(a)
		}
	}
	if len(newGroups) > 0 && len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
		newGroups = newGroups[1:] // the file ends with a blank line already
	}
	for _, t := range newGroups {
		b.WriteString(t)
	}
	return []byte(b.String())
}

func sameValue(g *kfGroup, key, existing, wanted string) bool {
	if g.same != nil {
		return g.same(key, existing, wanted)
	}
	return existing == wanted
}

// keyfileView is what a plan shows of a keyfile: the lines of the keys
// the task owns, under their groups, secrets as "(sensitive)". wantView
// is the same for the plan's values; a secret the plan changes shows as
// "(sensitive, changed)", so that the diff says it changes and nothing
// more.
func keyfileView(data []byte, want []kfGroup) []byte {
	lines := parseKeyfile(data)
	var b strings.Builder
	for _, g := range want {
		head := false
		for _, l := range lines {
			if l.head || l.key == "" || l.group != g.name || !g.owns(l.key) {
				continue
			}
			if !head {
				b.WriteString("[" + g.name + "]\n")
				head = true
			}
			v := l.value
			if g.secret[l.key] {
				v = "(sensitive)"
			}
			b.WriteString(l.key + "=" + strings.TrimRight(v, "\r\n") + "\n")
		}
	}
	return []byte(b.String())
}

func wantView(data []byte, want []kfGroup) []byte {
	lines := parseKeyfile(data)
	var b strings.Builder
	for _, g := range want {
		if len(g.entries) == 0 {
			continue
		}
		b.WriteString("[" + g.name + "]\n")
		for _, e := range g.entries {
			v := e.value
			if g.secret[e.key] {
				v = "(sensitive)"
				if old, ok := kfGet(lines, g.name, e.key); !ok || !sameValue(&g, e.key, strings.TrimRight(old, "\r\n"), e.value) {
					v = "(sensitive, changed)"
				}
			}
			b.WriteString(e.key + "=" + v + "\n")
		}
	}
	return []byte(b.String())
}

// kfEscape writes a string value as GLib's key files do: a backslash, a
// leading space and the control characters that may reach here are
// escaped. Values that hold other control characters are refused when the
// plan is decoded.
func kfEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ' ' && i == 0:
			b.WriteString(`\s`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// kfUnescape reads a string value as GLib does.
func kfUnescape(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// kfList is a list value (dns=1.1.1.1;9.9.9.9;) as its elements.
func kfList(s string) []string {
	var out []string
	for _, e := range strings.Split(strings.TrimRight(s, "\r\n"), ";") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// kfBool reads a boolean as GLib does ("true", "false", "1", "0");
// ok is false for anything else.
func kfBool(s string) (v, ok bool) {
	switch strings.TrimSpace(strings.TrimRight(s, "\r\n")) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}
