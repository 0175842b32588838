package sdcard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"golang.org/x/crypto/ssh"
)

// FirstUser is everything hako sdcard takes from a plan: who the card's
// first boot lets in, and with which key. FromPlan fills it from a host's
// bootstrap block if it has one, else from the host itself.
type FirstUser struct {
	Name string // login name: created (or renamed to) on first boot
	// IdentityFile is the private key as the plan names it ("~/" allowed).
	// Only IdentityFile+".pub" is ever opened.
	IdentityFile string
	Source       string // where the two came from, for messages: `host "pi" (bootstrap block)`
}

// PublicKey is the key installed for the first user.
type PublicKey struct {
	Path          string // the .pub file it was read from
	AuthorizedKey string // one authorized_keys line: type, base64, comment
	Type          string // "ssh-ed25519", ...
	Fingerprint   string // "SHA256:..."
}

// maxPubSize bounds what is read from a .pub file: a 16384-bit RSA key is
// about 2.8 KB.
const maxPubSize = 64 << 10

// LoadPublicKey reads identityFile+".pub" (identityFile itself when it
// already ends in .pub): never the private key. Errors never quote the
// file's content.
func LoadPublicKey(identityFile string) (PublicKey, error) {
	if identityFile == "" {
		return PublicKey{}, errors.New("no identity file: hako sdcard installs <identity_file>.pub")
	}
	path := hosts.ExpandHome(identityFile)
	if !strings.HasSuffix(path, ".pub") {
		path += ".pub"
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return PublicKey{}, fmt.Errorf("the public key %s does not exist: hako sdcard installs the public half of identity_file %s "+
			"(create it with `ssh-keygen -y -f %s > %s`, or generate a key pair with ssh-keygen)", path, identityFile, hosts.ExpandHome(identityFile), path)
	}
	if err != nil {
		return PublicKey{}, fmt.Errorf("reading the public key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPubSize+1))
	if err != nil {
		return PublicKey{}, fmt.Errorf("reading the public key %s: %w", path, err)
	}
	if len(data) > maxPubSize {
		return PublicKey{}, fmt.Errorf("%s is larger than %d bytes: not an OpenSSH public key", path, maxPubSize)
	}
	if bytes.Contains(data, []byte("PRIVATE KEY")) {
		return PublicKey{}, fmt.Errorf("%s holds a private key, not a public one: hako sdcard needs the .pub file", path)
	}
	pub, comment, options, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%s is not an OpenSSH public key (one line such as \"ssh-ed25519 AAAA... you@laptop\")", path)
	}
	if len(options) > 0 {
		return PublicKey{}, fmt.Errorf("%s starts with authorized_keys options: hako sdcard wants a plain .pub file", path)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if c := cleanComment(comment); c != "" {
		line += " " + c
	}
	return PublicKey{Path: path, AuthorizedKey: line, Type: pub.Type(), Fingerprint: ssh.FingerprintSHA256(pub)}, nil
}

// commentRE is what is kept of a key's comment: it ends up in a shell
// here-document and in YAML, so only plain printable characters.
var commentRE = regexp.MustCompile(`[^A-Za-z0-9@._+=,:/ -]`)

func cleanComment(c string) string {
	return strings.TrimSpace(commentRE.ReplaceAllString(c, ""))
}

// userRE is userconf-pi's rule for the first user's name (validate_user in
// /usr/lib/userconf-pi/userconf-service): a name it rejects is not created
// and the card stays unreachable, so it is checked here first.
var userRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

func checkUserName(name string) error {
	if name == "" {
		return errors.New("no user name")
	}
	if len(name) > 32 || !userRE.MatchString(name) || name == "root" {
		return fmt.Errorf("the user name %q cannot be the first user of Raspberry Pi OS: it must be 1 to 32 lower-case letters, "+
			"digits and hyphens, start with a letter and not be root", name)
	}
	return nil
}
