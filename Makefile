# Setup and checks for nodeipc. Needs Go and Node.js (npm); everything else
# (the pinned Node 22, 24 and 26 binaries for the interop matrix, npm test
# packages, Go modules) is fetched by these targets.

.PHONY: demo test bench soak

# WASM_PKGS are the packages whose tests need no processes of their own.
WASM_PKGS = ./nodeipc ./nodeipc/jsvalue ./nodeipc/v8 ./internal/jsontext ./internal/slab

# demo runs a real exchange: a Go parent forks a Node script and talks to it.
demo:
	go run ./cmd/nodeipc run examples/hello.js < examples/hello.jsonl

# test runs every test: vet, unit tests, examples, fuzz corpora and the
# interop suite against real Node 20/22/24/26, all with the race detector,
# every micro-benchmark once so none can rot, then the npm package's own
# tests (node --test in js/, against real Node and Go workers).
# interop/wine/setup.sh brings Wine and Windows node.exe for the Windows
# suite (interop/wine), and vet checks the Windows, macOS and FreeBSD
# builds too. The library's own packages are also tested as js/wasm
# programs on Node (Go's go_js_wasm_exec), where a channel runs on any conn.
test:
	npm ci --prefix interop/testdata --no-audit --no-fund --loglevel=error
	npm ci --prefix js --no-audit --no-fund --loglevel=error
	bash interop/wine/setup.sh
	go vet ./...
	GOOS=windows go vet ./...
	GOOS=darwin go vet ./...
	GOOS=freebsd go vet ./...
	GOOS=js GOARCH=wasm go vet $(WASM_PKGS)
	GOOS=js GOARCH=wasm go test -count=1 -exec "$$(go env GOROOT)/lib/wasm/go_js_wasm_exec" $(WASM_PKGS)
	go test -race -count=1 -timeout 20m ./...
	go test -run '^$$' -bench . -benchtime=1x ./...
	cd js && node --test

# bench runs the benchmark suite: Node<->Node against every Go pairing, side
# by side in one run, and writes docs/bench/ (results.md, results.json,
# ratios.svg). About a minute on 2 cores.
bench:
	go run ./interop/bench

# soak runs the reliability suite (interop/soak) in full: real processes and
# signals against Node 20/22/24/26, every loop bounded; a few minutes on 2
# cores. It writes docs/reliability.md and docs/reliability.json and fails
# if a figure breaks a guarantee. Its short mode is part of make test.
soak:
	npm ci --prefix interop/testdata --no-audit --no-fund --loglevel=error
	go run ./interop/soak
