// Package contracttest replays the rows of the route contract against a Go server, as
// net/http/httptest serves a handler for tests: each server's main_test.go starts its app the
// way its framework's tests do (httptest.NewServer, fasthttputil.NewInmemoryListener) and hands
// Run a way to open a connection. The requests are the exact bytes of data/cases.json (Host
// lines, chunked bodies, absolute-form targets), so the server's own HTTP parser sees them.
package contracttest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/http-rosetta/http-rosetta/servers/contract"
)

// Dial opens a new connection to the server under test.
type Dial func() (net.Conn, error)

// Run checks every row of the contract on a connection of its own, then every row that keeps
// a connection open on one connection, pipelined in one write. A row the server's stack answers
// its own way (contract.DeviationOf) must deviate exactly as pinned, so a regression fails, and
// so does a fix, which says to drop the deviation.
func Run(t *testing.T, server string, dial Dial) {
	t.Helper()
	closesAfterChunked := contract.ClosesAfterChunked(server)
	for _, c := range contract.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			conn := connect(t, dial)
			if _, err := io.WriteString(conn, c.Request); err != nil {
				t.Fatalf("send: %v", err)
			}
			reader := bufio.NewReader(conn)
			answer, err := read(reader, c)
			d, deviates := contract.DeviationOf(server, c.Name)
			switch {
			case deviates && d.Closes && err == nil:
				t.Fatalf("the known deviation is gone (answered %d): drop it from contract::DEVIATIONS and the README", answer.res.StatusCode)
			case deviates && d.Closes && isTimeout(err):
				t.Fatalf("the known deviation closes the connection, but it neither answered nor closed: %v", err)
			case deviates && d.Closes:
				return
			case err != nil:
				t.Fatalf("no answer: %v", err)
			}
			expect(t, server, c, answer)
			if c.Chunked && closesAfterChunked {
				// Pinned: the answer says Connection: close, and the connection closes.
				if _, err := reader.ReadByte(); !answer.res.Close || err != io.EOF {
					t.Errorf("the known deviation ClosesAfterChunkedBody is gone (Close %v, then %v): drop it", answer.res.Close, err)
				}
			}
		})
	}
	t.Run("pipelined on one connection", func(t *testing.T) {
		var kept []contract.Case
		var batch strings.Builder
		for _, c := range contract.Cases() {
			// A refused body or a Host line against RFC 9112 may end a connection, and so does a
			// chunked body on a server that closes after one (checked above).
			if c.Status != http.StatusRequestEntityTooLarge && c.Hosts == 1 && !(c.Chunked && closesAfterChunked) {
				kept = append(kept, c)
				batch.WriteString(c.Request)
			}
		}
		conn := connect(t, dial)
		if _, err := io.WriteString(conn, batch.String()); err != nil {
			t.Fatalf("send: %v", err)
		}
		reader := bufio.NewReader(conn)
		for _, c := range kept {
			answer, err := read(reader, c)
			if err != nil {
				t.Fatalf("%s: no answer: %v", c.Name, err)
			}
			expect(t, server, c, answer)
		}
	})
}

func connect(t *testing.T, dial Dial) net.Conn {
	t.Helper()
	conn, err := dial()
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	// A server that never answers fails the test instead of hanging it.
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	return conn
}

type answer struct {
	res  *http.Response
	body []byte
}

func read(reader *bufio.Reader, c contract.Case) (answer, error) {
	// The request tells ReadResponse whether a body follows (none after HEAD).
	res, err := http.ReadResponse(reader, &http.Request{Method: c.Method})
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return answer{res, body}, err
}

// isTimeout says whether err is the client's deadline passing, not the server closing.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// expect fails t unless the answer is the row's, or, for a known deviation, unless it deviates
// exactly as pinned: the same status and the same parts differing.
func expect(t *testing.T, server string, c contract.Case, a answer) {
	t.Helper()
	mismatches := Check(server, c, a.res, a.body)
	d, deviates := contract.DeviationOf(server, c.Name)
	var differs []string
	for _, m := range mismatches {
		differs = append(differs, m.Part)
	}
	switch {
	case !deviates && len(mismatches) > 0:
		t.Errorf("%s: %s", c.Name, joined(mismatches))
	case deviates && len(mismatches) == 0:
		t.Errorf("%s: the known deviation is gone: drop it from contract::DEVIATIONS and the README", c.Name)
	case deviates && (d.Closes || a.res.StatusCode != d.Status || !slices.Equal(differs, d.Differs)):
		t.Errorf("%s: not the known deviation (status %d, %q differing, closes %v): answered %d with %q differing: %s",
			c.Name, d.Status, d.Differs, d.Closes, a.res.StatusCode, differs, joined(mismatches))
	}
}

// Mismatch is one way an answer differs from the row: the part (status, content-type,
// content-length, server, body, allow, date) and what was wanted and got.
type Mismatch struct {
	Part    string
	Message string
}

func joined(mismatches []Mismatch) string {
	var messages []string
	for _, m := range mismatches {
		messages = append(messages, m.Part+": "+m.Message)
	}
	return strings.Join(messages, "; ")
}

// Check lists every way an answer differs from the row, in this order: status, Content-Type,
// Content-Length, the Server header naming server, body, Allow (as a set of methods) and a
// current Date (the order and the names of the Rust conformance::check).
func Check(server string, c contract.Case, res *http.Response, body []byte) []Mismatch {
	var mismatches []Mismatch
	want := func(what, want, got string) {
		if want != got {
			mismatches = append(mismatches, Mismatch{what, "want " + short(want) + ", got " + short(got)})
		}
	}
	want("status", strconv.Itoa(c.Status), strconv.Itoa(res.StatusCode))
	want("content-type", c.ContentType, res.Header.Get("Content-Type"))
	want("content-length", strconv.Itoa(c.ContentLength), res.Header.Get("Content-Length"))
	want("server", server, res.Header.Get("Server"))
	if !bytes.Equal(body, []byte(c.Body)) {
		want("body", c.Body, string(body))
	}
	if c.Allow != "" {
		want("allow", methods(c.Allow), methods(res.Header.Get("Allow")))
	}
	date, err := http.ParseTime(res.Header.Get("Date"))
	if err != nil || time.Since(date).Abs() > 5*time.Second {
		want("date", "an IMF-fixdate within 5 s of now", res.Header.Get("Date"))
	}
	return mismatches
}

// short quotes text for a message, cut to its first 120 bytes.
func short(text string) string {
	if len(text) > 120 {
		return strconv.Quote(text[:120]) + "…"
	}
	return strconv.Quote(text)
}

func methods(allow string) string {
	var list []string
	for _, m := range strings.Split(allow, ",") {
		list = append(list, strings.ToUpper(strings.TrimSpace(m)))
	}
	slices.Sort(list)
	return strings.Join(list, ", ")
}
