module nodeipc.dev

go 1.26.0
