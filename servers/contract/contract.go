// Package contract is the Go side of the route contract that every http-rosetta server obeys.
//
// It embeds the same files of data/ that the Rust crate in this folder includes with
// include_str!, so the Go servers answer with the very bytes the Rust ones do: the bodies, the
// HTML page, the content types and the limits. It also holds the payload types, the command
// line every server takes (--addr, --threads, --header-timeout), the ready line, and the rows of
// the contract (data/cases.json, written from the Rust contract::cases() by the conformance
// crate's tests) that each Go server's tests replay. Like the Rust crate, it never routes,
// extracts or answers a request: each server does that in its own framework's idiom.
package contract

import (
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The shared bytes, from data/.
var (
	// Hello is the body of GET /.
	//go:embed data/hello.txt
	Hello string
	// HTMLPage is the body of GET /html: one small HTML5 page, the same bytes from every server.
	//go:embed data/page.html
	HTMLPage string

	// TextPlain is the content type of plain text bodies, the error bodies included.
	//go:embed data/text_plain.txt
	TextPlain string
	// ApplicationJSON is the content type of JSON bodies.
	//go:embed data/application_json.txt
	ApplicationJSON string
	// TextHTML is the content type of GET /html.
	//go:embed data/text_html.txt
	TextHTML string

	// BadRequest is the body of a 400.
	//go:embed data/bad_request.txt
	BadRequest string
	// NotFound is the body of a 404.
	//go:embed data/not_found.txt
	NotFound string
	// MethodNotAllowed is the body of a 405.
	//go:embed data/method_not_allowed.txt
	MethodNotAllowed string
	// PayloadTooLarge is the body of a 413.
	//go:embed data/payload_too_large.txt
	PayloadTooLarge string
	// InternalServerError is the body of a 500.
	//go:embed data/internal_server_error.txt
	InternalServerError string

	//go:embed data/max_head_bytes.txt
	maxHeadBytes string
	//go:embed data/max_body_bytes.txt
	maxBodyBytes string
	//go:embed data/shutdown_grace_secs.txt
	shutdownGraceSecs string
	//go:embed data/cases.json
	casesJSON []byte

	// ServiceUnavailable is the body of a 503: a database route of a server without a database.
	//go:embed data/service_unavailable.txt
	ServiceUnavailable string
	// ExtraFortune is the fortune every /fortunes answer adds, with id 0, before sorting.
	//go:embed data/extra_fortune.txt
	ExtraFortune string
	//go:embed data/max_queries.txt
	maxQueries string
)

// The limits, from data/.
var (
	// MaxHeadBytes is the largest request head (request line and headers) a server accepts.
	MaxHeadBytes = number(maxHeadBytes)
	// MaxBodyBytes is the largest request body a server accepts; a larger one is answered 413.
	MaxBodyBytes = number(maxBodyBytes)
	// ShutdownGrace is how long in-flight requests may run after SIGINT or SIGTERM.
	ShutdownGrace = time.Duration(number(shutdownGraceSecs)) * time.Second
	// MaxQueries is the most rows /queries and /updates answer with, however large q is.
	MaxQueries = number(maxQueries)
)

// MaxHeaderLines is the most header lines a request head may have (the Host line included);
// more get 431. It is hyper's default and h1-codec's MAX_HEADERS: net/http caps only the head's
// bytes, so the servers on it count the lines themselves.
const MaxHeaderLines = 100

// LogEnv is the environment variable that turns on logging of each 500's cause (to stderr);
// nothing is logged on the request path by default.
const LogEnv = "ROSETTA_LOG"

// number reads a limit of data/. The files are part of the binary, so a bad one is a broken
// build: it stops the server at start-up, as the Rust crate fails to compile.
func number(text string) int {
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 {
		panic(fmt.Sprintf("a limit in servers/contract/data is not a positive number: %q", text))
	}
	return n
}

// Message is the payload of GET /json and of POST /echo.
type Message struct {
	Message string `json:"message"`
}

// HelloMessage is the message GET /json answers with.
func HelloMessage() Message {
	return Message{Message: Hello}
}

// ErrNoMessage says a JSON object had no "message" string.
var ErrNoMessage = errors.New(`the JSON object has no "message" string`)

// UnmarshalJSON demands the "message" field, as the Rust type does: a body without it is not a
// Message (encoding/json alone would leave the field empty and report no error).
func (m *Message) UnmarshalJSON(data []byte) error {
	var fields struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	if fields.Message == nil {
		return ErrNoMessage
	}
	m.Message = *fields.Message
	return nil
}

// User is the payload of GET /users/{id}.
type User struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

// NewUser is the user GET /users/{id} answers with.
func NewUser(id uint32) User {
	return User{ID: id, Name: "user-" + strconv.FormatUint(uint64(id), 10)}
}

// ParseUserID reads the id of /users/{id}: a decimal u32, as the Rust servers parse it.
func ParseUserID(text string) (uint32, error) {
	id, err := strconv.ParseUint(text, 10, 32)
	return uint32(id), err
}

// World is one row of the World table: the answer of /db, and each element of /queries and
// /updates.
type World struct {
	ID           int32 `json:"id"`
	RandomNumber int32 `json:"randomNumber"`
}

// Fortune is one row of the Fortune table, as /fortunes renders it.
type Fortune struct {
	ID      int32
	Message string
}

// WorldRows is the number of rows of World: ids 1..WorldRows, random numbers 1..WorldRows.
const WorldRows = 10000

// DatabaseURLEnv is the environment variable a server reads its database URL from when
// --database-url is not given.
const DatabaseURLEnv = "DATABASE_URL"

// QueryCount is how many rows /queries?q= and /updates?q= answer with, from the raw value of q,
// as the Rust contract::query_count reads it: a missing, empty or non-numeric q counts as 1, a
// number below 1 as 1, and one above MaxQueries, however many digits it has, as MaxQueries.
func QueryCount(q string) int {
	text := strings.TrimSpace(q)
	digits := strings.TrimPrefix(text, "+")
	// Negative, empty or not a whole number: 1.
	if strings.HasPrefix(text, "-") || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 1
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	switch {
	case err != nil:
		return MaxQueries // too many digits for any integer: still just "above the limit"
	case n < 1:
		return 1
	case n > uint64(MaxQueries):
		return MaxQueries
	}
	return int(n)
}

// IsJSON says whether a Content-Type header names JSON (parameters such as charset allowed).
func IsJSON(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), ApplicationJSON)
}

// Args is the command line every server takes.
type Args struct {
	// Addr is the address to listen on; port 0 picks a free port.
	Addr string
	// Threads is GOMAXPROCS: how many threads run Go code at once.
	Threads int
	// HeaderTimeout is how long a client may take to send a whole request head.
	HeaderTimeout time.Duration
	// DatabaseURL is the PostgreSQL URL of the database routes (--database-url, or
	// DATABASE_URL); empty when there is none, and the database routes answer 503.
	DatabaseURL string
	// PoolSize is the most database connections the pool opens (--pool-size); 0 leaves it to
	// the stack's own default, which each server's README names.
	PoolSize int
}

// ParseArgs reads `server-<name> [--addr HOST:PORT] [--threads N] [--header-timeout D]` and
// applies --threads to GOMAXPROCS. Bad input prints usage and exits 2, as the flag package does.
func ParseArgs(name string, port int) Args {
	flags := flag.NewFlagSet("server-"+name, flag.ExitOnError)
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "The http-rosetta service, written with %s.\n\nUsage: server-%s [--addr HOST:PORT] [--threads N] [--header-timeout DURATION] [--database-url URL] [--pool-size N]\n\n", name, name)
		flags.PrintDefaults()
	}
	var args Args
	flags.StringVar(&args.Addr, "addr", fmt.Sprintf("127.0.0.1:%d", port), "address to listen on; port 0 picks a free port")
	flags.IntVar(&args.Threads, "threads", runtime.NumCPU(), "threads that run Go code at once (GOMAXPROCS) [default: the available cores]")
	flags.DurationVar(&args.HeaderTimeout, "header-timeout", 10*time.Second, "how long a client may take to send a whole request head (slowloris defence)")
	flags.StringVar(&args.DatabaseURL, "database-url", os.Getenv(DatabaseURLEnv), "PostgreSQL URL of the database routes (postgres://user:password@host:port/db) [env: DATABASE_URL]; without one they answer 503")
	flags.IntVar(&args.PoolSize, "pool-size", 0, "most database connections in the pool [default: the stack's own]")
	// ExitOnError: a bad flag has already printed its error and exited.
	_ = flags.Parse(os.Args[1:])
	switch {
	case flags.NArg() > 0:
		fail(flags, "unexpected argument %q", flags.Arg(0))
	case args.Threads < 1:
		fail(flags, "--threads must be at least 1")
	case args.HeaderTimeout <= 0:
		fail(flags, "--header-timeout must be longer than zero")
	case args.PoolSize < 0:
		fail(flags, "--pool-size must not be negative")
	}
	runtime.GOMAXPROCS(args.Threads)
	return args
}

func fail(flags *flag.FlagSet, format string, values ...any) {
	fmt.Fprintf(flags.Output(), "error: "+format+"\n", values...)
	flags.Usage()
	os.Exit(2)
}

// PrintReadyLine prints the line harnesses wait for, `listening on http://<addr>`, with the real
// port when port 0 was asked for.
func PrintReadyLine(addr net.Addr) {
	// A closed stdout must not stop the server: the line is for whoever is watching.
	_, _ = fmt.Fprintf(os.Stdout, "listening on http://%s\n", addr)
}

// Logging says whether ROSETTA_LOG asks for the cause of each 500 on stderr.
var Logging = os.Getenv(LogEnv) != "" && os.Getenv(LogEnv) != "0"

// Case is one row of the contract: the request's exact bytes and the answer it must get.
type Case struct {
	Name string `json:"name"`
	// Method is the request's method; a HEAD answer has no body.
	Method string `json:"method"`
	// Request is the request as a client sends it, byte for byte (Host lines, chunked bodies).
	Request string `json:"request"`
	// Status, ContentType and Body are what the answer must carry; Body is empty for HEAD.
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	// ContentLength differs from len(Body) only for HEAD.
	ContentLength int `json:"content_length"`
	// Allow is the Allow header a 405 must carry, or "".
	Allow string `json:"allow"`
	// Hosts is how many Host lines the request carries (RFC 9112, 3.2: one, else a 400).
	Hosts int `json:"hosts"`
	// Chunked says the body is sent with Transfer-Encoding: chunked.
	Chunked bool `json:"chunked"`
}

// Deviation is a row a stack answers its own way before a server's code runs (see
// docs/safety.md, "Known deviations"). Its pin is exact: the tests demand this answer and no
// other, so a regression fails, and so does a fix, until the row goes.
type Deviation struct {
	Server string `json:"server"`
	Case   string `json:"case"`
	// Status is what it answers instead, unless it Closes.
	Status int `json:"status"`
	// Differs names every part of the answer that differs from the row's, as Check names them.
	Differs []string `json:"differs"`
	// Closes says it cannot answer the row: it closes the connection at once.
	Closes bool `json:"closes"`
}

type table struct {
	Cases      []Case      `json:"cases"`
	Deviations []Deviation `json:"deviations"`
	// ClosesAfterChunked names the servers that close the connection after every request with a
	// chunked body (net/http hides whether a Content-Length came with the chunks).
	ClosesAfterChunked []string `json:"closes_after_chunked"`
}

// Cases returns every row of the contract, in contract order.
func Cases() []Case {
	return readTable().Cases
}

// deviations is the table's deviations, decoded once: a server's test asks for each case.
var deviations = sync.OnceValue(func() []Deviation { return readTable().Deviations })

// ClosesAfterChunked says whether server closes the connection after every request with a
// chunked body, a known deviation (net/http hides whether a Content-Length came with the chunks).
func ClosesAfterChunked(server string) bool {
	return slices.Contains(readTable().ClosesAfterChunked, server)
}

// DeviationOf returns the known deviation of server on the case called name, if there is one.
func DeviationOf(server, name string) (Deviation, bool) {
	for _, d := range deviations() {
		if d.Server == server && d.Case == name {
			return d, true
		}
	}
	return Deviation{}, false
}

func readTable() table {
	var t table
	if err := json.Unmarshal(casesJSON, &t); err != nil {
		panic("servers/contract/data/cases.json is not the table of cases: " + err.Error())
	}
	return t
}
