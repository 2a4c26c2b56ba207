package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/http-rosetta/http-rosetta/servers/contract/contracttest"
)

func TestMain(m *testing.M) {
	// The default mux is global: its patterns are registered once for all tests.
	routes()
	os.Exit(m.Run())
}

// Every row of the contract, sent as raw bytes to the handler served by net/http itself.
func TestContract(t *testing.T) {
	srv := httptest.NewServer(withServerHeader(http.DefaultServeMux))
	defer srv.Close()
	contracttest.Run(t, "go-nethttp", func() (net.Conn, error) {
		return net.Dial("tcp", srv.Listener.Addr().String())
	})
}

// The handlers without a socket: httptest.NewRecorder and ServeHTTP.
func TestUsersInProcess(t *testing.T) {
	for path, want := range map[string]int{
		"/users/42":         http.StatusOK,
		"/users/4294967296": http.StatusBadRequest,
		"/users/":           http.StatusNotFound,
		"/users/1/more":     http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		http.DefaultServeMux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("%s: want %d, got %d (%q)", path, want, rec.Code, rec.Body)
		}
	}
}

// What one request costs the handler and the framework, without a socket; the allocations are
// counts, steady on a busy machine: go test -bench . -benchmem
func BenchmarkJSON(b *testing.B) {
	app := withServerHeader(http.DefaultServeMux)
	req := httptest.NewRequest(http.MethodGet, "/json", nil)
	b.ReportAllocs()
	for b.Loop() {
		app.ServeHTTP(httptest.NewRecorder(), req)
	}
}
