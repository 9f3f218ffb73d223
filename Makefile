# Setup and checks for nodeipc. Needs Go and Node.js (npm); everything else
# (the pinned Node 22 and 26 binaries for the interop matrix, Go modules) is
# fetched by these targets.

.PHONY: demo test bench

# demo runs a real exchange: a Go parent forks a Node script and talks to it.
demo:
	go run ./cmd/nodeipc run js/examples/hello.js < js/examples/hello.jsonl

# test runs every test: vet, unit tests, examples, fuzz corpora and the
# interop suite against real Node 20/22/26, all with the race detector, then
# every micro-benchmark once so none can rot. interop/wine/setup.sh brings
# Wine and Windows node.exe for the Windows suite (interop/wine), and vet
# checks the Windows, macOS and FreeBSD builds too.
test:
	npm ci --prefix js --no-audit --no-fund --loglevel=error
	bash interop/wine/setup.sh
	go vet ./...
	GOOS=windows go vet ./...
	GOOS=darwin go vet ./...
	GOOS=freebsd go vet ./...
	go test -race -count=1 -timeout 10m ./...
	go test -run '^$$' -bench . -benchtime=1x ./...

# bench runs the benchmark suite: Node<->Node against every Go pairing, side
# by side in one run, and writes docs/bench/ (results.md, results.json,
# ratios.svg). About a minute on 2 cores.
bench:
	go run ./interop/bench
