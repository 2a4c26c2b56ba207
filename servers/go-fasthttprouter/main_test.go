package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/http-rosetta/http-rosetta/servers/contract/contracttest"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// Every row of the contract, sent as raw bytes to the server on fasthttp's in-memory listener.
func TestContract(t *testing.T) {
	ln := fasthttputil.NewInmemoryListener()
	srv := newServer(5*time.Second, nil)
	go srv.Serve(ln)
	defer srv.Shutdown()
	contracttest.Run(t, "go-fasthttprouter", func() (net.Conn, error) { return ln.Dial() })
}

// The router without a connection, on a RequestCtx of its own, as fasthttp's tests do.
func TestUsersInProcess(t *testing.T) {
	for path, want := range map[string]int{
		"/users/42":         fasthttp.StatusOK,
		"/users/4294967296": fasthttp.StatusBadRequest,
		"/users/":           fasthttp.StatusNotFound,
		"/users/1/more":     fasthttp.StatusNotFound,
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		newRouter(nil).Handler(&ctx)
		if got := ctx.Response.StatusCode(); got != want {
			t.Errorf("%s: want %d, got %d (%q)", path, want, got, ctx.Response.Body())
		}
	}
}

// The four database routes, whose answers every test below checks the same way.
var databaseRoutes = []string{"/db", "/queries?q=2", "/fortunes", "/updates?q=2"}

// serveWithDatabase serves the app with the pool of url (none for "") on an in-memory
// listener for one test, and returns a client that reaches it.
func serveWithDatabase(t *testing.T, url string) *fasthttp.Client {
	t.Helper()
	pool, err := openPool(url, 0)
	if err != nil {
		t.Fatalf("openPool(%q): %v", url, err)
	}
	ln := fasthttputil.NewInmemoryListener()
	srv := newServer(5*time.Second, pool)
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown()
		if pool != nil {
			pool.Close()
		}
	})
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

type answer struct {
	status      int
	contentType string
	body        string
}

func get(t *testing.T, client *fasthttp.Client, path string) answer {
	t.Helper()
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI("http://rosetta" + path)
	if err := client.DoTimeout(req, res, 10*time.Second); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return answer{res.StatusCode(), string(res.Header.ContentType()), string(res.Body())}
}

// expect503 checks that every database route answers the contract's 503.
func expect503(t *testing.T, client *fasthttp.Client) {
	t.Helper()
	for _, path := range databaseRoutes {
		a := get(t, client, path)
		if a.status != fasthttp.StatusServiceUnavailable || a.body != contract.ServiceUnavailable || a.contentType != contract.TextPlain {
			t.Errorf("GET %s: %+v, want the contract's 503", path, a)
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
	client := serveWithDatabase(t, "postgres://benchmarkdbuser:benchmarkdbpass@"+addr+"/hello_world")
	start := time.Now()
	expect503(t, client)
	if took := time.Since(start); took > databaseTimeout {
		t.Errorf("the 503s took %v, longer than the deadline %v", took, databaseTimeout)
	}
}

// The q rule as the handlers read q: ctx.QueryArgs().Peek, then contract.QueryCount.
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
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(target)
		if got := queryCount(&ctx); got != want {
			t.Errorf("%s: %d rows, want %d", target, got, want)
		}
	}
}

// One round of the four routes against a real database (contracttest.DatabaseURL: skipped
// without one, failed without one under CI=true; servers/contract/go-test.sh starts one).
func TestDatabaseRoutes(t *testing.T) {
	url := contracttest.DatabaseURL(t)
	client := serveWithDatabase(t, url)
	for path, rows := range map[string]int{"/db": 1, "/queries?q=3": 3, "/updates?q=3": 3} {
		a := get(t, client, path)
		if a.status != fasthttp.StatusOK || a.contentType != contract.ApplicationJSON {
			t.Fatalf("GET %s: %+v", path, a)
		}
		body := a.body
		if path == "/db" {
			body = "[" + body + "]"
		}
		var worlds []contract.World
		if err := json.Unmarshal([]byte(body), &worlds); err != nil || len(worlds) != rows {
			t.Errorf("GET %s: %q is not %d rows (%v)", path, a.body, rows, err)
		}
		for _, w := range worlds {
			if w.ID < 1 || w.ID > contract.WorldRows || w.RandomNumber < 1 || w.RandomNumber > contract.WorldRows {
				t.Errorf("GET %s: row %+v is out of range", path, w)
			}
		}
	}
	page := get(t, client, "/fortunes")
	if page.status != fasthttp.StatusOK || page.contentType != contract.TextHTML {
		t.Fatalf("GET /fortunes: %d %q", page.status, page.contentType)
	}
	for _, want := range []string{"<td>0</td><td>" + contract.ExtraFortune + "</td>", "&lt;script&gt;", "フレームワークのベンチマーク"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("GET /fortunes: the page lacks %q:\n%s", want, page.body)
		}
	}
}

// What one request costs the handler, without a connection; the allocations are counts, steady
// on a busy machine: go test -bench . -benchmem
func BenchmarkJSON(b *testing.B) {
	router := newRouter(nil)
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/json")
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		router.Handler(&ctx)
	}
}
