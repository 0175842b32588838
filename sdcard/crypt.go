package sdcard

import (
	"crypto/sha512"
	"fmt"
	"io"
	"regexp"
)

// SHA-512-crypt ("$6$", Ulrich Drepper's "Unix crypt using SHA-256 and
// SHA-512", https://www.akkadia.org/drepper/SHA-crypt.txt), the format
// `openssl passwd -6` prints and the one Raspberry Pi's documentation asks
// for in userconf.txt; userconf-pi hands it to `chpasswd -e`.
//
// It is implemented here rather than taken from a module: it is one page
// of code, golang.org/x/crypto has no crypt(3), and the tests check it
// against the specification's vectors and against `openssl passwd -6`.

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sha512CryptRounds is the specification's default; the "rounds=" field is
// then left out of the hash, as openssl does.
const sha512CryptRounds = 5000

// crypt512 returns "$6$salt$hash" for the default number of rounds. salt
// is at most 16 characters of cryptAlphabet (longer salts are cut, as the
// specification says).
func crypt512(password, salt []byte) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	p := password
	// Digest B: password, salt, password.
	b := sha512.New()
	b.Write(p)
	b.Write(salt)
	b.Write(p)
	sumB := b.Sum(nil)

	// Digest A: password, salt, then B for each byte of the password, then
	// for each bit of the password's length B (1) or the password (0).
	a := sha512.New()
	a.Write(p)
	a.Write(salt)
	n := len(p)
	for ; n > 64; n -= 64 {
		a.Write(sumB)
	}
	a.Write(sumB[:n])
	for n = len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(sumB)
		} else {
			a.Write(p)
		}
	}
	sumA := a.Sum(nil)

	// Byte sequence P: DP (the password len(p) times) cut to len(p).
	dp := sha512.New()
	for range len(p) {
		dp.Write(p)
	}
	seqP := repeatTo(dp.Sum(nil), len(p))

	// Byte sequence S: DS (the salt 16+A[0] times) cut to len(salt).
	ds := sha512.New()
	for range 16 + int(sumA[0]) {
		ds.Write(salt)
	}
	seqS := repeatTo(ds.Sum(nil), len(salt))

	c := sumA
	for i := range sha512CryptRounds {
		h := sha512.New()
		if i&1 != 0 {
			h.Write(seqP)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(seqS)
		}
		if i%7 != 0 {
			h.Write(seqP)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(seqP)
		}
		c = h.Sum(nil)
	}

	out := make([]byte, 0, 3+len(salt)+1+86)
	out = append(out, "$6$"...)
	out = append(out, salt...)
	out = append(out, '$')
	// The specification's byte order: 21 groups of bytes i, i+21 and i+42,
	// rotated by i%3 ((0,21,42), (22,43,1), (44,2,23), (3,24,45), ...),
	// then the last byte.
	for i := range 21 {
		g := [3]byte{c[i], c[i+21], c[i+42]}
		r := i % 3
		out = b64From24(out, g[r], g[(r+1)%3], g[(r+2)%3], 4)
	}
	out = b64From24(out, 0, 0, c[63], 2)
	return string(out)
}

// b64From24 appends n characters for the 24-bit group b2 b1 b0, least
// significant six bits first.
func b64From24(out []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		out = append(out, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return out
}

// repeatTo repeats sum until it is n bytes long.
func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}

// randomChars returns n characters of cryptAlphabet read from rnd, without
// modulo bias (the alphabet has 64 characters: six bits a byte).
func randomChars(rnd io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return nil, fmt.Errorf("reading random bytes: %w", err)
	}
	for i, c := range buf {
		buf[i] = cryptAlphabet[c&0x3f]
	}
	return buf, nil
}

// randomPasswordHash makes a password nobody will ever type (32 characters,
// 192 bits) and returns only its SHA-512-crypt hash: the password itself
// is dropped here, never stored or printed.
func randomPasswordHash(rnd io.Reader) (string, error) {
	password, err := randomChars(rnd, 32)
	if err != nil {
		return "", err
	}
	salt, err := randomChars(rnd, 16)
	if err != nil {
		return "", err
	}
	return crypt512(password, salt), nil
}

// cryptHashRE matches a crypt(3) hash as userconf-pi passes it to
// `chpasswd -e`: "$id$...", no colon, no white space.
var cryptHashRE = regexp.MustCompile(`^\$[0-9a-z]+\$[^:\s]+$`)
