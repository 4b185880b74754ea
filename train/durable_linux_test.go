//go:build linux

package train

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWritesStayBeside: writing a run's file or a user's output creates
// nothing in the system's temporary directory. renameio, left to itself,
// wrote its temporary file there (after probing it with a file of its
// own), so a process killed mid-write left it there for good. The test
// watches TMPDIR (on the same file system, where renameio chose it) with
// inotify while both kinds of writes run.
func TestWritesStayBeside(t *testing.T) {
	root := t.TempDir()
	tmp := filepath.Join(root, "tmp")
	work := filepath.Join(root, "work")
	for _, d := range []string{tmp, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TMPDIR", tmp)
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("no inotify: %v", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, tmp, unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	if err := writeDurable(filepath.Join(work, fileConfig), []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "picture.png")
	for range 2 { // new, then replacing a regular file
		if err := WriteOutput(out, []byte("png")); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4096)
	n, err := unix.Read(fd, buf)
	if n > 0 {
		t.Errorf("writes created files in TMPDIR (%d bytes of inotify events); want them beside their targets", n)
	} else if err != unix.EAGAIN {
		t.Fatalf("reading inotify events: %v", err)
	}
	entries, _ := os.ReadDir(work)
	if len(entries) != 2 {
		t.Errorf("%d entries beside the written files, want the 2 files alone", len(entries))
	}
}
