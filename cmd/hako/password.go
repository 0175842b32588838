package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// readPassword asks once for each password the flags ask for: the
// bootstrap password (-ask-bootstrap-password), then the become password
// (-ask-become-password). On a terminal without echo; else one line each
// from standard input (for scripts, like sudo -S). It reports false after
// saying why. Neither is ever stored or printed.
func (o *options) readPassword(stderr io.Writer) bool {
	for _, p := range []struct {
		ask   bool
		what  string
		label string
		to    *string
	}{
		{o.askPassword, "the bootstrap password", "Bootstrap password", &o.password},
		{o.askBecome, "the become password", "Become (sudo) password", &o.becomePassword},
	} {
		if !p.ask {
			continue
		}
		pw, err := promptPassword(os.Stdin, stderr, p.label)
		if err != nil {
			fmt.Fprintf(stderr, "hako: reading %s: %v\n", p.what, err)
			return false
		}
		if pw == "" {
			fmt.Fprintf(stderr, "hako: %s is empty\n", p.what)
			return false
		}
		*p.to = pw
	}
	return true
}

func promptPassword(in *os.File, stderr io.Writer, label string) (string, error) {
	if term.IsTerminal(int(in.Fd())) {
		fmt.Fprintf(stderr, "%s (not echoed): ", label)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	return readLine(in)
}

// readLine reads one line, a byte at a time: a buffered reader would take
// the next password's line with it.
func readLine(in io.Reader) (string, error) {
	var b strings.Builder
	var c [1]byte
	for {
		n, err := in.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				break
			}
			b.WriteByte(c[0])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimRight(b.String(), "\r"), nil
}

// keyPassphrase asks for an encrypted identity file's passphrase on the
// terminal, without echo. With no terminal on standard input it returns
// nil: hosts then leaves such keys out and says to add them to ssh-agent
// (standard input may be a plan or a script, never a passphrase).
func keyPassphrase(in *os.File, stderr io.Writer) func(file string) ([]byte, error) {
	if !term.IsTerminal(int(in.Fd())) {
		return nil
	}
	return func(file string) ([]byte, error) {
		fmt.Fprintf(stderr, "Enter passphrase for key '%s' (not echoed): ", file)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(stderr)
		return b, err
	}
}
