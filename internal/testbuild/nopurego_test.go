//go:build !purego

package testbuild

const puregoTag = false
