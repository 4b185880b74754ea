//go:build !race

package train

// raceAllocFactor is 1 in a normal build: GraphBytes must cover what a
// graph allocates, with no allowance (see race_test.go).
const raceAllocFactor = 1.0
