//go:build linux

// Command gopeer is the Go half of the nodeipc benchmark suite
// (interop/bench). It is started by the driver, by a Node parent
// (interop/testdata/bench/parent.js) or by itself:
//
//	gopeer child [-raw|-any] [-cpuprofile FILE]  a Go child: FromEnv, then answer the parent
//	gopeer parent [-cpuprofile FILE] PLAN        a Go parent: start PLAN's child, run PLAN's tests
//	gopeer rawparent PLAN                        the ceiling: the same tests on a bare socketpair
//	gopeer rawchild                              rawparent's child (the socket is fd 3)
//
// PLAN is a JSON shape.Plan; every parent prints one JSON shape.Result per
// line on stdout. The child decodes every message into a typed struct (the
// realistic case); with -raw it only frames messages (it drops those sent
// to it and echoes the others as they arrived); with -any it decodes every
// message into an any (the untyped echo: jsvalue's value model, decoded with
// Message.Value, encoded again, then released).
// -sendqueue sets nodeipc.Options.SendQueueSize, for experiments; the suite
// uses the library's defaults.
//
// A child exits with status 3 when the library does not support the
// serialization its parent asked for (errors.ErrUnsupported), so the
// driver can skip the configuration with a note.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
)

// exitUnsupported is the exit status for errors.ErrUnsupported.
const exitUnsupported = 3

// sendQueue is the -sendqueue flag: Options.SendQueueSize for the channel.
var sendQueue int

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process to `file`")
	raw := fs.Bool("raw", false, "child: frame messages but do not decode them")
	untyped := fs.Bool("any", false, "child: decode messages into an any and echo that")
	fs.IntVar(&sendQueue, "sendqueue", 0, "nodeipc.Options.SendQueueSize in `bytes` (0: the library's default), for experiments")
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	if *cpuprofile != "" {
		stop, err := startProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gopeer:", err)
			os.Exit(1)
		}
		defer stop()
	}
	var err error
	switch os.Args[1] {
	case "child":
		mode := modeTyped
		switch {
		case *raw:
			mode = modeRaw
		case *untyped:
			mode = modeAny
		}
		err = runChild(mode)
	case "parent":
		err = withPlan(fs.Args(), runParent)
	case "rawparent":
		err = withPlan(fs.Args(), runRawParent)
	case "rawchild":
		err = runRawChild()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: %v\n", os.Args[1], err)
		if errors.Is(err, errors.ErrUnsupported) {
			exit(exitUnsupported)
		}
		exit(1)
	}
}

// stopProfile is run before exiting, so that profiles are complete even on
// an error exit.
var stopProfile = func() {}

// exit ends the process after stopping the profile.
func exit(code int) {
	stopProfile()
	os.Exit(code)
}

// startProfile starts a CPU profile into path and returns what stops it.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	stop := func() {
		pprof.StopCPUProfile()
		f.Close()
	}
	stopProfile = stop
	return stop, nil
}

// usage prints how to call gopeer and exits.
func usage() {
	fmt.Fprintln(os.Stderr, "usage: gopeer child [-raw|-any] [-cpuprofile FILE] | parent [-cpuprofile FILE] PLAN | rawparent PLAN | rawchild")
	os.Exit(2)
}
