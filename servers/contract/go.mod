module github.com/http-rosetta/http-rosetta/servers/contract

go 1.26
