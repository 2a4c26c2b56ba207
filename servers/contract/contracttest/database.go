package contracttest

import (
	"os"
	"strings"
	"testing"
)

// DatabaseURLEnv names the database the servers' database tests run against: a PostgreSQL with
// servers/contract/data/database.sql loaded. servers/contract/go-test.sh (what CI and `just
// test-go` run) starts a throwaway one and sets it; `just db` prints one to set by hand.
const DatabaseURLEnv = "ROSETTA_TEST_DATABASE_URL"

// DatabaseURL is the database URL a database test runs against. Without one the test is
// skipped, but under CI=true it fails instead, as the Rust suites' harness::skip does: CI starts
// a database for these tests, so a missing one is a broken CI, never a quiet pass.
func DatabaseURL(t *testing.T) string {
	t.Helper()
	url, fail := lookUpDatabase(os.Getenv)
	switch {
	case url != "":
		return url
	case fail:
		t.Fatalf("CI=true and %s is not set: the database tests must run in CI (servers/contract/go-test.sh starts a throwaway PostgreSQL and sets it)", DatabaseURLEnv)
	default:
		t.Skipf("set %s to a database with servers/contract/data/database.sql (servers/contract/go-test.sh starts one; so does `just db`)", DatabaseURLEnv)
	}
	return ""
}

// lookUpDatabase reads the database URL through getenv, and, when there is none, whether the
// test must fail rather than skip: under CI=true (or 1, any case), as harness::skip::in_ci reads
// the CI variable.
func lookUpDatabase(getenv func(string) string) (url string, fail bool) {
	if url := getenv(DatabaseURLEnv); url != "" {
		return url, false
	}
	ci := getenv("CI")
	return "", strings.EqualFold(ci, "true") || ci == "1"
}
