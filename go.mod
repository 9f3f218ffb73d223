module nodeipc.dev

go 1.26.0

require (
	github.com/goccy/go-json v0.12.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
