package tasks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// A Change is plain data: it is written as JSON (a plan view, a saved
// plan) and read back into the same Go value. The kind's own part,
// Change.Planned, is decoded into the type its Kind.NewPlanned makes.
//
// What no output may show is not written either: sensitive content (only
// that it is sensitive and its line counts, as Diff shows), the content of
// a host file that is not world-readable, and whatever a kind's plan type
// marks `json:"-"`. A change read back from JSON lacks those, so its Diff
// still says what the original's did, but it cannot write that content.

// MarshalText writes an action as its name ("create").
func (a Action) MarshalText() ([]byte, error) {
	if a < NoOp || a > Run {
		return nil, fmt.Errorf("invalid action %d", int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText reads an action's name.
func (a *Action) UnmarshalText(b []byte) error {
	for x := NoOp; x <= Run; x++ {
		if x.String() == string(b) {
			*a = x
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", b)
}

// UnmarshalJSON reads a change, its Planned value as the type its kind
// declares.
func (c *Change) UnmarshalJSON(b []byte) error {
	type plain Change // without this method
	var w struct {
		plain
		Planned json.RawMessage `json:"planned,omitempty"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Change(w.plain)
	c.Planned, c.decoded = nil, true
	if len(w.Planned) == 0 || string(w.Planned) == "null" {
		return nil
	}
	k, ok := LookupKind(c.Address.Kind)
	if !ok {
		return fmt.Errorf("change %s: unknown task kind %q", c.Address, c.Address.Kind)
	}
	if k.NewPlanned == nil {
		return fmt.Errorf("change %s: the %s kind has no planned value, but the change has one", c.Address, k.Name)
	}
	v := k.NewPlanned()
	if err := json.Unmarshal(w.Planned, v); err != nil {
		return fmt.Errorf("change %s: planned: %w", c.Address, err)
	}
	c.Planned = v
	return nil
}

// contentJSON is a ContentChange as JSON. Text is written as a string,
// other content as base64 (a JSON string cannot hold invalid UTF-8); a
// missing file (nil) has neither, an empty one "".
type contentJSON struct {
	Path      string `json:"path"`
	Sensitive bool   `json:"sensitive,omitempty"`
	// Private: the host's file is not world-readable, so its content is
	// not written.
	Private bool `json:"private,omitempty"`
	// Unread: hako did not read the host's content (too large, or not
	// readable); BeforeSize and BeforeSHA256 say what is known of it.
	Unread       bool    `json:"unread,omitempty"`
	Before       *string `json:"before,omitempty"`
	BeforeBase64 []byte  `json:"before_base64,omitempty"`
	After        *string `json:"after,omitempty"`
	AfterBase64  []byte  `json:"after_base64,omitempty"`
	// The line counts of content that is not written.
	BeforeLines  *int   `json:"before_lines,omitempty"`
	AfterLines   *int   `json:"after_lines,omitempty"`
	BeforeSize   int64  `json:"before_size,omitempty"`
	BeforeSHA256 string `json:"before_sha256,omitempty"`
}

func putContent(b []byte) (*string, []byte) {
	switch {
	case b == nil:
		return nil, nil
	case utf8.Valid(b):
		s := string(b)
		return &s, nil
	}
	return nil, b
}

func getContent(s *string, b64 []byte) []byte {
	if s != nil {
		return []byte(*s)
	}
	return b64
}

// MarshalJSON writes what Diff may show and nothing more.
func (c *ContentChange) MarshalJSON() ([]byte, error) {
	j := contentJSON{Path: c.path, Sensitive: c.sensitive, Private: c.private, Unread: c.unread}
	beforeLines, afterLines := c.lineCounts()
	switch {
	case c.sensitive:
		if !c.unread {
			j.BeforeLines = &beforeLines
		}
		j.AfterLines = &afterLines
	case c.private:
		if !c.unread {
			j.BeforeLines = &beforeLines
		}
		j.After, j.AfterBase64 = putContent(c.after)
	default:
		if c.unread {
			j.BeforeSize, j.BeforeSHA256 = c.beforeSize, c.beforeSHA
		} else {
			j.Before, j.BeforeBase64 = putContent(c.before)
		}
		j.After, j.AfterBase64 = putContent(c.after)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote. Content that was not written
// stays nil; its line counts are kept for Diff.
func (c *ContentChange) UnmarshalJSON(b []byte) error {
	var j contentJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = ContentChange{path: j.Path, sensitive: j.Sensitive, private: j.Private, unread: j.Unread,
		before: getContent(j.Before, j.BeforeBase64), after: getContent(j.After, j.AfterBase64),
		beforeSize: j.BeforeSize, beforeSHA: j.BeforeSHA256}
	if j.BeforeLines != nil || j.AfterLines != nil {
		n := [2]int{lineCount(c.before), lineCount(c.after)}
		if j.BeforeLines != nil {
			n[0] = *j.BeforeLines
		}
		if j.AfterLines != nil {
			n[1] = *j.AfterLines
		}
		c.lines = &n
	}
	return nil
}

// lineCounts are the line counts of the old and new content, also when
// the content itself was not written to JSON.
func (c *ContentChange) lineCounts() (before, after int) {
	if c.lines != nil {
		return c.lines[0], c.lines[1]
	}
	return lineCount(c.before), lineCount(c.after)
}

// OctalMode is a file mode that JSON shows as people write it ("0644").
type OctalMode int

func (m OctalMode) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("%04o", int(m))), nil }

func (m *OctalMode) UnmarshalText(b []byte) error {
	n, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil || n > 0o7777 {
		return fmt.Errorf("invalid file mode %q", b)
	}
	*m = OctalMode(n)
	return nil
}

// FinalChecker is a kind whose planned change predicts more of the host's
// state than "nothing left to do": the ufw task predicts the exact rule
// lists its commands leave, and its lockout check examined that
// prediction. After Apply, once the re-check finds nothing left to do,
// the run compares the prediction with what the host now holds.
type FinalChecker interface {
	// CheckFinal says how the state s, gathered after Apply with the
	// task's own probes, differs from what the change c predicted; nil
	// when it is what c predicted.
	CheckFinal(c *Change, s *State) error
}
