//go:build race

package plan

// raceOn: the race detector slows the HCL parser about fifteen times, so
// the case that measures parsing time at the size limit is skipped.
const raceOn = true
