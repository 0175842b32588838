package hosts

import "io"

func closeVia(c io.Closer) {
	if c != nil {
		_ = c.Close()
	}
}
