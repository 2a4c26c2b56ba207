// Command server-go-handler is the http-rosetta service on Go's net/http with a Handler type of
// its own: the second of the Go article's six ways. Its ServeHTTP routes from a table, so paths
// and handlers are set up like configuration. Its Rust counterpart is hyper (service_fn and a
// match on method and path).
//
// Run it: `go run . --addr 127.0.0.1:8092`, then `curl -i http://127.0.0.1:8092/json`.
//
// Layout: main parses the command line, opens the database pool, binds and serves until a
// signal; newApp is the table; ServeHTTP walks it; the handlers follow in contract order, then
// the helpers that write answers and the shutdown. The pool's settings, the queries and the
// row mapping are in db.go, the /fortunes page in templates/fortunes.html. Tests are in
// main_test.go.
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
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/http-rosetta/http-rosetta/servers/contract"
)

// The /fortunes page, parsed once at start-up from the embedded file.
var (
	//go:embed templates/fortunes.html
	templates    embed.FS
	fortunesPage = template.Must(template.ParseFS(templates, "templates/fortunes.html"))
)

func main() {
	args := contract.ParseArgs("go-handler", 8092)
	db, err := openDatabase(args.DatabaseURL, args.PoolSize)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: --database-url:", err)
		os.Exit(2)
	}
	// Installed before the ready line, so that a signal sent right after it is not lost.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", args.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot bind the address:", err)
		os.Exit(1)
	}
	srv := &http.Server{
		Handler: newApp(db),
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

// app is the whole service: an http.Handler of our own that routes from a table, and the
// database pool its database routes share.
type app struct {
	routes []route
	// aspect: pool: a *sql.DB field of our Handler type, whose methods are the database routes; nil without a database URL
	db *sql.DB
}

// route is one row of the table. A path ending in "{id}" takes any one segment there, which
// the handler reads with r.PathValue("id"). A GET route answers HEAD too.
type route struct {
	method string
	path   string
	handle http.HandlerFunc
}

func newApp(db *sql.DB) *app {
	a := &app{db: db}
	// aspect: routing: a table of method, path and handler that ServeHTTP walks
	a.routes = []route{
		{http.MethodGet, "/", plaintext},
		{http.MethodGet, "/json", jsonMessage},
		{http.MethodGet, "/html", html},
		{http.MethodGet, "/users/{id}", user},
		{http.MethodPost, "/echo", echoMessage},
		{http.MethodGet, "/error", serverError},
		{http.MethodGet, "/db", a.singleQuery},
		{http.MethodGet, "/queries", a.queries},
		{http.MethodGet, "/fortunes", a.fortunes},
		{http.MethodGet, "/updates", a.updates},
	}
	return a
}

// ServeHTTP finds the route of the path: its handler when the method fits, a 405 naming the
// route's methods when it does not, and a 404 when no route has the path.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http sends no Server header itself.
	w.Header().Set("Server", "go-handler")
	// net/http caps the head's bytes (MaxHeaderBytes), not its lines.
	if headerLines(r) > contract.MaxHeaderLines {
		w.Header().Set("Connection", "close")
		text(w, http.StatusRequestHeaderFieldsTooLarge, http.StatusText(http.StatusRequestHeaderFieldsTooLarge))
		return
	}
	// net/http drops Content-Length from a request that also says Transfer-Encoding: chunked
	// before ServeHTTP runs (transfer.go, fixLength), so such a request cannot be told from a
	// plainly chunked one; RFC 9112, 6.3 says to close after answering it, so every chunked
	// request is answered with a close (Go's fix, golang/go#80942, is in no release yet).
	if len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
	for _, rt := range a.routes {
		id, ok := rt.match(r.URL.Path)
		switch {
		case !ok:
			continue
		case r.Method == rt.method || r.Method == http.MethodHead && rt.method == http.MethodGet:
			r.SetPathValue("id", id)
			rt.handle(w, r)
		case rt.method == http.MethodGet:
			methodNotAllowed(w, "GET, HEAD")
		default:
			methodNotAllowed(w, rt.method)
		}
		return
	}
	// aspect: not-found: no row of the table has the path
	notFound(w, r)
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

// match says whether path is this route's, and the segment that "{id}" took.
func (rt route) match(path string) (id string, ok bool) {
	prefix, hasID := strings.CutSuffix(rt.path, "{id}")
	if !hasID {
		return "", path == rt.path
	}
	id, ok = strings.CutPrefix(path, prefix)
	return id, ok && id != "" && !strings.Contains(id, "/")
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
	// aspect: path-parameter: r.PathValue("id"), which ServeHTTP sets from the table's {id}
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
func (a *app) singleQuery(w http.ResponseWriter, r *http.Request) {
	world, err := randomWorld(r.Context(), a.db)
	if err != nil {
		databaseError(w, err)
		return
	}
	writeJSON(w, world)
}

// end route

// route: queries
// GET /queries?q=N
func (a *app) queries(w http.ResponseWriter, r *http.Request) {
	worlds, err := randomWorlds(r.Context(), a.db, queryCount(r))
	if err != nil {
		databaseError(w, err)
		return
	}
	writeJSON(w, worlds)
}

// end route

// route: fortunes
// GET /fortunes
func (a *app) fortunes(w http.ResponseWriter, r *http.Request) {
	rows, err := allFortunes(r.Context(), a.db)
	if err != nil {
		databaseError(w, err)
		return
	}
	rows = append(rows, contract.Fortune{ID: 0, Message: contract.ExtraFortune})
	slices.SortFunc(rows, func(x, y contract.Fortune) int { return cmp.Compare(x.Message, y.Message) })
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
func (a *app) updates(w http.ResponseWriter, r *http.Request) {
	worlds, err := randomWorlds(r.Context(), a.db, queryCount(r))
	if err != nil {
		databaseError(w, err)
		return
	}
	for i := range worlds {
		worlds[i].RandomNumber = randomID()
	}
	if err := updateWorlds(r.Context(), a.db, worlds); err != nil {
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

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	text(w, http.StatusMethodNotAllowed, contract.MethodNotAllowed)
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
