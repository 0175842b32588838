package report

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"

	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/run"
)

// Facts shows each host's facts as a table of the names a plan reads
// them by (host.facts.NAME), or its error. It returns the number of
// hosts that could not be reached or probed.
func Facts(w io.Writer, hfs []*run.HostFacts, st Style) int {
	failed := 0
	for _, hf := range hfs {
		c := hf.Host.Conn
		fmt.Fprintf(w, "%s %s\n", st.paint(bold, "host "+hf.Host.Name), fmt.Sprintf("(%s@%s:%d)", c.User, c.Address, c.Port))
		for _, n := range hf.Notes {
			fmt.Fprintf(w, "  %s\n", st.paint(bold, "note: "+n))
		}
		if hf.Err != nil {
			failed++
			fmt.Fprintf(w, "  %s %v\n\n", st.paint(red, "error:"), hf.Err)
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range FactRows(hf.Facts) {
			fmt.Fprintf(tw, "  host.facts.%s\t%s\n", r[0], r[1])
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	return failed
}

// FactRows are the facts as name and value, in HostFacts' field order,
// nested names joined by dots (os.id) and list items by their index
// (nm_connections[0].name): the names come from the same tags the plan
// reads them by.
func FactRows(f probe.HostFacts) [][2]string {
	var rows [][2]string
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			name := prefix + t.Field(i).Tag.Get("cty")
			switch fv := v.Field(i); fv.Kind() {
			case reflect.Struct:
				walk(name+".", fv)
			case reflect.Slice:
				// A list of objects (nm_connections): a row per field of
				// each, by the index a plan reads it with
				// (nm_connections[0].name); an empty list is one row.
				if fv.Len() == 0 {
					rows = append(rows, [2]string{name, "[]"})
				}
				for j := range fv.Len() {
					walk(fmt.Sprintf("%s[%d].", name, j), fv.Index(j))
				}
			case reflect.String:
				rows = append(rows, [2]string{name, fmt.Sprintf("%q", fv.String())})
			default:
				rows = append(rows, [2]string{name, fmt.Sprint(fv.Interface())})
			}
		}
	}
	walk("", reflect.ValueOf(f))
	return rows
}

// factsDoc is `hako facts -json`. format_version changes when a field
// changes meaning or goes away (not when one is added).
type factsDoc struct {
	FormatVersion string         `json:"format_version"`
	Hosts         []hostFactsDoc `json:"hosts"`
}

type hostFactsDoc struct {
	Name    string           `json:"name"`
	User    string           `json:"user"`
	Address string           `json:"address"`
	Port    int              `json:"port"`
	Notes   []string         `json:"notes,omitempty"`
	Error   string           `json:"error,omitempty"`
	Facts   *probe.HostFacts `json:"facts,omitempty"`
}

// FactsJSON writes each host's facts as one JSON document; it returns
// the number of hosts that could not be reached or probed.
func FactsJSON(w io.Writer, hfs []*run.HostFacts) (int, error) {
	doc := factsDoc{FormatVersion: "1", Hosts: []hostFactsDoc{}}
	failed := 0
	for _, hf := range hfs {
		c := hf.Host.Conn
		h := hostFactsDoc{Name: hf.Host.Name, User: c.User, Address: c.Address, Port: c.Port, Notes: hf.Notes}
		if hf.Err != nil {
			failed++
			h.Error = hf.Err.Error()
		} else {
			h.Facts = &hf.Facts
		}
		doc.Hosts = append(doc.Hosts, h)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return failed, enc.Encode(doc)
}
