// Package report renders plans and apply progress for people: actions,
// diffs, per-task lines and the recap.
package report

import "strings"

// Style colors text when enabled (a terminal without NO_COLOR).
type Style struct{ Color bool }

const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

func (s Style) paint(code, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return code + text + reset
}

// diffLines colors a unified diff line by line.
func (s Style) diffLines(diff string) []string {
	lines := strings.Split(strings.TrimRight(diff, "\n"), "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			lines[i] = s.paint(bold, l)
		case strings.HasPrefix(l, "+"):
			lines[i] = s.paint(green, l)
		case strings.HasPrefix(l, "-"):
			lines[i] = s.paint(red, l)
		case strings.HasPrefix(l, "@@"):
			lines[i] = s.paint(cyan, l)
		}
	}
	return lines
}
