package main

import (
	"io"
	"os/exec"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// workerSet is the worker processes of a local pool, as `nodeipc pool` and
// `nodeipc agent` take them from their flags (workerFlags).
type workerSet struct {
	Workers       int
	Concurrency   int
	MaxCalls      int
	MaxLifetime   time.Duration
	Serialization nodeipc.Serialization
	Args          []string // COMMAND [ARGS...]
}

// workerFlags are the flags readWorkerSet reads.
func workerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "workers", Aliases: []string{"n"}, Value: runtime.NumCPU(), Usage: "number of workers"},
		&cli.IntFlag{Name: "concurrency", Value: 1, Usage: "calls per worker at once"},
		&cli.IntFlag{Name: "max-calls", Usage: "recycle a worker after this many calls (0: never)"},
		&cli.DurationFlag{Name: "max-lifetime", Usage: "recycle a worker after this long (0: never)"},
		&cli.StringFlag{Name: "serialization", Value: "json", Usage: "channel serialization: json or advanced"},
	}
}

// readWorkerSet reads workerFlags and the command line after them; the
// error is an unknown serialization.
func readWorkerSet(cCtx *cli.Context) (workerSet, error) {
	ws := workerSet{
		Workers:     cCtx.Int("workers"),
		Concurrency: cCtx.Int("concurrency"),
		MaxCalls:    cCtx.Int("max-calls"),
		MaxLifetime: cCtx.Duration("max-lifetime"),
		Args:        cCtx.Args().Slice(),
	}
	err := ws.Serialization.UnmarshalText([]byte(cCtx.String("serialization")))
	return ws, err
}

// options are the pool.Options of the set, the workers' stderr going to
// out.
func (ws workerSet) options(out io.Writer) pool.Options {
	return pool.Options{
		Size:        ws.Workers,
		Concurrency: ws.Concurrency,
		MaxCalls:    ws.MaxCalls,
		MaxLifetime: ws.MaxLifetime,
		Channel:     &nodeipc.Options{Serialization: ws.Serialization},
		Output:      out,
		Command: func(int) *exec.Cmd {
			return exec.Command(ws.Args[0], ws.Args[1:]...)
		},
	}
}
