package main

// The database side of the four database routes: the pool, the queries and the row mapping,
// with pgx and its pool, pgxpool, as pgx's documentation writes them. The handlers in main.go
// call these functions and turn their errors into answers.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/http-rosetta/http-rosetta/servers/contract"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// databaseTimeout bounds the database work of one request: waiting for a connection of the
// pool, connecting, and the queries. pgxpool has no acquire timeout of its own; a context
// deadline is its way. Past it the answer is a 503, never a hang.
const databaseTimeout = 5 * time.Second

// errNoDatabase is what every query returns when the server was started without a database URL.
var errNoDatabase = errors.New("no database URL was given (--database-url or DATABASE_URL)")

// openPool returns the pool of url, or nil without a url. The pool does not connect until the
// first query asks it to (pgxpool's docs), so the server starts while the database is down.
func openPool(url string, poolSize int) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, nil
	}
	// A malformed URL stops the server at start-up.
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	// Without --pool-size, MaxConns stays pgxpool's documented default: max(4, runtime.NumCPU()),
	// or pool_max_conns from the URL.
	if poolSize > math.MaxInt32 {
		return nil, fmt.Errorf("--pool-size %d is more than a pool can hold", poolSize)
	}
	if poolSize > 0 {
		config.MaxConns = int32(poolSize)
	}
	return pgxpool.NewWithConfig(context.Background(), config)
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
func randomWorld(ctx context.Context, pool *pgxpool.Pool) (contract.World, error) {
	if pool == nil {
		return contract.World{}, errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	var world contract.World
	// pgx prepares the statement on each connection once and caches it.
	// aspect: query: Pool.QueryRow, then Row.Scan into the struct's fields
	err := pool.QueryRow(ctx, "SELECT id, randomnumber FROM world WHERE id = $1", randomID()).Scan(&world.ID, &world.RandomNumber)
	return world, err
}

// randomWorlds reads n random rows of World, each by its own query, under one deadline.
func randomWorlds(ctx context.Context, pool *pgxpool.Pool, n int) ([]contract.World, error) {
	if pool == nil {
		return nil, errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	worlds := make([]contract.World, n)
	for i := range worlds {
		w := &worlds[i]
		err := pool.QueryRow(ctx, "SELECT id, randomnumber FROM world WHERE id = $1", randomID()).Scan(&w.ID, &w.RandomNumber)
		if err != nil {
			return nil, err
		}
	}
	return worlds, nil
}

// allFortunes reads every row of Fortune.
func allFortunes(ctx context.Context, pool *pgxpool.Pool) ([]contract.Fortune, error) {
	if pool == nil {
		return nil, errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	// A failed Query is reported by CollectRows, as pgx's docs write it.
	rows, _ := pool.Query(ctx, "SELECT id, message FROM fortune")
	return pgx.CollectRows(rows, pgx.RowToStructByPos[contract.Fortune])
}

// updateWorlds writes the random numbers of worlds back: one UPDATE per row, all of them sent
// in one pgx.Batch (one round trip, one implicit transaction). It sorts worlds by id first, so
// that two requests lock rows in the same order and cannot deadlock; of a row drawn twice the
// last one in that order is stored.
func updateWorlds(ctx context.Context, pool *pgxpool.Pool, worlds []contract.World) error {
	if pool == nil {
		return errNoDatabase
	}
	ctx, cancel := context.WithTimeout(ctx, databaseTimeout)
	defer cancel()
	slices.SortStableFunc(worlds, func(a, b contract.World) int { return cmp.Compare(a.ID, b.ID) })
	batch := &pgx.Batch{}
	for _, w := range worlds {
		batch.Queue("UPDATE world SET randomnumber = $1 WHERE id = $2", w.RandomNumber, w.ID)
	}
	return pool.SendBatch(ctx, batch).Close()
}
