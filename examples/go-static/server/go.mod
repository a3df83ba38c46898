module distroless.dev/examples/go-static

go 1.24
