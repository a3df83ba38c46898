module distroless.dev/examples/shop

go 1.24
