package contract

import "testing"

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
