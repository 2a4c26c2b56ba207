package contracttest

import "testing"

// A database test runs with a URL, is skipped without one, and fails without one under CI=true.
func TestADatabaseTestWithoutADatabaseFailsOnlyInCI(t *testing.T) {
	for _, row := range []struct {
		url, ci  string
		wantFail bool
	}{
		{"postgres://u:p@127.0.0.1:5432/hello_world", "true", false},
		{"postgres://u:p@127.0.0.1:5432/hello_world", "", false},
		{"", "", false},
		{"", "false", false},
		{"", "0", false},
		{"", "true", true},
		{"", "TRUE", true},
		{"", "1", true},
	} {
		env := map[string]string{DatabaseURLEnv: row.url, "CI": row.ci}
		url, fail := lookUpDatabase(func(name string) string { return env[name] })
		if url != row.url || fail != row.wantFail {
			t.Errorf("URL %q, CI=%q: got (%q, fail %v), want (%q, fail %v)", row.url, row.ci, url, fail, row.url, row.wantFail)
		}
	}
}
