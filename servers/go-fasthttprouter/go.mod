module github.com/http-rosetta/http-rosetta/servers/go-fasthttprouter

go 1.26.0

require (
	github.com/fasthttp/router v1.5.4
	github.com/http-rosetta/http-rosetta/servers/contract v0.0.0
	github.com/jackc/pgx/v5 v5.13.0
	github.com/valyala/fasthttp v1.78.0
	github.com/valyala/quicktemplate v1.8.0
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/savsgio/gotils v0.0.0-20240704082632-aef3928b8a38 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

// The shared bytes of the contract, from this repository (see servers/contract/contract.go).
replace github.com/http-rosetta/http-rosetta/servers/contract => ../contract

tool github.com/valyala/quicktemplate/qtc
