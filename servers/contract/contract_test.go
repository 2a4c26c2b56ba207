package contract

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The clamping table of the Rust contract (contract::QUERY_COUNT_TABLE), which the Go copy of
// the rule must follow too.
func TestQueryCountFollowsTheRustTable(t *testing.T) {
	table := []struct {
		q    string
		rows int
	}{
		{"", 1}, {"foo", 1}, {"0", 1}, {"-5", 1}, {"1", 1}, {"7", 7}, {"20", 20},
		{"500", 500}, {"501", 500}, {"99999999999999999999999", 500}, {"1.5", 1}, {"3x", 1},
	}
	for _, row := range table {
		if got := QueryCount(row.q); got != row.rows {
			t.Errorf("QueryCount(%q) = %d, want %d", row.q, got, row.rows)
		}
	}
}

// caseNamed is the row of the contract called name.
func caseNamed(t *testing.T, name string) Case {
	t.Helper()
	for _, c := range Cases() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %q in data/cases.json", name)
	return Case{}
}

// bodyOf is the body of a row's request: what follows the empty line of its head.
func bodyOf(c Case) []byte {
	_, body, _ := strings.Cut(c.Request, "\r\n\r\n")
	return []byte(body)
}

// The payloads decode and encode as the Rust servers' do, checked against the contract's own
// rows: GET /json, GET /users/{id} at the edges of u32, and the POST /echo bodies.
func TestPayloadsAnswerTheContractRows(t *testing.T) {
	encoded, err := json.Marshal(HelloMessage())
	if err != nil || string(encoded) != caseNamed(t, "json").Body {
		t.Errorf("HelloMessage encodes as %s (%v)", encoded, err)
	}
	for _, name := range []string{"users", "users min id", "users max id", "users id overflows u32", "users id negative", "users id not a number"} {
		c := caseNamed(t, name)
		target := strings.Fields(c.Request)[1]
		id, err := ParseUserID(strings.TrimPrefix(target, "/users/"))
		switch {
		case c.Status == 400 && err == nil:
			t.Errorf("%s: ParseUserID(%q) = %d, want an error", name, target, id)
		case c.Status == 200 && err != nil:
			t.Errorf("%s: ParseUserID(%q): %v", name, target, err)
		case c.Status == 200:
			if body, _ := json.Marshal(NewUser(id)); string(body) != c.Body {
				t.Errorf("%s: %s, want %s", name, body, c.Body)
			}
		}
	}
	for _, name := range []string{"echo", "echo re-serializes", "echo malformed JSON", "echo message not a string", "echo no message"} {
		c := caseNamed(t, name)
		var m Message
		err := json.Unmarshal(bodyOf(c), &m)
		switch {
		case c.Status == 400 && err == nil:
			t.Errorf("%s: decoded %+v, want an error", name, m)
		case c.Status == 200 && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.Status == 200:
			if body, _ := json.Marshal(m); string(body) != c.Body {
				t.Errorf("%s: %s, want %s", name, body, c.Body)
			}
		}
	}
	var m Message
	if err := json.Unmarshal([]byte(`{"msg":"hi"}`), &m); !errors.Is(err, ErrNoMessage) {
		t.Errorf("a body without message: %v, want ErrNoMessage", err)
	}
}

func TestIsJSONReadsTheMediaTypeOnly(t *testing.T) {
	for contentType, want := range map[string]bool{
		"application/json":                true,
		"application/json; charset=utf-8": true,
		" Application/JSON ;charset=x":    true,
		"application/jsonx":               false,
		"text/plain":                      false,
		"":                                false,
	} {
		if got := IsJSON(contentType); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", contentType, got, want)
		}
	}
}

// The limits come from data/, and a broken file stops the server at start-up.
func TestLimitsArePositiveAndABadOneIsRefused(t *testing.T) {
	if MaxHeadBytes <= 0 || MaxBodyBytes <= 0 || MaxQueries != 500 || ShutdownGrace <= 0 {
		t.Errorf("limits: head %d, body %d, queries %d, grace %v", MaxHeadBytes, MaxBodyBytes, MaxQueries, ShutdownGrace)
	}
	if body := caseNamed(t, "echo body over 64 KiB"); body.Status != 413 || len(bodyOf(body)) <= MaxBodyBytes {
		t.Errorf("the over-limit row has %d body bytes and status %d; the limit is %d", len(bodyOf(body)), body.Status, MaxBodyBytes)
	}
	for _, bad := range []string{"", "0", "-3", "12x"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("number(%q) did not refuse it", bad)
				}
			}()
			number(bad)
		}()
	}
}

// The table of cases decodes, names each row once, and finds a deviation only where it is.
func TestTheTableOfCasesAndDeviations(t *testing.T) {
	cases := Cases()
	if len(cases) < 30 {
		t.Fatalf("%d cases", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("two cases named %q", c.Name)
		}
		seen[c.Name] = true
		if !strings.HasPrefix(c.Request, c.Method+" ") || c.Status < 100 || c.Status > 599 {
			t.Errorf("%s: method %q, status %d, request %q", c.Name, c.Method, c.Status, c.Request)
		}
	}
	// Deviations name rows of this table or of the framing corpus, which the Go servers do not
	// replay; each is found under its own server and case.
	for _, d := range deviations() {
		if got, ok := DeviationOf(d.Server, d.Case); !ok || !reflect.DeepEqual(got, d) {
			t.Errorf("DeviationOf(%q, %q) = %+v, %v", d.Server, d.Case, got, ok)
		}
	}
	if _, ok := DeviationOf("no-such-server", "plaintext"); ok {
		t.Error("a deviation of a server that does not exist")
	}
}
