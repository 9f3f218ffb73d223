// Command nodeipc speaks Node.js's child_process IPC channel from the
// command line: it forks Node scripts with a channel (run), answers as a
// child of Node (echo), and turns any line-oriented program into a Node IPC
// child (bridge). Messages cross the command line as one JSON text per line.
//
// Run "nodeipc --help" for the commands, their flags and the exit statuses.
package main

import "os"

func main() {
	os.Exit(runApp(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
