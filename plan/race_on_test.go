//go:build race

package plan

// raceOn: the race detector slows the HCL parser about fifteen times, so
// the slow cases (a plan at the size limit) are skipped there.
const raceOn = true
