package sdcard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hako-dev/hako/plan"
	"github.com/hashicorp/hcl/v2"
)

// FromPlan evaluates a loaded plan like `hako validate` and returns the
// first user of the host named hostName (may be empty when the plan has
// one host). It reads the host's bootstrap block's user and identity_file
// when set, else the host's own (plan.Host.Bootstrap inherits what the
// block leaves out), and nothing else from the plan.
//
// Variables that have no value are fine as long as neither of those two
// needs one: then the error names the variables to set. in.AllowMissing
// is ignored.
func FromPlan(cfg *plan.Config, in plan.Inputs, hostName string) (FirstUser, hcl.Diagnostics) {
	in.AllowMissing = false
	p, diags := plan.Build(cfg, in)
	missing := map[string]bool{}
	if diags.HasErrors() {
		names, others := plan.MissingVariables(diags)
		if others {
			return FirstUser{}, diags
		}
		for _, n := range names {
			missing[n] = true
		}
		in.AllowMissing = true
		p, diags = plan.Build(cfg, in)
		if diags.HasErrors() {
			return FirstUser{}, diags
		}
	}

	h, hb, d := pickHost(cfg, p, hostName)
	diags = diags.Extend(d)
	if d.HasErrors() {
		return FirstUser{}, diags
	}
	// Where each of the two settings is written, by plan's rule for the
	// first-contact connection, for the messages.
	from := func(name string) (*hcl.Attribute, string) {
		a, inBootstrap := hb.FirstContact(name)
		if inBootstrap {
			return a, fmt.Sprintf("host %q bootstrap %s", h.Name, name)
		}
		return a, fmt.Sprintf("host %q %s", h.Name, name)
	}
	userExpr, userFrom := from("user")
	identExpr, identFrom := from("identity_file")
	where := fmt.Sprintf("host %q", h.Name)
	if hb.Bootstrap != nil {
		where += ", bootstrap block"
	}
	locals := map[string]*hcl.Attribute{}
	for _, l := range cfg.Locals {
		locals[l.Name] = l
	}
	for _, need := range []struct {
		attr *hcl.Attribute
		what string
	}{{userExpr, "the first user's name, the " + userFrom}, {identExpr, "the key to install, the " + identFrom}} {
		if need.attr == nil {
			continue
		}
		if names := missingRefs(need.attr.Expr, locals, missing); len(names) > 0 {
			diags = diags.Append(missingDiag(need.what, names, need.attr.Expr.Range()))
		}
	}
	if diags.HasErrors() {
		return FirstUser{}, diags
	}

	conn := h.Conn
	if h.Bootstrap != nil {
		conn = *h.Bootstrap
	}
	u := FirstUser{Name: conn.User, Source: where}
	if len(conn.IdentityFiles) > 0 {
		u.IdentityFile = conn.IdentityFiles[0]
	}
	if u.Name == "" {
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No user for the card",
			Detail:  fmt.Sprintf("The %s has no value, so hako sdcard does not know which user to create.", userFrom),
			Subject: h.Decl.Ptr()})
	}
	if u.IdentityFile == "" {
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No identity_file for the card",
			Detail: fmt.Sprintf("%s sets no identity_file: hako sdcard installs <identity_file>.pub on the card, "+
				"so the plan must name the key hako logs in with (on the host, or in its bootstrap block).", strings.ToUpper(where[:1])+where[1:]),
			Subject: h.Decl.Ptr()})
	}
	return u, diags
}

// pickHost returns the host named name, or the only one, with its block.
func pickHost(cfg *plan.Config, p *plan.Plan, name string) (*plan.Host, *plan.HostBlock, hcl.Diagnostics) {
	var names []string
	for _, h := range p.Hosts {
		names = append(names, h.Name)
	}
	var h *plan.Host
	switch {
	case name != "":
		i := slices.Index(names, name)
		if i < 0 {
			return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No such host",
				Detail: fmt.Sprintf("The plan has no host %q; its hosts: %s.", name, strings.Join(names, ", "))}}
		}
		h = p.Hosts[i]
	case len(p.Hosts) == 1:
		h = p.Hosts[0]
	default:
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Which host is the card for?",
			Detail: fmt.Sprintf("The plan has %d hosts (%s): choose one with -host NAME.", len(names), strings.Join(names, ", "))}}
	}
	hb, diags := cfg.HostBlock(h.Name)
	if hb == nil {
		return nil, nil, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No such host", Detail: fmt.Sprintf("Host %q has no block.", h.Name)})
	}
	return h, hb, diags
}

// missingRefs returns the missing variables an expression uses, directly
// or through locals, in order of appearance.
func missingRefs(expr hcl.Expression, locals map[string]*hcl.Attribute, missing map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(hcl.Expression)
	walk = func(e hcl.Expression) {
		for _, tr := range e.Variables() {
			if len(tr) < 2 {
				continue
			}
			attr, ok := tr[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			switch tr.RootName() {
			case "var":
				if missing[attr.Name] && !slices.Contains(out, attr.Name) {
					out = append(out, attr.Name)
				}
			case "local":
				if l, ok := locals[attr.Name]; ok && !seen[attr.Name] {
					seen[attr.Name] = true
					walk(l.Expr)
				}
			}
		}
	}
	walk(expr)
	return out
}

func missingDiag(what string, names []string, rng hcl.Range) *hcl.Diagnostic {
	var vars, flags, envs []string
	for _, n := range names {
		vars = append(vars, "var."+n)
		flags = append(flags, "-var "+n+"=...")
		envs = append(envs, "HAKO_VAR_"+n)
	}
	pronoun := "it has"
	if len(names) > 1 {
		pronoun = "they have"
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for a variable the card needs",
		Detail: fmt.Sprintf("hako sdcard needs %s, which uses %s, and %s no value. Set it with %s, in a -var-file, or in the environment as %s.",
			what, strings.Join(vars, " and "), pronoun, strings.Join(flags, " "), strings.Join(envs, " and ")),
		Subject: rng.Ptr()}
}
