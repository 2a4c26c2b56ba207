package main

// The database side of the four database routes: the pool, the queries and the row mapping,
// with database/sql and pgx's stdlib driver, as Go's database/sql tutorial writes them. The
// handlers in main.go call these functions and turn their errors into answers.

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver with database/sql
)

// databaseTimeout bounds the database work of one request: waiting for a connection of the
// pool, connecting, and the queries. database/sql has no acquire timeout of its own; a
// context deadline is its way. Past it the answer is a 503, never a hang.
const databaseTimeout = 5 * time.Second

// errNoDatabase is what every query returns when the server was started without a database URL.
var errNoDatabase = errors.New("no database URL was given (--database-url or DATABASE_URL)")

// openDatabase returns the pool of url, or nil without a url. Like sql.Open itself it does not
// connect: the server starts while the database is down, and the first query connects.
func openDatabase(url string, poolSize int) (*sql.DB, error) {
	if url == "" {
		return nil, nil
	}
	// pgx's driver parses the URL here, so a malformed one stops the server at start-up.
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	if poolSize == 0 {
		// database/sql recommends no size: its defaults are no limit on open connections and
		// 2 idle ones, so a burst opens a connection per request and closes all but 2 after
		// it. We take pgxpool's documented default, max(4, runtime.NumCPU()), the size of the
		// other four Go servers' pools.
		poolSize = max(4, runtime.NumCPU())
	}
	db.SetMaxOpenConns(poolSize)
	// As many idle as open: a connection is kept for the next request, not closed and
	// opened again (Go's "Managing connections" guide).
	db.SetMaxIdleConns(poolSize)
	return db, nil
}

// unavailable says whether err means that the database cannot be reached in time (503)
// rather than that a query failed (500).
func unavailable(err error) bool {
	var connect *pgconn.ConnectError
	return errors.Is(err, errNoDatabase) || errors.As(err, &connect) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}

// randomID draws the id of a World row, uniform in 1..WorldRows.
func randomID() int32 {
	return rand.Int32N(contract.WorldRows) + 1
}

// randomWorld reads one random row of World.
func randomWorld(ctx context.Context, db *sql.DB) (contract.World, error) {
	if db == nil {
		return contract.World{}, errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	var world contract.World
	// pgx prepares the statement on each connection once and caches it.
	// aspect: query: DB.QueryRowContext, then Row.Scan into the struct's fields
	err := db.QueryRowContext(ctx, "SELECT id, randomnumber FROM world WHERE id = $1", randomID()).Scan(&world.ID, &world.RandomNumber)
	return world, err
}

// randomWorlds reads n random rows of World, each by its own query, under one deadline.
func randomWorlds(ctx context.Context, db *sql.DB, n int) ([]contract.World, error) {
	if db == nil {
		return nil, errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	worlds := make([]contract.World, n)
	for i := range worlds {
		w := &worlds[i]
		err := db.QueryRowContext(ctx, "SELECT id, randomnumber FROM world WHERE id = $1", randomID()).Scan(&w.ID, &w.RandomNumber)
		if err != nil {
			return nil, err
		}
	}
	return worlds, nil
}

// allFortunes reads every row of Fortune.
func allFortunes(ctx context.Context, db *sql.DB) ([]contract.Fortune, error) {
	if db == nil {
		return nil, errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SELECT id, message FROM fortune")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var fortunes []contract.Fortune
	for rows.Next() {
		var f contract.Fortune
		if err := rows.Scan(&f.ID, &f.Message); err != nil {
			return nil, err
		}
		fortunes = append(fortunes, f)
	}
	return fortunes, rows.Err()
}

// updateWorlds writes the random numbers of worlds back, one UPDATE per row in one
// transaction. It sorts worlds by id first, so that two requests lock rows in the same order
// and cannot deadlock; of a row drawn twice the last one in that order is stored.
func updateWorlds(ctx context.Context, db *sql.DB, worlds []contract.World) error {
	if db == nil {
		return errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	slices.SortStableFunc(worlds, func(a, b contract.World) int { return cmp.Compare(a.ID, b.ID) })
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// A no-op after Commit; after an error it gives the connection back clean.
	defer tx.Rollback()
	for _, w := range worlds {
		if _, err := tx.ExecContext(ctx, "UPDATE world SET randomnumber = $1 WHERE id = $2", w.RandomNumber, w.ID); err != nil {
			return err
		}
	}
	return tx.Commit()
}
