package main

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
)

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// hako facts: a section per host of the plan (here one that refuses the
// connection: its error, exit 1), -json one document with the same hosts,
// -host keeps the named ones and refuses a name the plan lacks.
func TestFactsCommandShape(t *testing.T) {
	port := closedPort(t)
	dir := planDir(t, hostBlock(port)+strings.Replace(hostBlock(port), `"pi"`, `"web"`, 1))
	code, stdout, stderr := hako(t, "facts", dir)
	if code != 1 || stderr != "" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	for _, h := range []string{"pi", "web"} {
		if !strings.Contains(stdout, "host "+h+" (pi@127.0.0.1:"+strconv.Itoa(port)+")\n  error: ") {
			t.Errorf("no section for %s:\n%s", h, stdout)
		}
	}

	code, stdout, _ = hako(t, "facts", "-json", "-host", "web", dir)
	var doc struct {
		FormatVersion string `json:"format_version"`
		Hosts         []struct {
			Name, Error string
			Facts       map[string]any
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("-json: %v\n%s", err, stdout)
	}
	if code != 1 || doc.FormatVersion != "1" || len(doc.Hosts) != 1 || doc.Hosts[0].Name != "web" || doc.Hosts[0].Error == "" || doc.Hosts[0].Facts != nil {
		t.Errorf("exit %d, %+v", code, doc)
	}

	code, stdout, stderr = hako(t, "facts", "-host", "nope", dir)
	if code != 1 || stdout != "" || !strings.Contains(stderr, `Error: -host: the plan has no host "nope" (its hosts: pi, web)`) {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}
