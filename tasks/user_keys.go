package tasks

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"golang.org/x/crypto/ssh"
)

// A user's authorized_keys: decoding the plan's keys, showing them without
// their secrets, and comparing them with the host's file line by line.

// decodeKeys reads authorized_keys: each element is one or more lines of
// OpenSSH public keys (a .pub file or an authorized_keys file); blank and
// comment lines are skipped. A line that does not parse is reported by
// position only: it may be a private key pasted by mistake.
func decodeKeys(a *attrs.Attrs, sensitive bool) []authKey {
	var keys []authKey
	seen := map[string]bool{}
	for i, elem := range a.Strings("authorized_keys") {
		n := 0
		for _, line := range strings.Split(elem, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			n++
			pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				hint := ""
				if strings.Contains(elem, "PRIVATE KEY") {
					hint = " It looks like a private key: give the public one (the .pub file)."
				}
				a.AttrErrorf("authorized_keys", "Invalid public key",
					"authorized_keys element %d, key line %d, is not an OpenSSH public key line (%v).%s", i+1, n, err, hint)
				continue
			}
			if id := string(pub.Marshal()); !seen[id] {
				seen[id] = true
				keys = append(keys, authKey{line: line, pub: pub, show: showKey(pub, comment, sensitive)})
			}
		}
		if n == 0 {
			a.AttrErrorf("authorized_keys", "Invalid public key", "authorized_keys element %d holds no key.", i+1)
		}
	}
	return keys
}

// showKey names a key in plan output without its whole base64 text.
func showKey(pub ssh.PublicKey, comment string, sensitive bool) string {
	if sensitive {
		return "(sensitive key)"
	}
	s := pub.Type() + " " + ssh.FingerprintSHA256(pub)
	if comment != "" {
		s += " " + comment
	}
	return s
}

// describeOpts shows a key's options next to its fingerprint; not when the
// plan's keys are sensitive (an option such as command="..." may hold the
// secret).
func describeOpts(pub ssh.PublicKey, opts []string, sensitive bool) string {
	if sensitive {
		return "(sensitive key)"
	}
	o := strings.Trim(strings.Join(opts, ","), ",")
	if o == "" {
		o = "(none)"
	}
	return pub.Type() + " " + ssh.FingerprintSHA256(pub) + " " + o
}

// keyID identifies a key by its type and blob: options and comments do not
// make another key.
func keyID(pub ssh.PublicKey) string { return string(pub.Marshal()) }

// checkKeys compares ~/.ssh/authorized_keys line by line and works out its
// new content: non-exclusively, the plan's missing keys are appended to the
// file as it is; exclusively, lines with other keys (and lines that are not
// keys, comments aside) go too. It also wants what sshd's StrictModes
// wants: ~/.ssh a directory and both owned by the user and writable by
// nobody else.
func (u *User) checkKeys(f *userFacts, w *UserPlan) ([]AttrChange, error) {
	if len(u.keys) == 0 && !u.exclusiveKeys {
		return nil, nil
	}
	if !path.IsAbs(f.home) {
		return nil, fmt.Errorf("user %s has no absolute home directory (%q), so hako cannot manage its authorized_keys", u.name, f.home)
	}
	sshDir := path.Join(f.home, ".ssh")
	file := path.Join(sshDir, "authorized_keys")
	if f.sshDir.exists && f.sshDir.typ != "directory" {
		return nil, fmt.Errorf("%s exists and is a %s, not a directory", sshDir, f.sshDir.typ)
	}
	if f.keyFile.exists && f.keyFile.typ != "regular file" {
		return nil, fmt.Errorf("%s exists and is a %s, not a regular file; hako will not write through it", file, f.keyFile.typ)
	}
	if f.keyFile.exists && f.keysBad {
		return nil, fmt.Errorf("%s is not readable by %s, so sshd cannot use it either (it reads the file as the user); hako reads it only as the user too, so it cannot keep its other keys: give it to %s (chown), or remove it", file, u.name, u.name)
	}
	var attrs []AttrChange
	want := map[string]bool{}
	wantOpts := map[string]string{} // the plan's options (from=, restrict, ...) by key
	planned := map[string]string{}
	for _, k := range u.keys {
		want[keyID(k.pub)] = true
		_, _, opts, _, _ := ssh.ParseAuthorizedKey([]byte(k.line))
		wantOpts[keyID(k.pub)] = strings.Join(opts, ",")
		planned[keyID(k.pub)] = k.line
	}
	have := map[string]bool{}
	var kept []string
	dropped := false
	if f.keyFile.exists {
		lines := strings.SplitAfter(string(f.keys), "\n")
		for _, line := range lines {
			if line == "" {
				continue
			}
			text := strings.TrimSpace(line)
			if text == "" || strings.HasPrefix(text, "#") {
				kept = append(kept, line)
				continue
			}
			pub, comment, opts, _, err := ssh.ParseAuthorizedKey([]byte(text))
			switch {
			case err == nil && want[keyID(pub)] && strings.Join(opts, ",") != wantOpts[keyID(pub)]:
				// The same key with other options (from=, restrict, ...):
				// the plan's line replaces it, options are security.
				have[keyID(pub)] = true
				dropped = true
				kept = append(kept, planned[keyID(pub)]+"\n")
				attrs = append(attrs, AttrChange{"authorized key options", describeOpts(pub, opts, u.keysSensitive), describeOpts(pub, strings.Split(wantOpts[keyID(pub)], ","), u.keysSensitive)})
			case err == nil && (want[keyID(pub)] || !u.exclusiveKeys):
				have[keyID(pub)] = true
				kept = append(kept, line)
			case !u.exclusiveKeys:
				kept = append(kept, line) // not a key hako knows; not its business
			case err == nil:
				dropped = true
				attrs = append(attrs, AttrChange{"authorized key", showKey(pub, comment, false), ""})
			default:
				dropped = true
				attrs = append(attrs, AttrChange{"authorized key", "unrecognised line " + strconv.Quote(shorten(text, 24)), ""})
			}
		}
	}
	content := strings.Join(kept, "")
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	added := false
	for _, k := range u.keys {
		if !have[keyID(k.pub)] {
			added = true
			attrs = append(attrs, AttrChange{"authorized key", "", k.show})
			content += k.line + "\n"
		}
	}
	if f.sshDir.exists && !strictOK(f.sshDir, u.name) {
		w.SSHDir = true
		attrs = append(attrs, AttrChange{"~/.ssh", f.sshDir.String(), "0700 " + u.name})
	}
	badFile := f.keyFile.exists && !strictOK(f.keyFile, u.name)
	if badFile {
		attrs = append(attrs, AttrChange{"~/.ssh/authorized_keys", f.keyFile.String(), "0600 " + u.name})
	}
	if added || dropped || badFile {
		w.WriteKeys, w.Keys = true, []byte(content)
		w.SSHDir = w.SSHDir || !f.sshDir.exists
	}
	return attrs, nil
}

// strictOK: owned by the user and writable by no one else, as sshd's
// StrictModes requires.
func strictOK(m fileMeta, owner string) bool { return m.owner == owner && m.mode&0o022 == 0 }

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
