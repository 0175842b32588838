package guard

// Resume returns an Armed that knows only its ID, which is all Disarm and
// RollbackNow use: with it the tests disarm or roll back over another
// connection, and try IDs that Arm never makes.
func Resume(id string) *Armed { return &Armed{id: id} }

// UFWFiles are the files of the firewall, as the ufw task lists them.
var UFWFiles = []string{
	"/etc/default/ufw", "/etc/ufw/ufw.conf",
	"/etc/ufw/user.rules", "/etc/ufw/user6.rules",
	"/etc/ufw/before.rules", "/etc/ufw/before6.rules",
	"/etc/ufw/after.rules", "/etc/ufw/after6.rules",
}
