package cli

import "time"

// Left prints a remaining time compactly, as both tools show it: 29m59s,
// 3h12m, 45s, and 0s once it has run out.
func Left(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d >= time.Hour {
		return d.Truncate(time.Minute).String()
	}
	return d.Truncate(time.Second).String()
}
