package plan

import (
	"strings"
	"unicode"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
)

// buildBecome reads become_user and become_password into conn; null or
// "" leaves them unset (root; -ask-become-password or no password). The
// password, the only host attribute that may be sensitive, is never
// quoted: not in a diagnostic, nor in a snippet (secretRanges hides it).
func buildBecome(a *attrs.Attrs, conn *hosts.Config) {
	conn.BecomeUser = a.String("become_user")
	conn.BecomePassword = a.String("become_password")
	if it, ok := a.Items["become_user"]; ok && conn.BecomeUser != "" &&
		(strings.HasPrefix(conn.BecomeUser, "-") || strings.ContainsFunc(conn.BecomeUser, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) })) {
		a.Diags = a.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid become_user",
			Detail:  "become_user must be a user name (or #uid), without spaces or control characters and not starting with \"-\".",
			Subject: it.Range.Ptr()})
	}
	for _, n := range []string{"become_user", "become_password"} {
		if it, ok := a.Items[n]; ok && becomeOff(a) {
			a.Diags = a.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Become setting without become",
				Detail:  n + " has a meaning only with become = true: hako uses sudo only then.",
				Subject: it.Range.Ptr()})
		}
	}
	if it, ok := a.Items["become_password"]; ok && it.Value.IsWhollyKnown() && !a.Sensitive("become_password") {
		a.Diags = a.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "become_password is not sensitive",
			Detail: "hako never shows become_password, but a password written into a plan is read by everyone who reads the plan. " +
				"Take it from a variable declared with sensitive = true (set from the environment, HAKO_VAR_NAME, or a -var-file kept apart), or use -ask-become-password.",
			Subject: it.Range.Ptr()})
	}
}

// becomeOff: the host block says become = false (or leaves it out).
func becomeOff(a *attrs.Attrs) bool {
	it, ok := a.Items["become"]
	if !ok {
		return true
	}
	v, _ := it.Value.UnmarkDeep()
	return v.IsKnown() && !v.IsNull() && !a.Bool("become", true)
}
