package guard

// Resume returns an Armed that knows only its ID, which is all Disarm and
// RollbackNow use: with it the tests disarm or roll back over another
// connection, and try IDs that Arm never makes.
func Resume(id string) *Armed { return &Armed{id: id} }
