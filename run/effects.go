package run

import (
	"path"
	"slices"
	"strings"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
)

// What a change may have affected. Apply keeps the survey's check of a
// later task unless an earlier task that changed in this run may have
// changed what that check read, and re-checks a changed task (to prove
// it converged) once, before any later change that may touch what it
// reads, or at the end. Both need to know which changes may affect which
// checks, and the answer must never be "no" wrongly: a stale check
// applies or skips a task against a host that is no longer there.
//
// A task's effect is known by path only when its kind says so
// (tasks.Confined: a file written, a folder made); every other change
// (a package, a command, a user, a service, the firewall, a network
// connection, a sysctl) may have changed anything. A check is known to
// read only paths when every probe it asks names a path the probe script
// reads without help from anything else (probe.Stat, probe.File,
// probe.Leftovers); a command's, a unit's or an account's probe may read
// anything. Paths are compared where they really are on the host
// (probe.RealDir: with every symlink on the way resolved), so that a
// write through a symlinked folder is seen by a check of the same file
// under its other name.
//
// A write at W may affect a read of Q when Q is W or below it (a folder
// stands for its tree: its mode and owner are on the way to everything
// in it), or, for a task that may create the missing folders above W, when
// W is below Q (Q may not have existed). Writing a file into a folder
// that exists changes the folder's times and size, which no check reads,
// and the folder's leftover temp files only as far as that file's own
// are concerned, which only a check of that file reads (and that check
// reads the file's path as well).

// effect is what an applied change may have changed on the host.
type effect struct {
	global  bool     // anything: the change's effects are not known by path
	paths   []string // the real paths written; a folder stands for its tree
	folders bool     // and the missing folders above them may have been made
	// literal are the paths written as the plan names them: a check also
	// walks the folders on its path as written (the route and leftover
	// checks), also those before a symlink whose target lies elsewhere,
	// so a change of a folder's owner or mode there touches it too.
	literal []string
}

// probeInputs are paths whose content changes the probe script's answers
// about other paths: the programs and libraries it runs, the names of
// users and groups stat prints, sudo's rules that run it. A write to one
// of them counts as a change of anything.
var probeInputs = []string{
	"/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
	"/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ld.so.cache",
	"/etc/alternatives", "/etc/sudoers", "/etc/sudoers.d",
	"/proc", "/sys", "/dev",
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func probeInput(p string) bool {
	for _, in := range probeInputs {
		if within(p, in) {
			return true
		}
	}
	return false
}

// realPath is where p really is, from the RealDir answer for its folder
// in st (the final name is not followed: a path probe reads, and a write
// replaces, the entry itself); false when st does not say.
func realPath(st *tasks.State, p string) (string, bool) {
	if p == "/" {
		return p, true
	}
	return realIn(st, path.Dir(p), path.Base(p))
}

// realFolder is where the folder dir really is, following dir itself too
// when it is a symlink (as a probe that enters the folder does).
func realFolder(st *tasks.State, dir string) (string, bool) { return realIn(st, dir, "") }

func realIn(st *tasks.State, dir, name string) (string, bool) {
	r := probe.RealDir{Path: dir}
	if st == nil || !st.Has(r) {
		return "", false
	}
	rd := probe.Answer[string](st.Answers, r)
	if rd == "" {
		return "", false
	}
	return path.Join(rd, name), true
}

// effectOf is what applying s may change, judged from st (the answers its
// check read).
func effectOf(s *plan.Step, st *tasks.State) effect {
	c, ok := s.Task.(tasks.Confined)
	if !ok || s.AlwaysRuns() {
		return effect{global: true}
	}
	confined, folders := c.Confined()
	if !confined {
		return effect{global: true}
	}
	e := effect{folders: folders}
	for _, p := range c.WrittenPaths() {
		rp, known := realPath(st, p)
		if !known || probeInput(p) || probeInput(rp) {
			return effect{global: true}
		}
		e.paths = append(e.paths, rp)
		e.literal = append(e.literal, path.Clean(p))
	}
	return e
}

// pathRead is a path a check reads; folder: the probe enters it (the
// folder a symlink at the path leads to is what it reads).
type pathRead struct {
	path   string
	folder bool
}

// readsOf are the paths s's check reads; false when it may read more.
func readsOf(s *plan.Step) ([]pathRead, bool) {
	var out []pathRead
	for _, p := range s.Task.Probes() {
		switch r := p.(type) {
		case probe.Stat:
			if r.Sensitive {
				// Its folder must not be asked about either (a RealDir
				// request names its path in errors): taken as unknown.
				return nil, false
			}
			out = append(out, pathRead{path: r.Path})
		case probe.File:
			if r.Sensitive {
				return nil, false
			}
			out = append(out, pathRead{path: r.Path})
		case probe.Leftovers:
			out = append(out, pathRead{path: r.Dir, folder: true})
		default:
			return nil, false
		}
	}
	return out, true
}

// affects reports whether e may have changed what s's check read, with
// the paths as st resolves them.
func affects(e effect, s *plan.Step, st *tasks.State) bool {
	return e.touches(readsIn(s, st))
}

// reads are the paths a check reads, where they really are (real, with
// every symlink on the way resolved) and as the plan writes them
// (literal); known is false when the check may read more, or when a
// path's real place is not known.
type reads struct {
	real, literal []string
	known         bool
}

// readsIn resolves what s's check reads with st's answers.
func readsIn(s *plan.Step, st *tasks.State) reads {
	rs, known := readsOf(s)
	if !known {
		return reads{}
	}
	out := reads{known: true}
	for _, r := range rs {
		var q string
		var ok bool
		if r.folder {
			q, ok = realFolder(st, r.path)
		} else {
			q, ok = realPath(st, r.path)
		}
		if !ok {
			return reads{}
		}
		out.real = append(out.real, q)
		out.literal = append(out.literal, path.Clean(r.path))
	}
	return out
}

// touches reports whether e may have changed what a check reading r read.
func (e effect) touches(r reads) bool {
	if e.global || !r.known {
		return true
	}
	for _, q := range r.real {
		for _, w := range e.paths {
			if within(q, w) || e.folders && within(w, q) {
				return true
			}
		}
	}
	for _, lq := range r.literal {
		for _, w := range e.literal {
			if within(lq, w) || e.folders && within(w, lq) {
				return true
			}
		}
	}
	return false
}

// realDirProbes ask where the folders that the steps' path probes read,
// and that their confined writes write in, really are (for affects);
// none when no task of the host (all) has an effect known by path, as
// then no paths are compared.
func realDirProbes(all, steps []*plan.Step) []tasks.Probe {
	if !slices.ContainsFunc(all, func(s *plan.Step) bool { _, ok := s.Task.(tasks.Confined); return ok }) {
		return nil
	}
	var out []tasks.Probe
	for _, s := range steps {
		if c, ok := s.Task.(tasks.Confined); ok {
			for _, p := range c.WrittenPaths() {
				out = append(out, probe.RealDir{Path: path.Dir(p)})
			}
		}
		reads, _ := readsOf(s)
		for _, r := range reads {
			if r.folder {
				out = append(out, probe.RealDir{Path: r.path})
			} else if r.path != "/" {
				out = append(out, probe.RealDir{Path: path.Dir(r.path)})
			}
		}
	}
	return out
}

// stepProbes are the probes the checks of steps (of all, the host's)
// ask, and those affects needs for them.
func stepProbes(all, steps []*plan.Step) []tasks.Probe {
	return append(probesOf(steps), realDirProbes(all, steps)...)
}
