// Command sqlite links the pure-Go SQLite driver Oxygen uses and does
// nothing: scripts/bench-processes.sh times it as the floor of any command
// that can open an Oxygen store, the runtime's start plus the driver's
// package initialisation and page faults, before a database is opened.
package main

import _ "modernc.org/sqlite"

func main() {}
