package sdcard

import (
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// fixedRand is a deterministic random source for tests.
func fixedRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

// hashRE matches the hash of a random password, with its random salt.
var hashRE = regexp.MustCompile(`\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}`)

func TestCrypt512(t *testing.T) {
	cases := []struct{ password, salt, want string }{
		// The specification's vector (https://www.akkadia.org/drepper/SHA-crypt.txt).
		{"Hello world!", "saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		// From `openssl passwd -6 -salt SALT PASSWORD` (OpenSSL 3.0): a salt cut
		// to 16 characters, a password longer than two digests, a short salt
		// and multi-byte characters.
		{"we have a short salt string but not a short password", "saltstringsaltstring",
			"$6$saltstringsaltst$rT5yuSbh1tFGz149zirUESsQhI6cutUa8vUFghpfO/Pd6po38zbNs1HVCEdJ4oxCeWcB1H11eZpdUE4AVkgva/"},
		{strings.Repeat("x", 130), "abcdefghijklmnop",
			"$6$abcdefghijklmnop$0RaDDxnDIdW3wUVFxZEKWndsiMV.U4ZJ0Bm1qKE0tJMr9x4SJYz.3PVJGJ52jrjaGNKV1.cVYMNOo14Wfasjt/"},
		{"password with spaces and ünïcödé", "Z./9",
			"$6$Z./9$y.vcibEOq3ZvIPUwI2dITNxdlFZkPphQEGEW8ujwmaDRkp6J6PwuvjGweN2Cke8hX53JiisHlLEi4NSK1w2/Y."},
	}
	for _, c := range cases {
		if got := crypt512([]byte(c.password), []byte(c.salt)); got != c.want {
			t.Errorf("crypt512(%q, %q)\n got %s\nwant %s", c.password, c.salt, got, c.want)
		}
	}
}

// The same as the system's openssl, when there is one, on random input.
func TestCrypt512AgainstOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	rnd := fixedRand(9)
	for n := range 8 {
		password, _ := randomChars(rnd, 1+n*23)
		salt, _ := randomChars(rnd, 1+n*2)
		out, err := exec.Command(openssl, "passwd", "-6", "-salt", string(salt), string(password)).Output()
		if err != nil {
			t.Skipf("openssl passwd -6: %v", err)
		}
		if got, want := crypt512(password, salt), strings.TrimSpace(string(out)); got != want {
			t.Errorf("password %q salt %q:\n got %s\nwant %s", password, salt, got, want)
		}
	}
}

func TestRandomPasswordHash(t *testing.T) {
	a, err := randomPasswordHash(fixedRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if !hashRE.MatchString(a) || !cryptHashRE.MatchString(a) || len(a) != 3+16+1+86 {
		t.Errorf("hash %q", a)
	}
	// It is the hash of the 32 characters read first, with the 16 read next as salt.
	rnd := fixedRand(1)
	password, _ := randomChars(rnd, 32)
	salt, _ := randomChars(rnd, 16)
	if want := crypt512(password, salt); a != want {
		t.Errorf("hash %s, want %s", a, want)
	}
	b, _ := randomPasswordHash(fixedRand(2))
	if a == b {
		t.Error("two sources, one hash")
	}
	if _, err := randomPasswordHash(strings.NewReader("short")); err == nil {
		t.Error("no error from a short random source")
	}
}
