package plan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true}, {Name: "port"}, {Name: "user"},
		{Name: "identity_file"}, {Name: "known_hosts"}, {Name: "become"},
		{Name: "become_user"}, {Name: "become_password"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "bootstrap"}},
}

// The first-contact settings of a freshly flashed host (port 22 and the
// image's default user), used when the main port refuses the connection.
var bootstrapSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "port"}, {Name: "user"}, {Name: "identity_file"},
}}

// Attributes every task has, whatever its kind.
var taskCommonSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "hosts"}, {Name: "notify"}, {Name: "when"},
}}

// Attributes every handler has.
var handlerCommonSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "when"}}}

// Build evaluates a loaded plan with the given variable values.
func Build(cfg *Config, in Inputs) (*Plan, hcl.Diagnostics) {
	vars, diags := cfg.resolveVariables(in)
	if diags.HasErrors() {
		return nil, diags
	}
	ev := newEvaluator(cfg.Dir, vars)
	diags = diags.Extend(ev.evalLocals(cfg.Locals))
	if len(cfg.Hosts) == 0 {
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No hosts",
			Detail: "The plan declares no host block, so there is nothing to run on."})
	}
	p := &Plan{Dir: cfg.Dir}
	for _, hb := range cfg.Hosts {
		h, d := buildHost(hb, ev, cfg.Dir, in.SSHConfig)
		diags = diags.Extend(d)
		p.Hosts = append(p.Hosts, h)
	}
	tasksByHost, d := cfg.buildTasks(ev, p.Hosts)
	diags = diags.Extend(d)
	for _, h := range p.Hosts {
		h.Steps = tasksByHost[h.Name]
	}
	return p, dedupe(diags)
}

func buildHost(b *hcl.Block, ev *evaluator, dir string, sshConfig *hosts.SSHConfig) (*Host, hcl.Diagnostics) {
	h := &Host{Name: b.Labels[0], Decl: b.DefRange, Handlers: map[string]*Step{}}
	content, diags := b.Body.Content(hostSchema)
	a := evalAttrs(ev, content.Attributes, "host", h.Name, b, &diags, "become_password")
	h.Conn = hosts.Config{
		Name:           h.Name,
		Address:        a.String("address"),
		User:           a.String("user"),
		KnownHostsFile: localPath(dir, a.String("known_hosts")),
		Become:         a.Bool("become", false),
	}
	if f := a.String("identity_file"); f != "" {
		h.Conn.IdentityFiles = []string{localPath(dir, f)}
	}
	setPort(a, &h.Conn.Port)
	nonEmpty(a, "address", "user")
	checkAddress(a, &h.Conn.Address)
	checkUser(a)
	buildBecome(a, &h.Conn)
	diags = diags.Extend(a.Diags)
	planConn := h.Conn // as the plan wrote it, before ssh_config
	if !diags.HasErrors() {
		diags = diags.Extend(resolveConn(h, a, sshConfig))
	}
	for i, bb := range content.Blocks {
		if i > 0 {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate bootstrap block",
				Detail: "A host has at most one bootstrap block.", Subject: bb.DefRange.Ptr()})
			continue
		}
		h.Bootstrap, diags = buildBootstrap(bb, h, planConn, ev, dir, sshConfig, diags)
	}
	return h, diags
}

// buildBootstrap derives the bootstrap connection from the main one: the
// port defaults to 22, the user to the host's user (after ssh_config).
// ssh_config is then read again for it, as `ssh -l USER -p PORT ADDRESS`
// would: a `Match user` block sees the bootstrap user, %r and %p in
// ProxyCommand or IdentityFile are its user and port, and what the
// plan's host block sets (identity_file, known_hosts) still wins.
// HostBlock.FirstContact follows the same rule for the expressions.
func buildBootstrap(b *hcl.Block, h *Host, planConn hosts.Config, ev *evaluator, dir string, sshConfig *hosts.SSHConfig, diags hcl.Diagnostics) (*hosts.Config, hcl.Diagnostics) {
	content, d := b.Body.Content(bootstrapSchema)
	diags = diags.Extend(d)
	a := evalAttrs(ev, content.Attributes, "host", h.Name, b, &diags)
	bc := planConn
	if diags.HasErrors() || a.Diags.HasErrors() || h.Conn.Address == "" {
		// Nothing to look up (validate without a value for the address).
		bc = h.Conn
	}
	bc.Port = 22
	setPort(a, &bc.Port)
	bc.User = h.Conn.User
	if u := a.String("user"); u != "" {
		bc.User = u
	}
	checkUser(a)
	if f := a.String("identity_file"); f != "" {
		bc.IdentityFiles = []string{localPath(dir, f)}
	}
	if diags.HasErrors() || a.Diags.HasErrors() || h.Conn.Address == "" {
		return &bc, diags.Extend(a.Diags)
	}
	conn, from, err := sshConfig.Resolve(context.Background(), bc)
	if err != nil {
		return &bc, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read ssh_config",
			Detail: fmt.Sprintf("Looking up host %q (address %q, bootstrap user %q, port %d) in ssh_config: %v.",
				h.Name, bc.Address, bc.User, bc.Port, err),
			Subject: b.DefRange.Ptr()})
	}
	h.BootstrapFrom = from
	return &conn, diags
}

// HostBlock is a host block decoded by the schemas Build uses, its settings
// still expressions: where a caller (hako sdcard) finds what a setting is
// written in, to name the variables behind it.
type HostBlock struct {
	Block *hcl.Block
	Attrs hcl.Attributes // the host block's settings
	// Bootstrap is the host's bootstrap block, nil when it has none;
	// BootstrapAttrs are its settings.
	Bootstrap      *hcl.Block
	BootstrapAttrs hcl.Attributes
}

// HostBlock decodes the block of the host named name; nil when the plan
// declares no such host.
func (c *Config) HostBlock(name string) (*HostBlock, hcl.Diagnostics) {
	for _, b := range c.Hosts {
		if len(b.Labels) == 0 || b.Labels[0] != name {
			continue
		}
		content, diags := b.Body.Content(hostSchema)
		hb := &HostBlock{Block: b, Attrs: content.Attributes}
		if len(content.Blocks) > 0 {
			bc, d := content.Blocks[0].Body.Content(bootstrapSchema)
			hb.Bootstrap, hb.BootstrapAttrs = content.Blocks[0], bc.Attributes
			diags = diags.Extend(d)
		}
		return hb, diags
	}
	return nil, nil
}

// FirstContact returns the attribute setting name of the host's
// first-contact connection (Host.Bootstrap, else Host.Conn) is written in,
// by buildBootstrap's rule: the bootstrap block's when it sets it, else
// the host block's, except the port, which defaults to 22. inBootstrap
// says which block; nil when neither sets it (ssh_config or a default
// gives the value).
func (hb *HostBlock) FirstContact(name string) (attr *hcl.Attribute, inBootstrap bool) {
	if hb.Bootstrap == nil {
		return hb.Attrs[name], false
	}
	if a, ok := hb.BootstrapAttrs[name]; ok {
		return a, true
	}
	if name == "port" {
		return nil, false
	}
	return hb.Attrs[name], false
}

// checkUser refuses a user name that ssh would read as an option, or
// whose characters the shell would act on (ProxyCommand's %r).
func checkUser(a *attrs.Attrs) {
	it, ok := a.Items["user"]
	if u := a.String("user"); ok && u != "" {
		if err := hosts.CheckUser(u); err != nil {
			a.Diags = a.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid user",
				Detail: err.Error() + ".", Subject: it.Range.Ptr()})
		}
	}
}

// checkAddress refuses an address with a user or port in it, naming the
// attribute to use instead, and takes the brackets off an IPv6 address.
func checkAddress(a *attrs.Attrs, addr *string) {
	it, ok := a.Items["address"]
	if !ok || *addr == "" {
		return
	}
	clean, err := hosts.CheckAddress(*addr)
	if err != nil {
		a.Diags = a.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid address",
			Detail: err.Error() + ".", Subject: it.Range.Ptr()})
		return
	}
	*addr = clean
}

// resolveConn completes the host's connection settings from ssh_config
// (address as a Host alias; user, port, identity_file and known_hosts
// when the block leaves them out), then OpenSSH's defaults. It runs here,
// not at connect time, because tasks and lockout checks see the user and
// port (`host.port`, the SSH port a firewall must keep open).
func resolveConn(h *Host, a *attrs.Attrs, sshConfig *hosts.SSHConfig) hcl.Diagnostics {
	if h.Conn.Address == "" {
		// Unknown (validate without a value): nothing to look up; tasks
		// see the port as it was given, else ssh's default.
		if h.Conn.Port == 0 {
			h.Conn.Port = 22
		}
		return nil
	}
	conn, from, err := sshConfig.Resolve(context.Background(), h.Conn)
	if err != nil {
		it := a.Items["address"]
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read ssh_config",
			Detail:  fmt.Sprintf("Looking up host %q (address %q) in ssh_config: %v.", h.Name, h.Conn.Address, err),
			Subject: it.Range.Ptr()}}
	}
	h.Conn, h.ConnFrom = conn, from
	return nil
}

// nonEmpty reports a host setting that evaluated to null or "": the schema
// only sees that the attribute is there (default = null, say).
func nonEmpty(a *attrs.Attrs, names ...string) {
	for _, n := range names {
		it, ok := a.Items[n]
		if !ok {
			continue
		}
		v, _ := it.Value.UnmarkDeep()
		if v.IsKnown() && (v.IsNull() || v.Type() == cty.String && v.AsString() == "") {
			a.Diags = a.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty host setting",
				Detail: n + " is null or empty: hako needs it to connect.", Subject: it.Range.Ptr()})
		}
	}
}

// setPort reads an optional port attribute into *port.
func setPort(a *attrs.Attrs, port *int) {
	v, ok := a.Items["port"]
	if !ok {
		return
	}
	if p, err := portNumber(v.Value); err != nil {
		a.Diags = a.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid port",
			Detail: err.Error(), Subject: v.Range.Ptr()})
	} else if p > 0 {
		*port = p
	}
}

func portNumber(v cty.Value) (int, error) {
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() {
		return 0, nil
	}
	if !v.IsNull() {
		v, _ = convert.Convert(v, cty.Number) // "2222" from -var, as Terraform converts
	}
	if v == cty.NilVal || v.IsNull() || v.Type() != cty.Number || !v.IsKnown() {
		return 0, fmt.Errorf("port must be a number from 1 to 65535")
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port must be a whole number from 1 to 65535, got %s", bf.String())
	}
	return int(n), nil
}

// localPath resolves a path on this machine: "~/" is left for hosts to
// expand, other relative paths start at the plan directory.
func localPath(dir, p string) string {
	if p == "" || p == "~" || strings.HasPrefix(p, "~/") || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// hostValue is what expressions see as `host`, with facts as host.facts
// (unknown until the run has asked the host, see facts.go).
func hostValue(h *Host, facts cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name":    cty.StringVal(h.Name),
		"address": cty.StringVal(h.Conn.Address),
		"port":    cty.NumberIntVal(int64(h.Conn.Port)),
		"user":    cty.StringVal(h.Conn.User),
		"facts":   facts,
	})
}

// evalAttrs evaluates a block's attributes for its decoder (a task kind's
// or the host block's); kind and label name the block in diagnostics.
// Only the attributes named in sensitiveOK may carry a sensitive value: any
// other is refused here, before a decoder could quote it in an error or a
// plan.
func evalAttrs(ev *evaluator, list hcl.Attributes, kind, label string, b *hcl.Block, diags *hcl.Diagnostics, sensitiveOK ...string) *attrs.Attrs {
	a := &attrs.Attrs{Kind: kind, Name: label, Decl: b.DefRange, Items: map[string]attrs.Attr{}}
	for name, at := range list {
		v, d := ev.eval(at.Expr)
		*diags = diags.Extend(d)
		if !d.HasErrors() && v.ContainsMarked() && !slices.Contains(sensitiveOK, name) {
			d = hcl.Diagnostics{sensitiveRefused(name, at.Expr.Range(), sensitiveOK)}
			*diags = diags.Extend(d)
		}
		if d.HasErrors() {
			v = cty.DynamicVal // present but unknown: no follow-on "missing" errors
		}
		a.Items[name] = attrs.Attr{Value: v, Range: at.Expr.Range()}
	}
	return a
}

// sensitiveRefused says that attribute name may not use a sensitive value.
func sensitiveRefused(name string, rng hcl.Range, ok []string) *hcl.Diagnostic {
	where := "Only file content, commands and their guards, and authorized_keys may."
	if len(ok) > 0 {
		where = "Here only " + strings.Join(ok, ", ") + " may."
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Sensitive value not allowed here",
		Detail:  name + " cannot use a sensitive value: it is shown in plans and errors, and is not secret on the host. " + where,
		Subject: rng.Ptr()}
}

// dedupe drops diagnostics reported once per host for the same expression.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		key := d.Summary + "\x00" + d.Detail
		if d.Subject != nil {
			key += "\x00" + d.Subject.String()
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}
