// Command empty does nothing: scripts/bench-processes.sh times it as the
// floor of any Go command on the machine at hand, what the Go runtime's
// start and exit cost before a line of Oxygen runs.
package main

func main() {}
