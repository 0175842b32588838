package tasks

import (
	"context"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
)

// Probe is one fact Check needs (a probe request, such as probe.Stat).
// The probes of all tasks of a host are answered by one script in one
// round trip (package probe).
type Probe = probe.Request

// The answers of the probes the kinds ask, by their names in this package.
type (
	FileInfo  = probe.FileInfo
	Content   = probe.Content
	Output    = probe.CmdOutput
	Leftovers = probe.LeftoverFiles
)

// MaxRead is the largest file whose content the probe brings back; larger
// files are compared by hash.
const MaxRead = probe.MaxRead

// State holds the answers to a host's probes (Stat, Content, Exit,
// Output, Leftovers and probe.Answer for the others).
type State struct {
	*probe.Answers
	// Endpoint is the connection the run uses, as the host sees it (zero
	// for a local host). The run passes it on to the tasks in Env.
	Endpoint hosts.Endpoint
}

// NewState is a State over answers; its Endpoint is the answer to
// probe.Endpoint when that was asked.
func NewState(a *probe.Answers) *State {
	st := &State{Answers: a}
	if a.Has(probe.Endpoint{}) {
		st.Endpoint = probe.Answer[hosts.Endpoint](a, probe.Endpoint{})
	}
	return st
}

// Gather answers all probes with one remote command, and asks how the host
// sees the connection.
func Gather(ctx context.Context, h hosts.Host, probes []Probe) (*State, error) {
	a, err := probe.Gather(ctx, h, append(probes[:len(probes):len(probes)], probe.Endpoint{}))
	if err != nil {
		return nil, err
	}
	return StateOf(h, a), nil
}

// StateOf is the State of answers a that h gave, which include the answer
// to probe.Endpoint: a host that cannot say how it sees the connection
// (a local one) has the Endpoint its connection knows.
func StateOf(h hosts.Host, a *probe.Answers) *State {
	st := NewState(a)
	if eh, ok := h.(hosts.EndpointHost); ok && st.Endpoint.ServerPort == 0 {
		st.Endpoint = eh.Endpoint()
	}
	return st
}
