// Command server-go-gin is the http-rosetta service on gin (gin-gonic/gin), on net/http: the
// fourth of the Go article's six ways, whose router makes the mapping of paths to handlers
// clear. It runs in release mode with no logging middleware. Its Rust counterparts are
// actix-web and ntex.
//
// Run it: `go run . --addr 127.0.0.1:8094`, then `curl -i http://127.0.0.1:8094/json`.
//
// Layout: main parses the command line, builds the engine, binds and serves until a signal;
// newApp is the gin.Engine with its routes; the handlers follow in contract order, then the
// middleware (body limit, Server header, errors) and the shutdown. Tests are in main_test.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"
	"github.com/http-rosetta/http-rosetta/servers/contract"
)

func main() {
	args := contract.ParseArgs("go-gin", 8094)
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
		Handler: newApp(),
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
}

// getOrHead: gin routes HEAD only where it is registered, so each GET route takes both.
var getOrHead = []string{http.MethodGet, http.MethodHead}

// newApp is the whole service, without a socket: tests call its ServeHTTP.
func newApp() *gin.Engine {
	// gin.New, not gin.Default: no Logger middleware on the request path. Recovery stays, as
	// gin's docs keep it, so that a panicking handler answers 500.
	r := gin.New()
	r.Use(gin.Recovery(), serverHeader, limitBody, errorHandler)
	// Off by default: without it, a known path with another method is a 404.
	r.HandleMethodNotAllowed = true
	// aspect: routing: Engine.Match and Engine.POST, one line per route
	r.Match(getOrHead, "/", plaintext)
	r.Match(getOrHead, "/json", jsonMessage)
	r.Match(getOrHead, "/html", html)
	r.Match(getOrHead, "/users/:id", user)
	r.POST("/echo", echoMessage)
	r.Match(getOrHead, "/error", serverError)
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

// aspect: error-500: Context.Error in the handler; a middleware writes the 500 after c.Next()
func errorHandler(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 || c.Writer.Written() {
		return
	}
	if contract.Logging {
		log.Printf("500 Internal Server Error: %v", c.Errors.Last())
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
