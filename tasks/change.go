package tasks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	udiff "github.com/aymanbagabas/go-udiff"
)

// Action is what a change will do to the host.
type Action int

const (
	NoOp Action = iota
	Create
	Update
	Delete
	Run // a command that will be run
)

func (a Action) String() string {
	return [...]string{"no-op", "create", "update", "delete", "run"}[a]
}

// Symbol is the one-character marker plan output shows.
func (a Action) Symbol() string {
	return [...]string{" ", "+", "~", "-", "!"}[a]
}

// Change is plain data describing what Apply will do: `hako plan` prints
// it and `hako apply` carries out the same object, so the preview cannot lie.
//
// It is plain data: it round-trips through JSON (see planned.go), except
// what must never be written out (sensitive content, the content of host
// files that are not world-readable).
type Change struct {
	Address Address `json:"address"`
	Action  Action  `json:"action"`
	// Refusals are the reasons the run should not make this change (it
	// would cut hako's connection); the run's policy decides which stand,
	// and the rest of the Change is what is done when none does.
	Refusals []*Refusal `json:"refusals,omitempty"`
	// Summary is a one-line description, e.g. "create /opt/app".
	Summary string `json:"summary"`
	// Attrs are attribute changes (mode, owner, ...), in a stable order.
	Attrs []AttrChange `json:"attrs,omitempty"`
	// Content is set when a file's content changes.
	Content *ContentChange `json:"content,omitempty"`
	// Planned is the kind's own record of what its Apply will do, a
	// pointer to a type declared in the kind's file (*FilePlan,
	// *PackagePlan, ...); nil for kinds whose Apply needs nothing beyond
	// the task and Attrs. Kind.NewPlanned lets JSON decoding build it.
	Planned any `json:"planned,omitempty"`

	// decoded: the change was read back from JSON, which leaves out what
	// no output may show (sensitive content, a private file's content,
	// a user's keys), so applying it could write empty files in their
	// place. Such a change can be shown and compared, not applied.
	decoded bool
}

// FromJSON reports whether the change was read back from JSON and so must
// not be applied.
func (c *Change) FromJSON() bool { return c.decoded }

// AttrChange is one attribute's old and new value ("" before = absent).
type AttrChange struct {
	Name   string `json:"name"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Changed reports whether applying the change would do anything.
func (c *Change) Changed() bool { return c.Action != NoOp }

// ContentChange holds a file's old and new content. The fields are private
// so that no view can print content without going through Diff, which
// hides sensitive content.
type ContentChange struct {
	path          string
	before, after []byte
	sensitive     bool
	// unread: the host's content was too large to read or not readable;
	// only its size, and its hash when known, can be shown.
	unread     bool
	beforeSize int64
	beforeSHA  string
	// private: the host's file is not world-readable. Its content may be
	// a secret the plan does not mark (a root-only password file the plan
	// now fills from a template), so nothing of it is shown, not even a
	// hash.
	private bool
	// lines are the line counts of the old and new content when the
	// content itself is not here: a change read back from JSON, which
	// holds no sensitive or private content.
	lines *[2]int
}

// NewContentChange records a content change of path.
func NewContentChange(path string, before, after []byte, sensitive bool) *ContentChange {
	return &ContentChange{path: path, before: before, after: after, sensitive: sensitive}
}

// newUnreadContentChange records a change from content hako did not read.
func newUnreadContentChange(path string, size int64, sha string, after []byte, sensitive bool) *ContentChange {
	return &ContentChange{path: path, after: after, sensitive: sensitive, unread: true, beforeSize: size, beforeSHA: sha}
}

// hostMode notes the mode of the host's file: without the "other read"
// bit, its content is not shown (private).
func (c *ContentChange) hostMode(mode int) *ContentChange {
	c.private = mode&0o004 == 0
	return c
}

// Sensitive reports whether the content derives from a sensitive value.
func (c *ContentChange) Sensitive() bool { return c.sensitive }

// Diff is the unified diff of the change; for binary content only line
// counts, sizes and hashes. Sensitive content shows only that it changes
// and its line counts: an exact size or an unsalted hash would let anyone
// who reads the output (a CI log) test guesses of a secret offline, and a
// file made from a known template plus a weak password is quickly guessed.
func (c *ContentChange) Diff() string {
	beforeLines, afterLines := c.lineCounts()
	switch {
	case c.sensitive && c.unread:
		return fmt.Sprintf("(sensitive content changed: host content not read → %d lines)\n", afterLines)
	case c.sensitive:
		return fmt.Sprintf("(sensitive content changed: %d → %d lines)\n", beforeLines, afterLines)
	case c.private:
		before := "not read"
		if !c.unread {
			before = fmt.Sprint(beforeLines)
		}
		head := fmt.Sprintf("(host content not shown: the file is not world-readable; %s → %d lines)\n", before, afterLines)
		if !isText(c.after) {
			return head + fmt.Sprintf("(binary plan content: %d bytes, sha256 %s)\n", len(c.after), shortHash(c.after))
		}
		return head + addedLines(c.after)
	case c.unread:
		host := fmt.Sprintf("%d bytes, not readable", c.beforeSize)
		if c.beforeSHA != "" {
			host = fmt.Sprintf("%d bytes, sha256 %s", c.beforeSize, c.beforeSHA[:min(12, len(c.beforeSHA))])
		}
		return fmt.Sprintf("(host content not shown: %s; plan: %d lines, %d bytes, sha256 %s)\n",
			host, lineCount(c.after), len(c.after), shortHash(c.after))
	case !isText(c.before) || !isText(c.after):
		return fmt.Sprintf("(binary content: %s)\n", c.summary())
	}
	return udiff.Unified(c.path+" (host)", c.path+" (plan)", string(c.before), string(c.after))
}

// addedLines shows content as the added lines of a diff.
func addedLines(b []byte) string {
	var s strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			s.WriteString("+" + strings.TrimSuffix(l, "\n") + "\n")
		}
	}
	return s.String()
}

// isText: valid UTF-8 without NUL bytes.
func isText(b []byte) bool { return utf8.Valid(b) && !bytes.ContainsRune(b, 0) }

// summary describes binary content, which is never sensitive here.
func (c *ContentChange) summary() string {
	return fmt.Sprintf("%d → %d lines, %d → %d bytes, sha256 %s → %s",
		lineCount(c.before), lineCount(c.after), len(c.before), len(c.after),
		shortHash(c.before), shortHash(c.after))
}

func lineCount(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	n := strings.Count(string(b), "\n")
	if b[len(b)-1] != '\n' {
		n++
	}
	return n
}

func shortHash(b []byte) string {
	if b == nil {
		return "(none)"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// Refusal is a Check error that stops a host's apply before any task
// changes anything: the plan would, for example, cut the SSH connection
// hako depends on.
type Refusal struct {
	// Check names the rule (e.g. "ufw-lockout"); `-allow-risky CHECK`
	// lets the task go ahead. Empty: the refusal cannot be overridden.
	Check  string `json:"check,omitempty"`
	Reason string `json:"reason"`
}

// The checks of the tasks' own refusals.
const (
	CheckUFWLockout     = "ufw-lockout"
	CheckLoginUserSudo  = "login-user-sudo"
	CheckLoginUserShell = "login-user-shell"
)

func (r *Refusal) Error() string {
	if r.Check == "" {
		return "refused: " + r.Reason
	}
	return fmt.Sprintf("refused: %s (check %s; -allow-risky %s overrides it)", r.Reason, r.Check, r.Check)
}

// RefusalsOf are a checked task's refusals: those its Change carries, or
// its error when that is a refusal (one no run may override, such as
// removing root).
func RefusalsOf(c *Change, err error) []*Refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return []*Refusal{r}
	}
	if err == nil && c != nil {
		return c.Refusals
	}
	return nil
}
