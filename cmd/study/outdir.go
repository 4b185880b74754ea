package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// reportMarker is results.json's "study" value: what marks a directory as
// a study report that a new study may write over.
const reportMarker = "qkv-study"

// checkOut reports a report directory the study must not write into: a
// file, or a directory that holds anything but a previous study report.
// A missing directory is fine (the study creates it); so is an empty one.
func checkOut(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("-out %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("-out %s: not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("-out %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	var head struct {
		Study string `json:"study"`
	}
	if err != nil || json.Unmarshal(b, &head) != nil || head.Study != reportMarker {
		return fmt.Errorf("-out %s: the directory is not empty and holds no study report; choose another directory", dir)
	}
	return nil
}
