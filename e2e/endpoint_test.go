package e2e

import (
	"context"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/testhost"
	"github.com/hako-dev/hako/tasks"
)

// Lockout checks use the connection as the host sees it: SSH_CONNECTION,
// passed through sudo. Only that source knows the server's address.
func TestEndpointSeenByTheHost(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{SSHPort: 2222})
	conn, err := hosts.Dial(context.Background(), hosts.Config{Name: "pi", Address: h.Addr, Port: h.Port,
		User: h.User, IdentityFiles: []string{h.KeyFile}, KnownHostsFile: h.KnownHostsFile(t), Become: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := tasks.Gather(context.Background(), conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := hosts.Endpoint{ClientAddr: "10.213.0.1", ServerAddr: h.Addr, ServerPort: 2222}
	if st.Endpoint != want {
		t.Errorf("endpoint %+v, want %+v", st.Endpoint, want)
	}
}
