// Command server-go-fasthttprouter is the http-rosetta service on fasthttp with a router: the
// sixth of the Go article's six ways. The article used github.com/buaazp/fasthttprouter; the Go
// module proxy no longer serves it (403), so this server uses its maintained successor,
// github.com/fasthttp/router, with the same radix-tree routing and the same API shape. Its Rust
// counterpart is warp.
//
// Run it: `go run . --addr 127.0.0.1:8096`, then `curl -i http://127.0.0.1:8096/json`.
//
// Layout: main parses the command line, builds the server, binds and serves until a signal;
// newServer holds fasthttp's settings; newRouter is the route table; the handlers follow in
// contract order, then the error handler and the shutdown. Tests are in main_test.go.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fasthttp/router"
	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/valyala/fasthttp"
)

func main() {
	args := contract.ParseArgs("go-fasthttprouter", 8096)
	// Installed before the ready line, so that a signal sent right after it is not lost.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", args.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot bind the address:", err)
		os.Exit(1)
	}
	srv := newServer(args.HeaderTimeout)
	contract.PrintReadyLine(ln.Addr())
	if err := serve(ctx, srv, ln); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

// newServer is the whole service, without a socket: tests serve it on an in-memory listener.
func newServer(headerTimeout time.Duration) *fasthttp.Server {
	return &fasthttp.Server{
		Handler: newRouter().Handler,
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

// newRouter is the route table. The router writes the 405's Allow header itself.
func newRouter() *router.Router {
	r := router.New()
	for _, method := range getOrHead {
		// aspect: routing: router.Router.Handle per method and path, a radix tree like httprouter
		r.Handle(method, "/", plaintext)
		r.Handle(method, "/json", jsonMessage)
		r.Handle(method, "/html", html)
		r.Handle(method, "/users/{id}", user)
		r.Handle(method, "/error", serverError)
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
