package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/http-rosetta/http-rosetta/servers/contract/contracttest"
)

// Every row of the contract, sent as raw bytes to the app served by net/http itself.
func TestContract(t *testing.T) {
	srv := httptest.NewServer(newApp(nil))
	defer srv.Close()
	contracttest.Run(t, "go-handler", func() (net.Conn, error) {
		return net.Dial("tcp", srv.Listener.Addr().String())
	})
}

// The table's matching without a socket: httptest.NewRecorder and ServeHTTP.
func TestUsersInProcess(t *testing.T) {
	app := newApp(nil)
	for path, want := range map[string]int{
		"/users/42":         http.StatusOK,
		"/users/4294967296": http.StatusBadRequest,
		"/users/":           http.StatusNotFound,
		"/users/1/more":     http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("%s: want %d, got %d (%q)", path, want, rec.Code, rec.Body)
		}
	}
}

// The four database routes, whose answers every test below checks the same way.
var databaseRoutes = []string{"/db", "/queries?q=2", "/fortunes", "/updates?q=2"}

// serveWithDatabase serves the app with the pool of url (none for "") for one test.
func serveWithDatabase(t *testing.T, url string) *httptest.Server {
	t.Helper()
	pool, err := openDatabase(url, 0)
	if err != nil {
		t.Fatalf("openDatabase(%q): %v", url, err)
	}
	srv := httptest.NewServer(newApp(pool))
	t.Cleanup(func() {
		srv.Close()
		if pool != nil {
			pool.Close()
		}
	})
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return res, string(body)
}

// expect503 checks that every database route answers the contract's 503.
func expect503(t *testing.T, srv *httptest.Server) {
	t.Helper()
	for _, path := range databaseRoutes {
		res, body := get(t, srv, path)
		if res.StatusCode != http.StatusServiceUnavailable || body != contract.ServiceUnavailable ||
			res.Header.Get("Content-Type") != contract.TextPlain {
			t.Errorf("GET %s: %d %q %q, want the contract's 503", path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
}

// Without a database URL the routes answer 503 and the server still runs.
func TestDatabaseRoutesWithoutADatabase(t *testing.T) {
	expect503(t, serveWithDatabase(t, ""))
}

// A database that refuses connections is a 503 too, well within the deadline.
func TestDatabaseRoutesWithTheDatabaseDown(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := serveWithDatabase(t, "postgres://benchmarkdbuser:benchmarkdbpass@"+addr+"/hello_world")
	start := time.Now()
	expect503(t, srv)
	if took := time.Since(start); took > databaseTimeout {
		t.Errorf("the 503s took %v, longer than the deadline %v", took, databaseTimeout)
	}
}

// The q rule as the handlers read q: r.URL.Query().Get, then contract.QueryCount.
func TestQueryCountFromTheQueryString(t *testing.T) {
	for target, want := range map[string]int{
		"/queries":                        1,
		"/queries?q=":                     1,
		"/queries?q=foo":                  1,
		"/queries?q=0":                    1,
		"/queries?q=-3":                   1,
		"/queries?q=20":                   20,
		"/queries?q=%2B20":                20,
		"/queries?q=500":                  500,
		"/queries?q=501":                  500,
		"/queries?q=99999999999999999999": 500,
		"/queries?p=7&q=7":                7,
	} {
		if got := queryCount(httptest.NewRequest(http.MethodGet, target, nil)); got != want {
			t.Errorf("%s: %d rows, want %d", target, got, want)
		}
	}
}

// One round of the four routes against a real database (contracttest.DatabaseURL: skipped
// without one, failed without one under CI=true; servers/contract/go-test.sh starts one).
func TestDatabaseRoutes(t *testing.T) {
	url := contracttest.DatabaseURL(t)
	srv := serveWithDatabase(t, url)
	for path, rows := range map[string]int{"/db": 1, "/queries?q=3": 3, "/queries?q=100": 100, "/updates?q=3": 3} {
		res, body := get(t, srv, path)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != contract.ApplicationJSON {
			t.Fatalf("GET %s: %d %q %q", path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		// Said, not chunked, however long the body (net/http chunks what outgrows 2 KiB).
		if res.ContentLength != int64(len(body)) {
			t.Errorf("GET %s: Content-Length %d for %d bytes", path, res.ContentLength, len(body))
		}
		var worlds []contract.World
		if path == "/db" {
			body = "[" + body + "]"
		}
		if err := json.Unmarshal([]byte(body), &worlds); err != nil || len(worlds) != rows {
			t.Errorf("GET %s: %q is not %d rows (%v)", path, body, rows, err)
		}
		for _, w := range worlds {
			if w.ID < 1 || w.ID > contract.WorldRows || w.RandomNumber < 1 || w.RandomNumber > contract.WorldRows {
				t.Errorf("GET %s: row %+v is out of range", path, w)
			}
		}
	}
	res, page := get(t, srv, "/fortunes")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != contract.TextHTML {
		t.Fatalf("GET /fortunes: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{"<td>0</td><td>" + contract.ExtraFortune + "</td>", "&lt;script&gt;", "フレームワークのベンチマーク"} {
		if !strings.Contains(page, want) {
			t.Errorf("GET /fortunes: the page lacks %q:\n%s", want, page)
		}
	}
}

// What one request costs the handler and the framework, without a socket; the allocations are
// counts, steady on a busy machine: go test -bench . -benchmem
func BenchmarkJSON(b *testing.B) {
	app := newApp(nil)
	req := httptest.NewRequest(http.MethodGet, "/json", nil)
	b.ReportAllocs()
	for b.Loop() {
		app.ServeHTTP(httptest.NewRecorder(), req)
	}
}
