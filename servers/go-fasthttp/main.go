// Command server-go-fasthttp is the http-rosetta service on fasthttp (valyala/fasthttp), using
// only fasthttp's API: the fifth of the Go article's six ways. One RequestHandler switches on the
// path; fasthttp reuses a RequestCtx per connection and allocates little per request. Its Rust
// counterparts are tokio (a hand-written server built for speed) and may-minihttp (an engine
// like fasthttp).
//
// Run it: `go run . --addr 127.0.0.1:8095`, then `curl -i http://127.0.0.1:8095/json`.
//
// Layout: main parses the command line, builds the server, binds and serves until a signal;
// newServer holds fasthttp's settings; handler is the switch; the handlers follow in contract
// order, then the error handler and the shutdown. Tests are in main_test.go.
package main

import (
	"bytes"
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

	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/valyala/fasthttp"
)

func main() {
	args := contract.ParseArgs("go-fasthttp", 8095)
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
		Handler: handler,
		// The Server header of every answer.
		Name: "go-fasthttp",
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

// aspect: routing: one RequestHandler with a switch on ctx.Path()
func handler(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch string(path) {
	case "/":
		onlyGet(ctx, plaintext)
	case "/json":
		onlyGet(ctx, jsonMessage)
	case "/html":
		onlyGet(ctx, html)
	case "/echo":
		if ctx.IsPost() {
			echoMessage(ctx)
		} else {
			methodNotAllowed(ctx, "POST")
		}
	case "/error":
		onlyGet(ctx, serverError)
	default:
		// aspect: path-parameter: bytes.CutPrefix on ctx.Path(), then strconv
		if id, ok := bytes.CutPrefix(path, []byte("/users/")); ok && len(id) > 0 && bytes.IndexByte(id, '/') < 0 {
			onlyGet(ctx, func(ctx *fasthttp.RequestCtx) { user(ctx, id) })
		} else {
			notFound(ctx)
		}
	}
}

// onlyGet answers GET (and HEAD, whose body fasthttp leaves out) with h, and other methods 405.
func onlyGet(ctx *fasthttp.RequestCtx, h fasthttp.RequestHandler) {
	if ctx.IsGet() || ctx.IsHead() {
		h(ctx)
	} else {
		methodNotAllowed(ctx, "GET, HEAD")
	}
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
func user(ctx *fasthttp.RequestCtx, id []byte) {
	n, err := contract.ParseUserID(string(id))
	if err != nil {
		ctx.Error(contract.BadRequest, fasthttp.StatusBadRequest)
		return
	}
	writeJSON(ctx, contract.NewUser(n))
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
	// aspect: not-found: the switch's default case
	ctx.Error(contract.NotFound, fasthttp.StatusNotFound)
}

// end route

func methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Error(contract.MethodNotAllowed, fasthttp.StatusMethodNotAllowed)
	ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
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
