package hosts

import (
	"strings"

	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// hashedKnownHostsLine is the entry for hostport with its name hashed
// ("|1|salt|hash", HMAC-SHA1 keyed with a fresh random salt), as OpenSSH
// writes it with HashKnownHosts yes and as ssh-keygen -H converts a file:
// the hash is of the name as OpenSSH looks it up ("addr" for port 22,
// "[addr]:port" otherwise, lower case), so ssh and ssh-keygen -F find it.
// Someone who reads the file learns which keys it holds, not which hosts
// this machine connects to.
func hashedKnownHostsLine(hostport string, key ssh.PublicKey) string {
	name := xknownhosts.HashHostname(strings.ToLower(knownHostsName(hostport)))
	return name + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}
