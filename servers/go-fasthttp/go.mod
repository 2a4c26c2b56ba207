module github.com/http-rosetta/http-rosetta/servers/go-fasthttp

go 1.26.0

require (
	github.com/http-rosetta/http-rosetta/servers/contract v0.0.0
	github.com/valyala/fasthttp v1.78.0
)

require (
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
)

// The shared bytes of the contract, from this repository (see servers/contract/contract.go).
replace github.com/http-rosetta/http-rosetta/servers/contract => ../contract
