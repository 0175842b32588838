package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Both passwords from standard input (no terminal): one line each, the
// first read must not take the second's line with it.
func TestReadBothPasswordsFromStdin(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "in"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("boot-pw\r\nsudo-pw\nrest\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })
	o := options{askPassword: true, askBecome: true}
	var stderr strings.Builder
	if !o.readPassword(&stderr) || o.password != "boot-pw" || o.becomePassword != "sudo-pw" {
		t.Errorf("got %q %q (%s)", o.password, o.becomePassword, stderr.String())
	}
	if rest, _ := readLine(f); rest != "rest" {
		t.Errorf("after the two lines: %q", rest)
	}
}

// An empty become password is refused, naming which password.
func TestEmptyBecomePassword(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "in"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n")
	f.Seek(0, 0)
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })
	o := options{askBecome: true}
	var stderr strings.Builder
	if o.readPassword(&stderr) || !strings.Contains(stderr.String(), "the become password is empty") {
		t.Errorf("got %q", stderr.String())
	}
}
