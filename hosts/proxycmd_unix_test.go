//go:build unix

package hosts

import (
	"strings"
	"testing"
	"time"
)

// Whichever of the first write and the first read meets a proxy that has
// already exited, the error says how it ended and what it printed.
func TestProxyCommandEndedIsExplainedOnWriteAndRead(t *testing.T) {
	for _, op := range []string{"write", "read"} {
		t.Run(op, func(t *testing.T) {
			conn, p, err := proxyCommandConn("sh -c 'echo no way >&2; exit 3'")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the proxy did not exit")
			}
			if op == "write" {
				// One write may still land in the socket buffer; the peer is
				// gone, so a later one fails with a broken pipe.
				for i := 0; i < 100 && err == nil; i++ {
					_, err = conn.Write([]byte("SSH-2.0-hako\r\n"))
				}
			} else {
				_, err = conn.Read(make([]byte, 16))
			}
			want := "the ProxyCommand ended (exit status 3), it said: no way"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: error %v lacks %q", op, err, want)
			}
		})
	}
}
