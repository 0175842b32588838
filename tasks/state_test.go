package tasks

import (
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
)

// Gather asks how the host sees the connection with the tasks' probes,
// and a State over answers carries it as its Endpoint.
func TestGatherAsksForTheEndpoint(t *testing.T) {
	t.Setenv("HAKO_SSH_CONNECTION", "192.168.0.10 51234 192.168.0.64 50022")
	st, err := Gather(t.Context(), local(), []Probe{probe.Stat{Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := st.Endpoint; e != (hosts.Endpoint{ClientAddr: "192.168.0.10", ServerAddr: "192.168.0.64", ServerPort: 50022}) {
		t.Errorf("endpoint %+v", e)
	}
	if !st.Stat("/").Exists {
		t.Error("/ is missing")
	}
}
