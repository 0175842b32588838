package hosts

import "strings"

// Quote returns s as one POSIX shell word. It is wrapped in single quotes,
// the only form in which the shell interprets nothing, and each single quote
// inside becomes close-quote, escaped quote, reopen:
//
//	it's  ->  'it'\''s'
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
