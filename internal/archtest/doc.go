// Package archtest holds the test that keeps qkv's package dependencies as
// DESIGN.md draws them. It has no code of its own.
package archtest
