package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/http-rosetta/http-rosetta/servers/contract/contracttest"
)

// Every row of the contract, sent as raw bytes to the app served by net/http itself.
func TestContract(t *testing.T) {
	srv := httptest.NewServer(newApp())
	defer srv.Close()
	contracttest.Run(t, "go-echo", func() (net.Conn, error) {
		return net.Dial("tcp", srv.Listener.Addr().String())
	})
}

// The router without a socket, as echo's cookbook tests handlers: httptest.NewRecorder and ServeHTTP.
func TestUsersInProcess(t *testing.T) {
	app := newApp()
	for path, want := range map[string]int{
		"/users/42":         http.StatusOK,
		"/users/4294967296": http.StatusBadRequest,
		"/users/":           http.StatusNotFound,
		// A path parameter that ends a route takes the rest of the path in echo's router.
		"/users/1/more": http.StatusBadRequest,
	} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("%s: want %d, got %d (%q)", path, want, rec.Code, rec.Body)
		}
	}
}

// What one request costs the handler and the framework, without a socket; the allocations are
// counts, steady on a busy machine: go test -bench . -benchmem
func BenchmarkJSON(b *testing.B) {
	app := newApp()
	req := httptest.NewRequest(http.MethodGet, "/json", nil)
	b.ReportAllocs()
	for b.Loop() {
		app.ServeHTTP(httptest.NewRecorder(), req)
	}
}
