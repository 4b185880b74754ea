//go:build race

package train

// raceAllocFactor is how much more a race build may allocate than
// GraphBytes estimates for a normal build: under the race detector
// sync.Pool drops a random quarter of what is put back (so that races
// through reused objects show), and Gorgonia and tensor draw their
// scratch from pools, so a graph allocates up to a quarter more (measured:
// 26% for the LSTM's evaluation graph, at random from run to run).
const raceAllocFactor = 1.5
