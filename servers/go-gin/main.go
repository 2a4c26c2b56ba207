// Command server-go-gin is the http-rosetta service on gin (gin-gonic/gin), on net/http: the
// fourth of the Go article's six ways, whose router makes the mapping of paths to handlers
// clear. It runs in release mode with no logging middleware. Its Rust counterparts are
// actix-web and ntex.
//
// Run it: `go run . --addr 127.0.0.1:8094`, then `curl -i http://127.0.0.1:8094/json`.
//
// Layout: main parses the command line, opens the database pool, builds the engine, binds and
// serves until a signal; newApp is the gin.Engine with its routes; the handlers follow in
// contract order, then the middleware (body limit, Server header, errors) and the shutdown.
// The pool's settings, the queries and the row mapping are in db.go, the /fortunes page in
// templates/fortunes.html. Tests are in main_test.go.
package main

import (
	"bytes"
	"cmp"
	"context"
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
	"syscall"

	"github.com/gin-gonic/gin"
	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed templates/fortunes.html
var templates embed.FS

func main() {
	args := contract.ParseArgs("go-gin", 8094)
	pool, err := openPool(args.DatabaseURL, args.PoolSize)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: --database-url:", err)
		os.Exit(2)
	}
	// Release mode, as gin's docs say for production: no debug output, no route listing.
	gin.SetMode(gin.ReleaseMode)
	// Installed before the ready line, so that a signal sent right after it is not lost.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", args.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot bind the address:", err)
		os.Exit(1)
	}
	srv := &http.Server{
		Handler: newApp(pool),
		// aspect: header-timeout: http.Server's ReadHeaderTimeout (gin runs on net/http)
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
	if pool != nil {
		pool.Close()
	}
}

// getOrHead: gin routes HEAD only where it is registered, so each GET route takes both.
var getOrHead = []string{http.MethodGet, http.MethodHead}

// handler holds what the database routes need; its methods are those routes.
type handler struct {
	// aspect: pool: a *pgxpool.Pool in a handler struct whose methods are the routes; nil without a database URL
	db *pgxpool.Pool
}

// newApp is the whole service, without a socket: tests call its ServeHTTP.
func newApp(pool *pgxpool.Pool) *gin.Engine {
	h := &handler{db: pool}
	// gin.New, not gin.Default: no Logger middleware on the request path. Recovery stays, as
	// gin's docs keep it, so that a panicking handler answers 500.
	r := gin.New()
	r.Use(gin.Recovery(), serverHeader, limitBody, framingRules, errorHandler)
	// Off by default: without it, a known path with another method is a 404.
	r.HandleMethodNotAllowed = true
	// The /fortunes page, parsed once from the embedded file, as gin's docs build templates
	// into a single binary (LoadHTMLGlob would read them from the working directory).
	r.SetHTMLTemplate(template.Must(template.ParseFS(templates, "templates/fortunes.html")))
	// aspect: routing: Engine.Match and Engine.POST, one line per route
	r.Match(getOrHead, "/", plaintext)
	r.Match(getOrHead, "/json", jsonMessage)
	r.Match(getOrHead, "/html", html)
	r.Match(getOrHead, "/users/:id", user)
	r.POST("/echo", echoMessage)
	r.Match(getOrHead, "/error", serverError)
	r.Match(getOrHead, "/db", h.singleQuery)
	r.Match(getOrHead, "/queries", h.queries)
	r.Match(getOrHead, "/fortunes", h.fortunes)
	r.Match(getOrHead, "/updates", h.updates)
	// aspect: not-found: Engine.NoRoute
	r.NoRoute(notFound)
	// gin sets the Allow header of this answer itself.
	r.NoMethod(methodNotAllowed)
	return r
}

// route: plaintext
// GET /
func plaintext(c *gin.Context) {
	c.Data(http.StatusOK, contract.TextPlain, []byte(contract.Hello))
}

// end route

// route: json
// GET /json
func jsonMessage(c *gin.Context) {
	// Set first, c.JSON keeps it; alone it would say "application/json; charset=utf-8".
	c.Header("Content-Type", contract.ApplicationJSON)
	c.JSON(http.StatusOK, contract.HelloMessage())
}

// end route

// route: html
// GET /html
func html(c *gin.Context) {
	c.Data(http.StatusOK, contract.TextHTML, []byte(contract.HTMLPage))
}

// end route

// route: users
// GET /users/:id
func user(c *gin.Context) {
	var path struct {
		ID uint32 `uri:"id"`
	}
	// aspect: path-parameter: Context.ShouldBindUri into a struct with a uint32 field
	if err := c.ShouldBindUri(&path); err != nil {
		c.Data(http.StatusBadRequest, contract.TextPlain, []byte(contract.BadRequest))
		return
	}
	c.Header("Content-Type", contract.ApplicationJSON)
	c.JSON(http.StatusOK, contract.NewUser(path.ID))
}

// end route

// route: echo
// POST /echo
func echoMessage(c *gin.Context) {
	var message contract.Message
	// aspect: json-body: Context.ShouldBindJSON into contract.Message
	err := c.ShouldBindJSON(&message)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		c.Data(http.StatusRequestEntityTooLarge, contract.TextPlain, []byte(contract.PayloadTooLarge))
	// ShouldBindJSON reads any body as JSON; the contract wants a JSON Content-Type.
	case err != nil || !contract.IsJSON(c.ContentType()):
		c.Data(http.StatusBadRequest, contract.TextPlain, []byte(contract.BadRequest))
	default:
		c.Header("Content-Type", contract.ApplicationJSON)
		c.JSON(http.StatusOK, message)
	}
}

// end route

// route: error
// GET /error
func serverError(c *gin.Context) {
	_ = c.Error(errors.New("this route always fails"))
}

// end route

// route: not-found
// any other path
func notFound(c *gin.Context) {
	c.Data(http.StatusNotFound, contract.TextPlain, []byte(contract.NotFound))
}

// end route

// route: db
// GET /db
func (h *handler) singleQuery(c *gin.Context) {
	world, err := randomWorld(c.Request.Context(), h.db)
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeJSON(c, world)
}

// end route

// route: queries
// GET /queries?q=N
func (h *handler) queries(c *gin.Context) {
	worlds, err := randomWorlds(c.Request.Context(), h.db, queryCount(c))
	if err != nil {
		_ = c.Error(err)
		return
	}
	writeJSON(c, worlds)
}

// end route

// route: fortunes
// GET /fortunes
func (h *handler) fortunes(c *gin.Context) {
	rows, err := allFortunes(c.Request.Context(), h.db)
	if err != nil {
		_ = c.Error(err)
		return
	}
	rows = append(rows, contract.Fortune{ID: 0, Message: contract.ExtraFortune})
	slices.SortFunc(rows, func(a, b contract.Fortune) int { return cmp.Compare(a.Message, b.Message) })
	// aspect: template: Context.HTML with the engine's html/template, set by SetHTMLTemplate from an embedded file
	c.HTML(http.StatusOK, "fortunes.html", rows)
}

// end route

// route: updates
// GET /updates?q=N
func (h *handler) updates(c *gin.Context) {
	worlds, err := randomWorlds(c.Request.Context(), h.db, queryCount(c))
	if err != nil {
		_ = c.Error(err)
		return
	}
	for i := range worlds {
		worlds[i].RandomNumber = randomID()
	}
	if err := updateWorlds(c.Request.Context(), h.db, worlds); err != nil {
		_ = c.Error(err)
		return
	}
	writeJSON(c, worlds)
}

// end route

// writeJSON answers v as JSON with its length said. c.JSON streams into net/http's 2 KiB
// buffer without a length, so the rows of /queries?q=500 would go out chunked; the other Go
// servers say the length too.
func writeJSON(c *gin.Context, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Data(http.StatusOK, contract.ApplicationJSON, body)
}

// queryCount is the number of rows asked for by ?q=, read with Context.Query.
func queryCount(c *gin.Context) int {
	return contract.QueryCount(c.Query("q"))
}

func methodNotAllowed(c *gin.Context) {
	c.Data(http.StatusMethodNotAllowed, contract.TextPlain, []byte(contract.MethodNotAllowed))
}

// serverHeader names the server on every answer; net/http sends no Server header itself.
func serverHeader(c *gin.Context) {
	c.Header("Server", "go-gin")
}

// limitBody caps every request body; gin has no limit of its own.
func limitBody(c *gin.Context) {
	// aspect: body-limit: a middleware that wraps the body in http.MaxBytesReader
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, int64(contract.MaxBodyBytes))
}

// framingRules applies what net/http leaves to the app. It caps the head's bytes
// (MaxHeaderBytes) but not its lines, so more than contract.MaxHeaderLines get 431 here. It drops
// Content-Length from a request that also says Transfer-Encoding: chunked before any handler
// runs (transfer.go, fixLength), so such a request cannot be told from a plainly chunked one;
// RFC 9112, 6.3 says to close after answering it, so every chunked request is answered with a
// close (Go's fix, golang/go#80942, is in no release yet). And it reads the whole body
// (Context.GetRawData, through limitBody's cap) before the handler runs: ShouldBindJSON's decoder
// stops at the end of the value, so a broken chunk after it would be found only once the answer
// was sent; read first, it is a 400 and a close.
func framingRules(c *gin.Context) {
	if headerLines(c.Request) > contract.MaxHeaderLines {
		c.Header("Connection", "close")
		c.Data(http.StatusRequestHeaderFieldsTooLarge, contract.TextPlain, []byte(http.StatusText(http.StatusRequestHeaderFieldsTooLarge)))
		c.Abort()
		return
	}
	if len(c.Request.TransferEncoding) > 0 {
		c.Header("Connection", "close")
	}
	if c.Request.Body == http.NoBody {
		return
	}
	body, err := c.GetRawData()
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		c.Data(http.StatusRequestEntityTooLarge, contract.TextPlain, []byte(contract.PayloadTooLarge))
		c.Abort()
	case err != nil:
		c.Header("Connection", "close")
		c.Data(http.StatusBadRequest, contract.TextPlain, []byte(contract.BadRequest))
		c.Abort()
	default:
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
	}
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

// aspect: error-500: Context.Error in the handler; a middleware writes the 500 after c.Next()
func errorHandler(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 || c.Writer.Written() {
		return
	}
	cause := c.Errors.Last().Err
	// aspect: db-error: the handler's Context.Error; this middleware makes no database or no connection in time a 503, any other error a 500
	if unavailable(cause) {
		if contract.Logging {
			log.Printf("503 Service Unavailable: %v", cause)
		}
		c.Data(http.StatusServiceUnavailable, contract.TextPlain, []byte(contract.ServiceUnavailable))
		return
	}
	if contract.Logging {
		log.Printf("500 Internal Server Error: %v", cause)
	}
	c.Data(http.StatusInternalServerError, contract.TextPlain, []byte(contract.InternalServerError))
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
