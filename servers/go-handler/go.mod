module github.com/http-rosetta/http-rosetta/servers/go-handler

go 1.26

require github.com/http-rosetta/http-rosetta/servers/contract v0.0.0

// The shared bytes of the contract, from this repository (see servers/contract/contract.go).
replace github.com/http-rosetta/http-rosetta/servers/contract => ../contract
