// Command server-go-echo is the http-rosetta service on echo (labstack/echo v4): the third of
// the Go article's six ways, and its most readable one. The Echo object holds the routes and the
// settings: middleware, the error handler, the JSON serializer. Its Rust counterpart is axum
// (and, by idea, salvo's router and middleware).
//
// Run it: `go run . --addr 127.0.0.1:8093`, then `curl -i http://127.0.0.1:8093/json`.
//
// Layout: main parses the command line, opens the database pool, builds the app, binds and
// serves until a signal; newApp is the Echo with its routes and settings; the handlers follow
// in contract order, then the error handler, the JSON serializer and the shutdown. The pool's
// settings, the queries and the row mapping are in db.go, the /fortunes page in
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

	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

//go:embed templates/fortunes.html
var templates embed.FS

func main() {
	args := contract.ParseArgs("go-echo", 8093)
	pool, err := openPool(args.DatabaseURL, args.PoolSize)
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
	e := newApp(pool)
	// echo's own http.Server, so that Echo.Shutdown stops it.
	e.Listener = ln
	// aspect: header-timeout: the ReadHeaderTimeout of echo's http.Server
	e.Server.ReadHeaderTimeout = args.HeaderTimeout
	// A larger head is refused with 431.
	e.Server.MaxHeaderBytes = contract.MaxHeadBytes
	if !contract.Logging {
		// aspect: connection-errors: Echo.StdLogger (its http.Server's ErrorLog), discarded unless ROSETTA_LOG is set
		e.StdLogger = log.New(io.Discard, "", 0)
	}
	contract.PrintReadyLine(ln.Addr())
	if err := serve(ctx, e); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	if pool != nil {
		pool.Close()
	}
}

// getOrHead: echo routes HEAD only where it is registered, so each GET route takes both.
var getOrHead = []string{http.MethodGet, http.MethodHead}

// handler holds what the database routes need; its methods are those routes, as in echo's
// cookbook.
type handler struct {
	// aspect: pool: a *pgxpool.Pool in a handler struct whose methods are the routes (echo's cookbook); nil without a database URL
	db *pgxpool.Pool
}

// newApp is the whole service, without a socket: tests call its ServeHTTP.
func newApp(pool *pgxpool.Pool) *echo.Echo {
	h := &handler{db: pool}
	e := echo.New()
	// No start-up banner: a harness waits for the one ready line.
	e.HideBanner = true
	e.HidePort = true
	// echo's router writes the 405's Allow header itself.
	// aspect: routing: Echo.Match and Echo.POST, one line per route
	e.Match(getOrHead, "/", plaintext)
	e.Match(getOrHead, "/json", jsonMessage)
	e.Match(getOrHead, "/html", html)
	e.Match(getOrHead, "/users/:id", user)
	e.POST("/echo", echoMessage)
	e.Match(getOrHead, "/error", serverError)
	e.Match(getOrHead, "/db", h.singleQuery)
	e.Match(getOrHead, "/queries", h.queries)
	e.Match(getOrHead, "/fortunes", h.fortunes)
	e.Match(getOrHead, "/updates", h.updates)
	// echo's html/template renderer, with the page parsed once at start-up.
	e.Renderer = &echo.TemplateRenderer{Template: template.Must(template.ParseFS(templates, "templates/fortunes.html"))}
	e.HTTPErrorHandler = errorHandler
	e.JSONSerializer = jsonSerializer{}
	// First, so that the answers of the middleware after it carry the header too.
	e.Use(serverHeader)
	// aspect: body-limit: the BodyLimit middleware, whose reader framingRules reads the whole body through
	e.Use(middleware.BodyLimit(fmt.Sprintf("%dB", contract.MaxBodyBytes)))
	// After BodyLimit, so that the whole body it reads is read through the limit.
	e.Use(framingRules)
	return e
}

// route: plaintext
// GET /
func plaintext(c echo.Context) error {
	return c.Blob(http.StatusOK, contract.TextPlain, []byte(contract.Hello))
}

// end route

// route: json
// GET /json
func jsonMessage(c echo.Context) error {
	return c.JSON(http.StatusOK, contract.HelloMessage())
}

// end route

// route: html
// GET /html
func html(c echo.Context) error {
	return c.Blob(http.StatusOK, contract.TextHTML, []byte(contract.HTMLPage))
}

// end route

// route: users
// GET /users/:id
func user(c echo.Context) error {
	// aspect: path-parameter: echo.PathParam[uint32], echo's typed path parameter
	id, err := echo.PathParam[uint32](c, "id")
	if err != nil {
		return echo.ErrBadRequest
	}
	return c.JSON(http.StatusOK, contract.NewUser(id))
}

// end route

// route: echo
// POST /echo
func echoMessage(c echo.Context) error {
	// Bind would answer a body of another type with 415; the contract says 400.
	if !contract.IsJSON(c.Request().Header.Get(echo.HeaderContentType)) {
		return echo.ErrBadRequest
	}
	// Bind binds nothing from an empty body, and says nothing either.
	if c.Request().ContentLength == 0 {
		return echo.ErrBadRequest
	}
	var message contract.Message
	// aspect: json-body: Context.Bind, which decodes JSON by the Content-Type
	if err := c.Bind(&message); err != nil {
		// A 400 from the decoder, or the body limit's 413.
		return err
	}
	return c.JSON(http.StatusOK, message)
}

// end route

// route: error
// GET /error
func serverError(c echo.Context) error {
	return errors.New("this route always fails")
}

// end route

// route: db
// GET /db
func (h *handler) singleQuery(c echo.Context) error {
	world, err := randomWorld(c.Request().Context(), h.db)
	if err != nil {
		return databaseError(err)
	}
	return c.JSON(http.StatusOK, world)
}

// end route

// route: queries
// GET /queries?q=N
func (h *handler) queries(c echo.Context) error {
	worlds, err := randomWorlds(c.Request().Context(), h.db, queryCount(c))
	if err != nil {
		return databaseError(err)
	}
	return c.JSON(http.StatusOK, worlds)
}

// end route

// route: fortunes
// GET /fortunes
func (h *handler) fortunes(c echo.Context) error {
	rows, err := allFortunes(c.Request().Context(), h.db)
	if err != nil {
		return databaseError(err)
	}
	rows = append(rows, contract.Fortune{ID: 0, Message: contract.ExtraFortune})
	slices.SortFunc(rows, func(a, b contract.Fortune) int { return cmp.Compare(a.Message, b.Message) })
	// Set first, Render keeps it; alone it would say "text/html; charset=UTF-8".
	c.Response().Header().Set(echo.HeaderContentType, contract.TextHTML)
	// aspect: template: Context.Render through the Echo's Renderer, echo.TemplateRenderer around html/template
	return c.Render(http.StatusOK, "fortunes.html", rows)
}

// end route

// route: updates
// GET /updates?q=N
func (h *handler) updates(c echo.Context) error {
	worlds, err := randomWorlds(c.Request().Context(), h.db, queryCount(c))
	if err != nil {
		return databaseError(err)
	}
	for i := range worlds {
		worlds[i].RandomNumber = randomID()
	}
	if err := updateWorlds(c.Request().Context(), h.db, worlds); err != nil {
		return databaseError(err)
	}
	return c.JSON(http.StatusOK, worlds)
}

// end route

// queryCount is the number of rows asked for by ?q=, read with Context.QueryParam.
func queryCount(c echo.Context) int {
	return contract.QueryCount(c.QueryParam("q"))
}

// aspect: db-error: no database or no connection in time becomes echo.ErrServiceUnavailable (503), which the error handler writes; any other error a 500
func databaseError(err error) error {
	if unavailable(err) {
		return echo.ErrServiceUnavailable.WithInternal(err)
	}
	return err
}

// aspect: error-500: Echo.HTTPErrorHandler: every error a handler returns becomes its answer here
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	var httpError *echo.HTTPError
	if errors.As(err, &httpError) {
		status = httpError.Code
	}
	body := contract.InternalServerError
	switch status {
	case http.StatusBadRequest:
		body = contract.BadRequest
	// route: not-found
	// any other path: the router's echo.ErrNotFound, written here
	// aspect: not-found: the router's echo.ErrNotFound, which the error handler writes
	case http.StatusNotFound:
		body = contract.NotFound
	// end route
	case http.StatusMethodNotAllowed:
		body = contract.MethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		body = contract.PayloadTooLarge
	case http.StatusRequestHeaderFieldsTooLarge:
		body = http.StatusText(status)
	case http.StatusServiceUnavailable:
		body = contract.ServiceUnavailable
		if contract.Logging {
			log.Printf("503 Service Unavailable: %v", err)
		}
	default:
		status = http.StatusInternalServerError
		if contract.Logging {
			log.Printf("500 Internal Server Error: %v", err)
		}
	}
	// Nothing more can be done if the client has gone away.
	_ = c.Blob(status, contract.TextPlain, []byte(body))
}

// jsonSerializer is echo's default with json.Marshal for writing: the default's json.Encoder
// ends every body with a newline, which the contract does not have, and it ignores ?pretty so
// that a query string does not change the answer. It says the length, so that a body over
// net/http's 2 KiB buffer is not sent chunked.
type jsonSerializer struct {
	echo.DefaultJSONSerializer
}

func (jsonSerializer) Serialize(c echo.Context, v any, _ string) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	_, err = c.Response().Write(body)
	return err
}

// serverHeader names the server on every answer, as echo's cookbook does; echo sends none.
func serverHeader(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderServer, "go-echo")
		return next(c)
	}
}

// framingRules applies what net/http leaves to the app. It caps the head's bytes
// (MaxHeaderBytes) but not its lines, so more than contract.MaxHeaderLines get 431 here. It drops
// Content-Length from a request that also says Transfer-Encoding: chunked before any handler
// runs (transfer.go, fixLength), so such a request cannot be told from a plainly chunked one;
// RFC 9112, 6.3 says to close after answering it, so every chunked request is answered with a
// close (Go's fix, golang/go#80942, is in no release yet). And it reads the whole body before
// the handler runs: Bind's JSON decoder stops at the end of the value, so a broken chunk after it
// would be found only once the answer was sent; read first, it is a 400 and a close.
func framingRules(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if headerLines(req) > contract.MaxHeaderLines {
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return echo.ErrRequestHeaderFieldsTooLarge
		}
		if len(req.TransferEncoding) > 0 {
			c.Response().Header().Set(echo.HeaderConnection, "close")
		}
		if req.Body == http.NoBody {
			return next(c)
		}
		body, err := io.ReadAll(req.Body)
		var httpError *echo.HTTPError
		switch {
		case errors.As(err, &httpError):
			// BodyLimit's 413.
			return err
		case err != nil:
			c.Response().Header().Set(echo.HeaderConnection, "close")
			return echo.ErrBadRequest.WithInternal(err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		return next(c)
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

// serve answers until ctx is done (SIGINT or SIGTERM), then shuts down gracefully.
func serve(ctx context.Context, e *echo.Echo) error {
	served := make(chan error, 1)
	go func() { served <- e.Start("") }()
	select {
	case err := <-served:
		// Start returns before a shutdown only when the listener fails.
		return err
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), contract.ShutdownGrace)
	defer cancel()
	// aspect: graceful-shutdown: signal.NotifyContext, then Echo.Shutdown within the grace period
	if err := e.Shutdown(grace); err != nil {
		// The grace period is over: cut what is still running.
		e.Close()
	}
	return nil
}
