package safefs

import (
	"io/fs"
	"syscall"
)

// StatKey identifies a file's state the way git's index does: if none of
// these changed, neither did the content, so a fingerprint need not read
// the file again. The change time matters most: the kernel sets it on
// every write, rename or chmod, and no system call sets it back, whereas
// anyone can put an old modification time on a file (touch -d).
type StatKey struct {
	Size   int64
	Mode   fs.FileMode
	MTime  int64 // nanoseconds
	CTime  int64 // nanoseconds; 0 where the system does not say
	Inode  uint64
	Device uint64
}

// KeyOf describes fi, which came from an lstat or an fstat.
func KeyOf(fi fs.FileInfo) StatKey {
	k := StatKey{Size: fi.Size(), Mode: fi.Mode(), MTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.Inode, k.Device, k.CTime = uint64(st.Ino), uint64(st.Dev), changeTime(st)
	}
	return k
}
