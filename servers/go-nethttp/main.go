// Command server-go-nethttp is the http-rosetta service on Go's net/http alone, with
// http.HandleFunc on the default ServeMux: the first of the Go article's six ways, "the bare
// basics". Its Rust counterparts are std (the bare basics) and may-minihttp (a goroutine per
// connection, in Rust).
//
// Run it: `go run . --addr 127.0.0.1:8091`, then `curl -i http://127.0.0.1:8091/json`.
//
// Layout: main parses the command line, opens the database pool, registers the handlers, binds
// and serves until a signal; routes is the list of patterns; the handlers follow in contract
// order, then the helpers that write answers, the Server header and the shutdown. The pool's
// settings, the queries and the row mapping are in db.go, the /fortunes page in
// templates/fortunes.html. Tests are in main_test.go.
package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"slices"
	"strconv"
	"syscall"

	"github.com/http-rosetta/http-rosetta/servers/contract"
)

// aspect: pool: a package-level *sql.DB, as Go's database/sql tutorial keeps it; nil without a database URL
var db *sql.DB

// The /fortunes page, parsed once at start-up from the embedded file.
var (
	//go:embed templates/fortunes.html
	templates    embed.FS
	fortunesPage = template.Must(template.ParseFS(templates, "templates/fortunes.html"))
)

func main() {
	args := contract.ParseArgs("go-nethttp", 8091)
	var err error
	db, err = openDatabase(args.DatabaseURL, args.PoolSize)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: --database-url:", err)
		os.Exit(2)
	}
	routes()
	// Installed before the ready line, so that a signal sent right after it is not lost.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", args.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot bind the address:", err)
		os.Exit(1)
	}
	srv := &http.Server{
		Handler: app(),
		// aspect: header-timeout: http.Server's ReadHeaderTimeout
		ReadHeaderTimeout: args.HeaderTimeout,
		// A larger head is refused with 431.
		MaxHeaderBytes: contract.MaxHeadBytes,
		// aspect: connection-errors: http.Server's ErrorLog, discarded unless ROSETTA_LOG is set
		ErrorLog: errorLog(),
	}
	contract.PrintReadyLine(ln.Addr())
	if err := serve(ctx, srv, ln); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	if db != nil {
		db.Close()
	}
}

// app is the whole service, without a socket: the default mux, behind the rules net/http leaves
// to its Handlers, with the Server header added to every answer.
func app() http.Handler {
	return withServerHeader(framingRules(http.DefaultServeMux))
}

// routes registers the handlers on the default mux. A pattern with a method answers that
// method (GET answers HEAD too); the same path without a method catches the other methods for
// a 405, since the mux's own 405 and 404 bodies are not the contract's.
func routes() {
	// aspect: routing: http.HandleFunc on the default ServeMux, one "METHOD /path" pattern per route
	http.HandleFunc("GET /{$}", plaintext)
	http.HandleFunc("/{$}", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("GET /json", jsonMessage)
	http.HandleFunc("/json", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("GET /html", html)
	http.HandleFunc("/html", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("GET /users/{id}", user)
	http.HandleFunc("/users/{id}", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("POST /echo", echoMessage)
	http.HandleFunc("/echo", methodNotAllowed("POST"))
	http.HandleFunc("GET /error", serverError)
	http.HandleFunc("/error", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("GET /db", singleQuery)
	http.HandleFunc("/db", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("GET /queries", queries)
	http.HandleFunc("/queries", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("GET /fortunes", fortunes)
	http.HandleFunc("/fortunes", methodNotAllowed("GET, HEAD"))
	http.HandleFunc("GET /updates", updates)
	http.HandleFunc("/updates", methodNotAllowed("GET, HEAD"))
	// aspect: not-found: the pattern "/" matches every path no other pattern does
	http.HandleFunc("/", notFound)
}

// route: plaintext
// GET /
func plaintext(w http.ResponseWriter, r *http.Request) {
	text(w, http.StatusOK, contract.Hello)
}

// end route

// route: json
// GET /json
func jsonMessage(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, contract.HelloMessage())
}

// end route

// route: html
// GET /html
func html(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", contract.TextHTML)
	io.WriteString(w, contract.HTMLPage)
}

// end route

// route: users
// GET /users/{id}
func user(w http.ResponseWriter, r *http.Request) {
	// aspect: path-parameter: r.PathValue("id") from the pattern, parsed with strconv
	id, err := contract.ParseUserID(r.PathValue("id"))
	if err != nil {
		text(w, http.StatusBadRequest, contract.BadRequest)
		return
	}
	writeJSON(w, contract.NewUser(id))
}

// end route

// route: echo
// POST /echo
func echoMessage(w http.ResponseWriter, r *http.Request) {
	if !contract.IsJSON(r.Header.Get("Content-Type")) {
		text(w, http.StatusBadRequest, contract.BadRequest)
		return
	}
	// aspect: body-limit: http.MaxBytesReader around the body
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(contract.MaxBodyBytes)))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		text(w, http.StatusRequestEntityTooLarge, contract.PayloadTooLarge)
		return
	}
	var message contract.Message
	// aspect: json-body: io.ReadAll, then json.Unmarshal into contract.Message
	if err != nil || json.Unmarshal(body, &message) != nil {
		text(w, http.StatusBadRequest, contract.BadRequest)
		return
	}
	writeJSON(w, message)
}

// end route

// route: error
// GET /error
func serverError(w http.ResponseWriter, r *http.Request) {
	internalError(w, errors.New("this route always fails"))
}

// end route

// route: not-found
// any other path
func notFound(w http.ResponseWriter, r *http.Request) {
	text(w, http.StatusNotFound, contract.NotFound)
}

// end route

// route: db
// GET /db
func singleQuery(w http.ResponseWriter, r *http.Request) {
	world, err := randomWorld(r.Context(), db)
	if err != nil {
		databaseError(w, err)
		return
	}
	writeJSON(w, world)
}

// end route

// route: queries
// GET /queries?q=N
func queries(w http.ResponseWriter, r *http.Request) {
	worlds, err := randomWorlds(r.Context(), db, queryCount(r))
	if err != nil {
		databaseError(w, err)
		return
	}
	writeJSON(w, worlds)
}

// end route

// route: fortunes
// GET /fortunes
func fortunes(w http.ResponseWriter, r *http.Request) {
	rows, err := allFortunes(r.Context(), db)
	if err != nil {
		databaseError(w, err)
		return
	}
	rows = append(rows, contract.Fortune{ID: 0, Message: contract.ExtraFortune})
	slices.SortFunc(rows, func(a, b contract.Fortune) int { return cmp.Compare(a.Message, b.Message) })
	var page bytes.Buffer
	// aspect: template: html/template's Execute, escaping by context, into a buffer so that an error is still a 500
	if err := fortunesPage.Execute(&page, rows); err != nil {
		internalError(w, err)
		return
	}
	w.Header().Set("Content-Type", contract.TextHTML)
	w.Header().Set("Content-Length", strconv.Itoa(page.Len()))
	w.Write(page.Bytes())
}

// end route

// route: updates
// GET /updates?q=N
func updates(w http.ResponseWriter, r *http.Request) {
	worlds, err := randomWorlds(r.Context(), db, queryCount(r))
	if err != nil {
		databaseError(w, err)
		return
	}
	for i := range worlds {
		worlds[i].RandomNumber = randomID()
	}
	if err := updateWorlds(r.Context(), db, worlds); err != nil {
		databaseError(w, err)
		return
	}
	writeJSON(w, worlds)
}

// end route

// queryCount is the number of rows asked for by ?q=, from the parsed query string.
func queryCount(r *http.Request) int {
	return contract.QueryCount(r.URL.Query().Get("q"))
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		text(w, http.StatusMethodNotAllowed, contract.MethodNotAllowed)
	}
}

// text writes a plain text answer. http.Error would add a newline and a nosniff header.
func text(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", contract.TextPlain)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// writeJSON writes v as JSON. json.Marshal, not an Encoder: an Encoder ends the body with a
// newline that the contract does not have. With its length said, a body over net/http's 2 KiB
// buffer is not sent chunked.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		internalError(w, err)
		return
	}
	w.Header().Set("Content-Type", contract.ApplicationJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// aspect: error-500: a function of ours that logs the cause (with ROSETTA_LOG) and writes the 500
func internalError(w http.ResponseWriter, cause error) {
	if contract.Logging {
		log.Printf("500 Internal Server Error: %v", cause)
	}
	text(w, http.StatusInternalServerError, contract.InternalServerError)
}

// aspect: db-error: a function of ours: no database or no connection in time is a 503, a failed query a 500
func databaseError(w http.ResponseWriter, cause error) {
	if !unavailable(cause) {
		internalError(w, cause)
		return
	}
	if contract.Logging {
		log.Printf("503 Service Unavailable: %v", cause)
	}
	text(w, http.StatusServiceUnavailable, contract.ServiceUnavailable)
}

// withServerHeader names the server on every answer; net/http sends no Server header itself.
func withServerHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "go-nethttp")
		next.ServeHTTP(w, r)
	})
}

// framingRules applies what net/http leaves to its Handlers. It caps the head's bytes
// (MaxHeaderBytes) but not its lines, so more than contract.MaxHeaderLines get 431 here. And it
// drops Content-Length from a request that also says Transfer-Encoding: chunked before any
// Handler runs (transfer.go, fixLength), so such a request cannot be told from a plainly chunked
// one; RFC 9112, 6.3 says to close after answering it, so every chunked request is answered
// with a close (Go's fix, golang/go#80942, is in no release yet). It also keeps a path that is
// not clean from the default mux, which would redirect it (see isCleanPath).
func framingRules(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerLines(r) > contract.MaxHeaderLines {
			w.Header().Set("Connection", "close")
			text(w, http.StatusRequestHeaderFieldsTooLarge, http.StatusText(http.StatusRequestHeaderFieldsTooLarge))
			return
		}
		// The mux leaves a CONNECT's path as it is, so only the others are checked.
		if r.Method != http.MethodConnect && !isCleanPath(r.URL.EscapedPath()) {
			notFound(w, r)
			return
		}
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// headerLines counts the request's header lines: net/http keeps each line's value, and takes the
// Host line out into r.Host.
func headerLines(r *http.Request) int {
	lines := 1
	for _, values := range r.Header {
		lines += len(values)
	}
	return lines
}

// isCleanPath reports whether the default mux routes p as it is. It answers any other with a
// 307 to path.Clean's form, the trailing slash kept (Go 1.26.8, net/http/server.go:2689,
// findHandler): `/../../etc/passwd` would be sent to `/etc/passwd`. No route of the contract is
// such a path, so it is not found here, as on every server that routes the path it was sent. An
// empty path (an absolute-form target without one) is "/" (RFC 9110, 4.2.3): the mux's redirect
// to "/" says the same, so it is left to the mux.
func isCleanPath(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	cleaned := path.Clean(p)
	if p[len(p)-1] == '/' && cleaned != "/" {
		cleaned += "/"
	}
	return cleaned == p
}

func errorLog() *log.Logger {
	if contract.Logging {
		return nil // the log package's standard logger, on stderr
	}
	return log.New(io.Discard, "", 0)
}

// serve answers on ln until ctx is done (SIGINT or SIGTERM), then shuts down gracefully.
func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		// Serve returns before a shutdown only when the listener fails.
		return err
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), contract.ShutdownGrace)
	defer cancel()
	// aspect: graceful-shutdown: signal.NotifyContext, then http.Server.Shutdown within the grace period
	if err := srv.Shutdown(grace); err != nil {
		// The grace period is over: cut what is still running.
		srv.Close()
	}
	return nil
}
