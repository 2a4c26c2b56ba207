// Command server-go-fasthttprouter is the http-rosetta service on fasthttp with a router: the
// sixth of the Go article's six ways. The article used github.com/buaazp/fasthttprouter; the Go
// module proxy no longer serves it (403), so this server uses its maintained successor,
// github.com/fasthttp/router, with the same radix-tree routing and the same API shape. Its Rust
// counterpart is warp.
//
// Run it: `go run . --addr 127.0.0.1:8096`, then `curl -i http://127.0.0.1:8096/json`.
//
// Layout: main parses the command line, opens the database pool, builds the server, binds and
// serves until a signal; newServer holds fasthttp's settings; newRouter is the route table;
// the handlers follow in contract order, then the error handler and the shutdown. The pool's
// settings, the queries and the row mapping are in db.go, the /fortunes page in
// templates/fortunes.qtpl (compiled by quicktemplate's qtc to templates/fortunes.qtpl.go).
// Tests are in main_test.go.
package main

//go:generate go tool qtc -dir=templates

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/fasthttp/router"
	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/http-rosetta/http-rosetta/servers/go-fasthttprouter/templates"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"
)

func main() {
	args := contract.ParseArgs("go-fasthttprouter", 8096)
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
	srv := newServer(args.HeaderTimeout, pool)
	contract.PrintReadyLine(ln.Addr())
	if err := serve(ctx, srv, ln); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	if pool != nil {
		pool.Close()
	}
}

// newServer is the whole service, without a socket: tests serve it on an in-memory listener.
func newServer(headerTimeout time.Duration, pool *pgxpool.Pool) *fasthttp.Server {
	return &fasthttp.Server{
		Handler: framingRules(newRouter(pool).Handler),
		// The Server header of every answer.
		Name: "go-fasthttprouter",
		// aspect: header-timeout: Server.ReadTimeout: the whole request (head and body) must arrive in time
		ReadTimeout: headerTimeout,
		// aspect: body-limit: Server.MaxRequestBodySize (chunked bodies included)
		MaxRequestBodySize: contract.MaxBodyBytes,
		// Answers what fasthttp refuses before the handler runs: Host rules, body limit.
		ErrorHandler: errorHandler,
		// aspect: connection-errors: Server.Logger, discarded unless ROSETTA_LOG is set
		Logger: errorLog(),
	}
}

// getOrHead: the router routes HEAD only where it is registered, so each GET route takes both.
var getOrHead = []string{fasthttp.MethodGet, fasthttp.MethodHead}

// handler holds what the database routes need; its methods are those routes.
type handler struct {
	// aspect: pool: a *pgxpool.Pool in a handler struct whose methods are the routes; nil without a database URL
	db *pgxpool.Pool
}

// newRouter is the route table. The router writes the 405's Allow header itself.
func newRouter(pool *pgxpool.Pool) *router.Router {
	h := &handler{db: pool}
	r := router.New()
	for _, method := range getOrHead {
		// aspect: routing: router.Router.Handle per method and path, a radix tree like httprouter
		r.Handle(method, "/", plaintext)
		r.Handle(method, "/json", jsonMessage)
		r.Handle(method, "/html", html)
		r.Handle(method, "/users/{id}", user)
		r.Handle(method, "/error", serverError)
		r.Handle(method, "/db", h.singleQuery)
		r.Handle(method, "/queries", h.queries)
		r.Handle(method, "/fortunes", h.fortunes)
		r.Handle(method, "/updates", h.updates)
	}
	r.POST("/echo", echoMessage)
	// aspect: not-found: Router.NotFound
	r.NotFound = notFound
	r.MethodNotAllowed = methodNotAllowed
	return r
}

// route: plaintext
// GET /
func plaintext(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contract.TextPlain)
	ctx.SetBodyString(contract.Hello)
}

// end route

// route: json
// GET /json
func jsonMessage(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, contract.HelloMessage())
}

// end route

// route: html
// GET /html
func html(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contract.TextHTML)
	ctx.SetBodyString(contract.HTMLPage)
}

// end route

// route: users
// GET /users/{id}
func user(ctx *fasthttp.RequestCtx) {
	// aspect: path-parameter: ctx.UserValue("id"), which the router sets from {id}
	id, err := contract.ParseUserID(ctx.UserValue("id").(string))
	if err != nil {
		ctx.Error(contract.BadRequest, fasthttp.StatusBadRequest)
		return
	}
	writeJSON(ctx, contract.NewUser(id))
}

// end route

// route: echo
// POST /echo
func echoMessage(ctx *fasthttp.RequestCtx) {
	var message contract.Message
	// aspect: json-body: json.Unmarshal of ctx.PostBody() into contract.Message
	if !contract.IsJSON(string(ctx.Request.Header.ContentType())) || json.Unmarshal(ctx.PostBody(), &message) != nil {
		ctx.Error(contract.BadRequest, fasthttp.StatusBadRequest)
		return
	}
	writeJSON(ctx, message)
}

// end route

// route: error
// GET /error
func serverError(ctx *fasthttp.RequestCtx) {
	internalError(ctx, errors.New("this route always fails"))
}

// end route

// route: not-found
// any other path
func notFound(ctx *fasthttp.RequestCtx) {
	ctx.Error(contract.NotFound, fasthttp.StatusNotFound)
}

// end route

// The database routes run their queries under context.Background() and the deadline of db.go:
// a RequestCtx is a context.Context too, but one that is done only when the server shuts down.

// route: db
// GET /db
func (h *handler) singleQuery(ctx *fasthttp.RequestCtx) {
	world, err := randomWorld(context.Background(), h.db)
	if err != nil {
		databaseError(ctx, err)
		return
	}
	writeJSON(ctx, world)
}

// end route

// route: queries
// GET /queries?q=N
func (h *handler) queries(ctx *fasthttp.RequestCtx) {
	worlds, err := randomWorlds(context.Background(), h.db, queryCount(ctx))
	if err != nil {
		databaseError(ctx, err)
		return
	}
	writeJSON(ctx, worlds)
}

// end route

// route: fortunes
// GET /fortunes
func (h *handler) fortunes(ctx *fasthttp.RequestCtx) {
	rows, err := allFortunes(context.Background(), h.db)
	if err != nil {
		databaseError(ctx, err)
		return
	}
	rows = append(rows, contract.Fortune{ID: 0, Message: contract.ExtraFortune})
	slices.SortFunc(rows, func(a, b contract.Fortune) int { return cmp.Compare(a.Message, b.Message) })
	ctx.SetContentType(contract.TextHTML)
	// aspect: template: quicktemplate: the Go function qtc compiled from templates/fortunes.qtpl writes into the RequestCtx
	templates.WriteFortunesPage(ctx, rows)
}

// end route

// route: updates
// GET /updates?q=N
func (h *handler) updates(ctx *fasthttp.RequestCtx) {
	worlds, err := randomWorlds(context.Background(), h.db, queryCount(ctx))
	if err != nil {
		databaseError(ctx, err)
		return
	}
	for i := range worlds {
		worlds[i].RandomNumber = randomID()
	}
	if err := updateWorlds(context.Background(), h.db, worlds); err != nil {
		databaseError(ctx, err)
		return
	}
	writeJSON(ctx, worlds)
}

// end route

// queryCount is the number of rows asked for by ?q=, read with ctx.QueryArgs().Peek.
func queryCount(ctx *fasthttp.RequestCtx) int {
	return contract.QueryCount(string(ctx.QueryArgs().Peek("q")))
}

func methodNotAllowed(ctx *fasthttp.RequestCtx) {
	// ctx.Error would reset the Allow header that the router has set.
	ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
	ctx.SetContentType(contract.TextPlain)
	ctx.SetBodyString(contract.MethodNotAllowed)
}

// writeJSON writes v as JSON; ctx.Error answers in fasthttp's text/plain, which is the contract's.
func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		internalError(ctx, err)
		return
	}
	ctx.SetContentType(contract.ApplicationJSON)
	ctx.SetBody(body)
}

// aspect: error-500: a function of ours that logs the cause (with ROSETTA_LOG) and calls ctx.Error
func internalError(ctx *fasthttp.RequestCtx, cause error) {
	if contract.Logging {
		log.Printf("500 Internal Server Error: %v", cause)
	}
	ctx.Error(contract.InternalServerError, fasthttp.StatusInternalServerError)
}

// aspect: db-error: a function of ours: no database or no connection in time is a 503 (ctx.Error), a failed query a 500
func databaseError(ctx *fasthttp.RequestCtx, cause error) {
	if !unavailable(cause) {
		internalError(ctx, cause)
		return
	}
	if contract.Logging {
		log.Printf("503 Service Unavailable: %v", cause)
	}
	ctx.Error(contract.ServiceUnavailable, fasthttp.StatusServiceUnavailable)
}

// errorHandler answers a request that fasthttp refused while reading it (the handler never
// saw it); fasthttp closes the connection after it.
func errorHandler(ctx *fasthttp.RequestCtx, err error) {
	var netErr net.Error
	var smallBuffer *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Error(contract.PayloadTooLarge, fasthttp.StatusRequestEntityTooLarge)
	case errors.As(err, &smallBuffer):
		ctx.Error("Request Header Fields Too Large", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.Error("Request Timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error(contract.BadRequest, fasthttp.StatusBadRequest)
	}
}

// framingRules applies what fasthttp leaves to the handler. It reads any "HTTP/x.y" request line
// as one it serves (isHTTPVersion in header.go), so a version other than 1.0 and 1.1 gets 505
// here (RFC 9110, 15.6.6). And it takes Transfer-Encoding: identity for no coding at all
// (RequestHeader.parseHeaders keeps no trace of it but the raw head), where RFC 9112, 6.1 says a
// coding other than a final chunked is a 400 and a close: RequestHeader.AllInOrder, which walks
// the head's lines as they came, shows it.
func framingRules(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		header := &ctx.Request.Header
		if !header.IsHTTP11() && !bytes.Equal(header.Protocol(), http10) {
			// Error resets the answer, Connection: close included: it comes first.
			ctx.Error("HTTP Version Not Supported", fasthttp.StatusHTTPVersionNotSupported)
			ctx.SetConnectionClose()
			return
		}
		for name, value := range header.AllInOrder() {
			if bytes.EqualFold(name, transferEncoding) && !bytes.EqualFold(value, chunked) {
				ctx.Error(contract.BadRequest, fasthttp.StatusBadRequest)
				ctx.SetConnectionClose()
				return
			}
		}
		next(ctx)
	}
}

// The bytes framingRules compares with.
var (
	http10           = []byte("HTTP/1.0")
	transferEncoding = []byte(fasthttp.HeaderTransferEncoding)
	chunked          = []byte("chunked")
)

func errorLog() fasthttp.Logger {
	if contract.Logging {
		return log.Default()
	}
	return log.New(io.Discard, "", 0)
}

// serve answers on ln until ctx is done (SIGINT or SIGTERM), then shuts down gracefully.
func serve(ctx context.Context, srv *fasthttp.Server, ln net.Listener) error {
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
	// aspect: graceful-shutdown: signal.NotifyContext, then Server.ShutdownWithContext within the grace period
	if err := srv.ShutdownWithContext(grace); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
