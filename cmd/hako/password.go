package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// readPassword asks once for the bootstrap password when -ask-bootstrap-password
// is set: without echo on a terminal, else one line from standard input
// (for scripts, like sudo -S). It reports false after saying why.
func (o *options) readPassword(stderr io.Writer) bool {
	if !o.askPassword {
		return true
	}
	pw, err := promptPassword(os.Stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "hako: reading the bootstrap password:", err)
		return false
	}
	if pw == "" {
		fmt.Fprintln(stderr, "hako: the bootstrap password is empty")
		return false
	}
	o.password = pw
	return true
}

func promptPassword(in *os.File, stderr io.Writer) (string, error) {
	if term.IsTerminal(int(in.Fd())) {
		fmt.Fprint(stderr, "Bootstrap password (not echoed): ")
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
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
