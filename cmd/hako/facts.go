package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/report"
	"github.com/hako-dev/hako/run"
)

// cmdFacts connects to the plan's hosts as plan does and shows what each
// says of itself: the values a plan reads as host.facts.
func cmdFacts(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet("facts", &o, stderr, true)
	fs.BoolVar(&o.json, "json", false, "write the facts as one JSON document")
	only := nameSet{}
	fs.Var(only, "host", "show only this host of the plan (repeatable)")
	if err := parse(fs, args, &o); err != nil {
		return usageError(err, stderr)
	}
	p := load(&o, stderr, false)
	if p == nil || !o.readPassword(stderr) {
		return 1
	}
	if err := checkHostNames(p, only); err != nil {
		fmt.Fprintf(stderr, "Error: -host: %v\n", err)
		return 1
	}
	if len(only) > 0 {
		p.Hosts = slices.DeleteFunc(slices.Clone(p.Hosts), func(h *plan.Host) bool { return !only[h.Name] })
	}
	hfs := run.Facts(ctx, p, o.runOptions())
	var failed int
	if o.json {
		var err error
		if failed, err = report.FactsJSON(stdout, hfs); err != nil {
			fmt.Fprintln(stderr, "hako:", err)
			return 1
		}
	} else {
		failed = report.Facts(stdout, hfs, report.Style{Color: o.colorOn(stdout)})
	}
	if failed > 0 {
		return 1
	}
	return 0
}
