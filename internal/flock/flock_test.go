//go:build unix

package flock

import (
	"errors"
	"os"
	"testing"
)

// TestTryLock: a second open file description of a locked directory is
// refused at once with ErrWouldBlock; once the first is closed, it locks.
func TestTryLock(t *testing.T) {
	dir := t.TempDir()
	a, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := TryLock(a); err != nil {
		t.Fatalf("first lock: %v", err)
	}
	b, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := TryLock(b); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("second lock while the first is held = %v, want ErrWouldBlock", err)
	}
	a.Close()
	if err := TryLock(b); err != nil {
		t.Fatalf("second lock after the first is released: %v", err)
	}
}
