package sshtest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// A client that checks host keys against the fleet's known_hosts gets in
// with the fleet's key, runs commands (exit status, the server's PATH) and
// writes files over SFTP; a server it has no entry for is refused.
func TestFleet(t *testing.T) {
	dir := t.TempDir()
	f := StartFleet(t, dir, 2, WithEnv("PATH="+PathWithout(t, "uname")))
	pem, err := os.ReadFile(f.Key.File)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	check, err := knownhosts.New(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: "anyone", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: check}
	for _, s := range f.Servers {
		c, err := ssh.Dial("tcp", s.Addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sess.Stdout = &out
		sess.Stdin = strings.NewReader("from stdin\n")
		err = sess.Run("cat; command -v uname || echo no uname; exit 3")
		var ee *ssh.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() != 3 || out.String() != "from stdin\nno uname\n" {
			t.Errorf("run: %v, %q", err, out.String())
		}
		sc, err := sftp.NewClient(c)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "written-"+s.Addr)
		w, err := sc.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
		w.Close()
		sc.Close()
		if b, err := os.ReadFile(file); err != nil || string(b) != "x" {
			t.Errorf("sftp write: %q %v", b, err)
		}
	}
	other := Start(t, f.Key.Public)
	if c, err := ssh.Dial("tcp", other.Addr, cfg); err == nil {
		c.Close()
		t.Error("a server missing from known_hosts was accepted")
	}
}
