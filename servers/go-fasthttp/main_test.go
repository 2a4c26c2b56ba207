package main

import (
	"net"
	"testing"
	"time"

	"github.com/http-rosetta/http-rosetta/servers/contract/contracttest"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// Every row of the contract, sent as raw bytes to the server on fasthttp's in-memory listener.
func TestContract(t *testing.T) {
	ln := fasthttputil.NewInmemoryListener()
	srv := newServer(5 * time.Second)
	go srv.Serve(ln)
	defer srv.Shutdown()
	contracttest.Run(t, "go-fasthttp", func() (net.Conn, error) { return ln.Dial() })
}

// The handler without a connection, on a RequestCtx of its own, as fasthttp's tests do.
func TestUsersInProcess(t *testing.T) {
	for path, want := range map[string]int{
		"/users/42":         fasthttp.StatusOK,
		"/users/4294967296": fasthttp.StatusBadRequest,
		"/users/":           fasthttp.StatusNotFound,
		"/users/1/more":     fasthttp.StatusNotFound,
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		handler(&ctx)
		if got := ctx.Response.StatusCode(); got != want {
			t.Errorf("%s: want %d, got %d (%q)", path, want, got, ctx.Response.Body())
		}
	}
}

// What one request costs the handler, without a connection; the allocations are counts, steady
// on a busy machine: go test -bench . -benchmem
func BenchmarkJSON(b *testing.B) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/json")
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		handler(&ctx)
	}
}
