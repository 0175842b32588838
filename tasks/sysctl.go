package tasks

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Sysctl sets a kernel parameter: its line in a sysctl.d file, read at
// boot, and (unless apply is false) its live value in /proc/sys now.
type Sysctl struct {
	addr  Address
	name  string // dotted, as sysctl prints it: "net.ipv4.ip_forward"
	value string // normalised (sysctlValue)
	file  string // the sysctl.d file that holds the line
	apply bool   // also set the live value
}

func init() {
	register(Kind{
		Name: "sysctl",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "value", Required: true}, {Name: "file"}, {Name: "apply"},
		}},
		Decode:     decodeSysctl,
		NewPlanned: func() any { return new(SysctlPlan) },
	})
}

// sysctlSegment is one dot-separated part of a parameter's name. A slash
// stands for a dot inside the part, as in sysctl(8) and sysctl.d(5): an
// interface eth0.100 is net.ipv4.conf.eth0/100.rp_filter.
var sysctlSegment = regexp.MustCompile(`^[A-Za-z0-9_/-]+$`)

func decodeSysctl(a *attrs.Attrs) Task {
	s := &Sysctl{addr: Address{a.Kind, a.Name}, name: a.String("name"), apply: a.Bool("apply", true)}
	if s.name != "" {
		if err := checkSysctlName(s.name); err != nil {
			a.AttrErrorf("name", "Invalid kernel parameter name", "%v.", err)
		}
	}
	if it, ok := a.Items["value"]; ok && it.Value.Type() == cty.Bool {
		// A bool would be written as "true", which no parameter takes.
		a.AttrErrorf("value", "Invalid kernel parameter value", "value must be a string or a number, as sysctl prints it (1 or 0, not true or false).")
	} else if v, ok := a.Value("value", cty.String); ok {
		switch s.value = sysctlValue(v.AsString()); {
		case s.value == "":
			a.AttrErrorf("value", "Invalid kernel parameter value", "value must not be empty.")
		case attrs.HasControl(strings.ReplaceAll(s.value, "\t", " ")):
			a.AttrErrorf("value", "Invalid kernel parameter value", "value must be one line without control characters (it is a line of a sysctl.d file), got %q.", v.AsString())
		}
	}
	s.file = a.AbsPath("file")
	switch {
	case !a.Has("file"):
		s.file = "/etc/sysctl.d/99-hako-" + a.Name + ".conf"
	case s.file == "":
	case s.file == "/etc/sysctl.conf":
	case path.Dir(s.file) != "/etc/sysctl.d" || !strings.HasSuffix(s.file, ".conf") || strings.HasPrefix(path.Base(s.file), "."):
		a.AttrErrorf("file", "Invalid sysctl file", "file must be /etc/sysctl.conf or a file NAME.conf in /etc/sysctl.d, which the system reads at boot, got %q.", s.file)
	}
	return s
}

// checkSysctlName accepts a parameter's name as sysctl(8) writes it: parts
// separated by dots, each of letters, digits, '_', '-' and '/' (a dot
// within the part), none that would climb out of /proc/sys.
func checkSysctlName(name string) error {
	if c := name[0]; c < 'a' || c > 'z' {
		return fmt.Errorf("%q does not start with a lowercase letter, as kernel parameters do (net.ipv4.ip_forward)", name)
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return fmt.Errorf("%q is not a kernel parameter: write its whole dotted name, such as net.ipv4.ip_forward", name)
	}
	for _, p := range parts {
		if !sysctlSegment.MatchString(p) {
			return fmt.Errorf("%q is not a kernel parameter name: its parts, between dots, are letters, digits, '_', '-' and '/' (a dot in an interface name), and none is empty", name)
		}
		if d := strings.ReplaceAll(p, "/", "."); d == "." || d == ".." {
			return fmt.Errorf("%q is not a kernel parameter name: the part %q names no folder of /proc/sys", name, p)
		}
	}
	return nil
}

// procPath is the parameter's file in /proc/sys.
func (s *Sysctl) procPath() string {
	parts := strings.Split(s.name, ".")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "/", ".")
	}
	return "/proc/sys/" + strings.Join(parts, "/")
}

// sysctlValue is a value as sysctl prints it: without the whitespace
// around it, and the numbers of a parameter that holds several
// (net.ipv4.ip_local_port_range) separated by one tab. A value of words
// (a core pattern, a list of congestion controls) keeps its own spacing.
func sysctlValue(v string) string {
	f := strings.Fields(v)
	if len(f) > 1 && !slices.ContainsFunc(f, func(w string) bool { return !isInteger(w) }) {
		return strings.Join(f, "\t")
	}
	return strings.TrimSpace(v)
}

func isInteger(w string) bool {
	w = strings.TrimPrefix(w, "-")
	return w != "" && strings.Trim(w, "0123456789") == ""
}

// sameSysctlValue compares two values word by word, as sysctl writes them
// back: "1024 65535" is "1024\t65535".
func sameSysctlValue(a, b string) bool { return slices.Equal(strings.Fields(a), strings.Fields(b)) }

func (s *Sysctl) Address() Address { return s.addr }

func (s *Sysctl) Probes() []Probe {
	return []Probe{probe.Stat{Path: s.procPath()}, probe.File{Path: s.procPath()},
		probe.Stat{Path: s.file}, probe.File{Path: s.file}}
}

// WrittenPaths: the sysctl file.
func (s *Sysctl) WrittenPaths() []string { return []string{s.file} }

// Cuts: a network parameter set live (forwarding, reverse-path filtering,
// the ports a connection may use) can cut the network, and so the SSH
// connection, the moment it is set. A task with apply = false changes
// nothing until the next boot, which no guard of this run would watch.
func (s *Sysctl) Cuts(Env) Cuts {
	if s.apply && strings.HasPrefix(s.name, "net.") {
		return CutsNetwork
	}
	return 0
}

// SysctlPlan is a sysctl task's planned change. The file's new content
// is in Change.Content.
type SysctlPlan struct {
	// Live is the parameter's live value before the change ("" when it is
	// not read: apply = false and the host has no such parameter yet).
	Live string `json:"live"`
	// SetLive: the live value differs from the plan's and the task sets it.
	SetLive bool `json:"set_live"`
	// Write: the file gets Change.Content's new content; an existing file
	// keeps its mode and owner, a new one is 0644 root:root.
	Write bool      `json:"write"`
	Mode  OctalMode `json:"mode"`
	Owner string    `json:"owner"`
	Group string    `json:"group"`
}

func (s *Sysctl) Check(st *State, _ Env) (*Change, error) {
	d := &SysctlPlan{}
	c := &Change{Address: s.addr, Planned: d, Summary: s.name + " = " + shownValue(s.value)}
	proc := st.Stat(s.procPath())
	live := st.Content(s.procPath())
	switch {
	case proc.Exists && proc.Type == "regular file" && proc.Mode&0o444 != 0 && proc.Mode&0o004 == 0:
		// Only root may read it (net.ipv4.tcp_fastopen_key): its value is
		// a secret the plan would show, in its value line, the file's diff
		// and -json.
		return nil, fmt.Errorf("the kernel parameter %s is readable by root only (%s, mode %s): its value is a secret a plan would show, so hako does not manage it",
			s.name, s.procPath(), fmtMode(proc.Mode))
	case proc.Exists && proc.Type == "regular file" && live.Readable:
		d.Live = strings.TrimSuffix(string(live.Data), "\n")
		if s.apply && !sameSysctlValue(d.Live, s.value) {
			d.SetLive = true
			c.Attrs = append(c.Attrs, AttrChange{"value", shownValue(d.Live), shownValue(s.value)})
		}
	case proc.Exists && proc.Type == "directory":
		return nil, fmt.Errorf("%s is a group of kernel parameters (%s is a folder), not one parameter", s.name, s.procPath())
	case proc.Exists:
		if s.apply {
			return nil, fmt.Errorf("the kernel parameter %s cannot be read (%s), so hako cannot check it; set apply = false to manage only its line in %s", s.name, s.procPath(), s.file)
		}
	case s.apply:
		return nil, fmt.Errorf("the host has no kernel parameter %s (%s is missing): check the name, or load the module that provides it first; with apply = false only its line in %s is managed", s.name, s.procPath(), s.file)
	}

	content, mode, owner, group, err := s.fileContent(st)
	if err != nil {
		return nil, err
	}
	if content != nil {
		d.Write, d.Mode, d.Owner, d.Group = true, OctalMode(mode), owner, group
		fi := st.Stat(s.file)
		var before []byte
		if fi.Exists {
			before = st.Content(s.file).Data
		}
		c.Content = NewContentChange(s.file, before, content, false)
		if !fi.Exists {
			c.Attrs = append(c.Attrs, AttrChange{"mode", "", fmtMode(mode)})
		}
	}
	switch fi := st.Stat(s.file); {
	case d.Write && !fi.Exists:
		c.Action, c.Summary = Create, c.Summary+" (new "+s.file+")"
	case d.Write || d.SetLive:
		c.Action = Update
	}
	return c, nil
}

// shownValue is a value as a plan line shows it: the tab between the
// numbers of a parameter that holds several as a space, which does not
// jump to the terminal's next tab stop.
func shownValue(v string) string { return strings.ReplaceAll(v, "\t", " ") }

// fileContent is the file's new content (nil when its line is right
// already) and the mode and owner it is written with. The file's other
// lines are kept; the lines that set this parameter become one line, in
// the place of the first.
func (s *Sysctl) fileContent(st *State) (content []byte, mode int, owner, group string, err error) {
	fi := st.Stat(s.file)
	want := s.name + " = " + s.value
	if !fi.Exists {
		return []byte(want + "\n"), 0o644, "root", "root", nil
	}
	got := st.Content(s.file)
	switch {
	case fi.Type != "regular file":
		return nil, 0, "", "", fmt.Errorf("%s exists and is a %s, not a regular file", s.file, fi.Type)
	case fi.Mode&0o004 == 0:
		// Its other lines would be shown in the plan.
		return nil, 0, "", "", fmt.Errorf("%s is not world-readable (mode %s): hako edits only sysctl files anyone may read, as the system's are", s.file, fmtMode(fi.Mode))
	case !got.Readable:
		return nil, 0, "", "", fmt.Errorf("%s cannot be read (larger than %d bytes, or not readable)", s.file, MaxRead)
	}
	lines := strings.SplitAfter(string(got.Data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var out []string
	found, same := 0, false
	for _, l := range lines {
		k, v, ok := sysctlLine(l)
		if !ok || k != s.name {
			out = append(out, l)
			continue
		}
		found++
		if found == 1 {
			same = sameSysctlValue(v, s.value)
			out = append(out, want+"\n")
		}
	}
	if found == 1 && same {
		return nil, 0, "", "", nil
	}
	if found == 0 {
		if n := len(out); n > 0 && !strings.HasSuffix(out[n-1], "\n") {
			out[n-1] += "\n"
		}
		out = append(out, want+"\n")
	}
	return []byte(strings.Join(out, "")), fi.Mode, keepOwner(fi.UID), keepOwner(fi.GID), nil
}

// sysctlLine reads a line of a sysctl.d file: the parameter it sets, in
// dotted form, and the value; ok is false for comments, blank lines and
// lines that set nothing. A leading '-' (ignore errors) is not part of
// the name; a name whose first separator is a slash is written with
// slashes for dots and dots for slashes (sysctl.d(5)).
func sysctlLine(l string) (name, value string, ok bool) {
	t := strings.TrimSpace(l)
	if t == "" || t[0] == '#' || t[0] == ';' {
		return "", "", false
	}
	k, v, ok := strings.Cut(t, "=")
	if !ok {
		return "", "", false
	}
	k = strings.TrimPrefix(strings.TrimSpace(k), "-")
	if i := strings.IndexAny(k, "./"); i >= 0 && k[i] == '/' {
		k = strings.Map(func(r rune) rune {
			switch r {
			case '/':
				return '.'
			case '.':
				return '/'
			}
			return r
		}, k)
	}
	return k, strings.TrimSpace(v), true
}

// Apply sets the live value first: the kernel refuses a value it does not
// take before the file holds it for the next boot. Should the file then
// not be written, the old live value is set back.
func (s *Sysctl) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	d := c.Planned.(*SysctlPlan)
	if d.SetLive {
		if err := s.setLive(ctx, h, s.value); err != nil {
			return err
		}
	}
	if !d.Write {
		return nil
	}
	if c.Content == nil {
		return fmt.Errorf("the plan has no content for %s", s.file)
	}
	err := h.WriteFile(ctx, hosts.FileWrite{Path: s.file, Content: c.Content.after, Mode: fileMode(int(d.Mode)), Owner: d.Owner, Group: d.Group})
	if err != nil && d.SetLive {
		if rerr := s.setLive(ctx, h, d.Live); rerr != nil {
			return fmt.Errorf("%w; and setting %s back to %q failed: %v", err, s.name, shownValue(d.Live), rerr)
		}
		return fmt.Errorf("%w; %s was set back to %q", err, s.name, shownValue(d.Live))
	}
	return err
}

// setLive sets the live value with sysctl(8), which reports a parameter
// the kernel lacks and a value it refuses.
func (s *Sysctl) setLive(ctx context.Context, h hosts.Host, value string) error {
	if err := runOK(ctx, h, "sysctl -q -w -- "+hosts.Quote(s.name+"="+value)); err != nil {
		return fmt.Errorf("setting %s to %q: %w", s.name, shownValue(value), err)
	}
	return nil
}
