//! The database routes checked against a running server and the PostgreSQL behind it.
//!
//! Their answers are random rows, so they are not compared byte for byte as the other rows of
//! the contract are: each check reads the database behind the server's back and compares what
//! it finds, as TechEmpower's verifier does.
//! - `/db`: one `World` row, the table's own;
//! - `/queries?q=`: the clamping table [`contract::QUERY_COUNT_TABLE`], each row the table's;
//! - `/fortunes`: parsed as HTML: every row of `Fortune` and the one added at request time,
//!   sorted by message, the script escaped, the Japanese row intact;
//! - `/updates?q=`: the rows answered are the rows stored afterwards;
//! - the queries counted by `pg_stat_statements`: `q=20` makes at least 20 SELECTs, and
//!   `/updates?q=20` updates at least 20 rows;
//! - without a database: 503 with [`contract::SERVICE_UNAVAILABLE`] on all four.
//!
//! Every check returns the mismatches it found, empty when the server conforms.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use contract::{Fortune, World};
use scraper::{Html, Selector};

use harness::postgres::{Postgres, PostgresError};
use harness::{RawClient, RawResponse, ServerProcess, server_binary};

use crate::CheckError;

/// How long one answer may take: `/updates?q=500` writes 500 rows through a small pool.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `GET path` on a new connection, and its answer.
pub fn get(addr: SocketAddr, path: &str) -> Result<RawResponse, CheckError> {
    let mut client = RawClient::connect(addr, TIMEOUT).map_err(|source| CheckError::Io {
        what: format!("GET {path}: connect"),
        source,
    })?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: rosetta\r\nConnection: close\r\n\r\n");
    client
        .send(request.as_bytes())
        .and_then(|()| client.read_response(false))
        .map_err(|source| CheckError::Io {
            what: format!("GET {path}: no answer"),
            source,
        })
}

/// The status, `Content-Type`, `Server` and `Date` every answer of these routes has.
fn headers_match(
    path: &str,
    server: &str,
    response: &RawResponse,
    status: u16,
    content_type: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    if response.status != status {
        problems.push(format!(
            "GET {path}: status {} (want {status}), body {:?}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
        return problems;
    }
    if response.header("content-type") != Some(content_type) {
        problems.push(format!(
            "GET {path}: Content-Type {:?} (want {content_type:?})",
            response.header("content-type")
        ));
    }
    // A stack that fixes its own `Server` header (may_minihttp's `M`) answers with that one.
    let want = crate::deviations::server_header(server);
    if response.header("server") != Some(want) {
        problems.push(format!(
            "GET {path}: Server {:?} (want {want:?})",
            response.header("server")
        ));
    }
    if response
        .header("date")
        .is_none_or(|d| httpdate::parse_http_date(d).is_err())
    {
        problems.push(format!(
            "GET {path}: no valid Date ({:?})",
            response.header("date")
        ));
    }
    problems
}

/// The `World` rows of a JSON body: one object (`single`) or an array of them.
fn worlds(path: &str, body: &[u8], single: bool) -> Result<Vec<World>, CheckError> {
    let want = if single {
        "one World row"
    } else {
        "an array of World rows"
    };
    let not_json = |source| CheckError::Json {
        path: path.to_owned(),
        want,
        source,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let rows = if single {
        serde_json::from_slice::<World>(body).map(|w| vec![w])
    } else {
        serde_json::from_slice::<Vec<World>>(body)
    }
    .map_err(not_json)?;
    // Exactly the two keys, spelled as TechEmpower spells them.
    let value: serde_json::Value = serde_json::from_slice(body).map_err(not_json)?;
    let objects: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for object in objects {
        let keys: Vec<String> = object
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let has = |key: &str| keys.iter().any(|k| k == key);
        if keys.len() != 2 || !has("id") || !has("randomNumber") {
            return Err(CheckError::Keys {
                path: path.to_owned(),
                keys,
            });
        }
    }
    Ok(rows)
}

/// Each row is in range and is the table's row as it is now.
fn rows_are_the_tables(path: &str, rows: &[World], admin: &mut postgres::Client) -> Vec<String> {
    let mut problems = Vec::new();
    let n = contract::WORLD_ROWS;
    for row in rows {
        if !(1..=n).contains(&row.id) || !(1..=n).contains(&row.random_number) {
            problems.push(format!("GET {path}: row {row:?} is out of 1..={n}"));
            continue;
        }
        match admin.query_one("SELECT randomnumber FROM world WHERE id = $1", &[&row.id]) {
            Ok(stored) if stored.get::<_, i32>(0) == row.random_number => {}
            Ok(stored) => problems.push(format!(
                "GET {path}: row {} says randomNumber {}, the table says {}",
                row.id,
                row.random_number,
                stored.get::<_, i32>(0)
            )),
            Err(err) => problems.push(format!("reading row {} back: {err}", row.id)),
        }
    }
    problems
}

/// `/db`: one row, the table's own.
pub fn check_db(server: &str, addr: SocketAddr, admin: &mut postgres::Client) -> Vec<String> {
    let response = match get(addr, "/db") {
        Ok(response) => response,
        Err(err) => return vec![err.to_string()],
    };
    let mut problems = headers_match("/db", server, &response, 200, contract::APPLICATION_JSON);
    if !problems.is_empty() {
        return problems;
    }
    match worlds("/db", &response.body, true) {
        Ok(rows) => problems.extend(rows_are_the_tables("/db", &rows, admin)),
        Err(err) => problems.push(err.to_string()),
    }
    problems
}

/// The path of `route` with `q` as [`contract::QUERY_COUNT_TABLE`] gives it: no `q` at all,
/// or `q=` with the value as it is (the table's values need no escaping).
fn with_q(route: &str, q: Option<&str>) -> String {
    match q {
        None => route.to_owned(),
        Some(value) => format!("{route}?q={value}"),
    }
}

/// `/queries`: every row of the clamping table answers with that many rows, each the table's.
pub fn check_queries(server: &str, addr: SocketAddr, admin: &mut postgres::Client) -> Vec<String> {
    let mut problems = Vec::new();
    for (q, count) in contract::QUERY_COUNT_TABLE {
        let path = with_q("/queries", *q);
        let response = match get(addr, &path) {
            Ok(response) => response,
            Err(err) => {
                problems.push(err.to_string());
                continue;
            }
        };
        let headers = headers_match(&path, server, &response, 200, contract::APPLICATION_JSON);
        if !headers.is_empty() {
            problems.extend(headers);
            continue;
        }
        match worlds(&path, &response.body, false) {
            Ok(rows) if rows.len() != *count => {
                problems.push(format!("GET {path}: {} rows (want {count})", rows.len()));
            }
            // Reading 500 rows back one by one is slow and proves nothing the short ones do not.
            Ok(rows) => problems.extend(rows_are_the_tables(
                &path,
                &rows[..rows.len().min(20)],
                admin,
            )),
            Err(err) => problems.push(err.to_string()),
        }
    }
    problems
}

/// What `/fortunes` must list, in order: every row of `Fortune` and [`Fortune::extra`], sorted
/// by message.
pub fn expected_fortunes(admin: &mut postgres::Client) -> Result<Vec<Fortune>, CheckError> {
    let mut fortunes: Vec<Fortune> = admin
        .query("SELECT id, message FROM fortune", &[])
        .map_err(|source| CheckError::Database {
            what: "reading Fortune",
            source,
        })?
        .iter()
        .map(|row| Fortune {
            id: row.get(0),
            message: row.get(1),
        })
        .collect();
    fortunes.push(Fortune::extra());
    fortunes.sort_by(|a, b| a.message.cmp(&b.message));
    Ok(fortunes)
}

/// The rows of the first table of an HTML page, each row's cells as text (entities decoded),
/// header rows (`th`) left out; and the page's title.
pub fn fortune_table(html: &str) -> (Option<String>, Vec<Vec<String>>) {
    let document = Html::parse_document(html);
    // Constant selectors: their parse is checked by this module's test.
    let selector = |css: &str| Selector::parse(css).expect("a valid constant selector");
    let title = document
        .select(&selector("title"))
        .next()
        .map(|t| t.text().collect::<String>());
    let td = selector("td");
    let rows = document
        .select(&selector("table tr"))
        .map(|tr| {
            tr.select(&td)
                .map(|cell| cell.text().collect::<String>())
                .collect::<Vec<_>>()
        })
        .filter(|cells| !cells.is_empty())
        .collect();
    (title, rows)
}

/// `/fortunes`: HTML with every fortune and the added one, sorted, escaped, UTF-8 intact.
pub fn check_fortunes(server: &str, addr: SocketAddr, admin: &mut postgres::Client) -> Vec<String> {
    let response = match get(addr, "/fortunes") {
        Ok(response) => response,
        Err(err) => return vec![err.to_string()],
    };
    let mut problems = headers_match("/fortunes", server, &response, 200, contract::TEXT_HTML);
    if !problems.is_empty() {
        return problems;
    }
    let Ok(html) = String::from_utf8(response.body.clone()) else {
        return vec!["GET /fortunes: the body is not UTF-8".to_owned()];
    };
    // The script row must arrive escaped: its tag never appears as markup.
    if html.contains("<script") {
        problems.push("GET /fortunes: <script> reached the page unescaped".to_owned());
    }
    if !html.to_ascii_lowercase().starts_with("<!doctype html>") {
        problems.push("GET /fortunes: the page does not start with <!DOCTYPE html>".to_owned());
    }
    let expected = match expected_fortunes(admin) {
        Ok(expected) => expected,
        Err(err) => return vec![err.to_string()],
    };
    let (title, rows) = fortune_table(&html);
    if title.as_deref() != Some("Fortunes") {
        problems.push(format!(
            "GET /fortunes: title {title:?} (want \"Fortunes\")"
        ));
    }
    let want: Vec<Vec<String>> = expected
        .iter()
        .map(|f| vec![f.id.to_string(), f.message.clone()])
        .collect();
    if rows != want {
        problems.push(format!(
            "GET /fortunes: the table's rows are\n  {rows:?}\nwant\n  {want:?}"
        ));
    }
    problems
}

/// `/updates`: the clamped row counts, and the rows answered are the rows stored afterwards.
pub fn check_updates(server: &str, addr: SocketAddr, admin: &mut postgres::Client) -> Vec<String> {
    let mut problems = Vec::new();
    for (q, count) in [
        (Some("20"), 20),
        (None, 1),
        (Some("foo"), 1),
        (Some("0"), 1),
        (Some("501"), 500),
    ] {
        let path = with_q("/updates", q);
        let response = match get(addr, &path) {
            Ok(response) => response,
            Err(err) => {
                problems.push(err.to_string());
                continue;
            }
        };
        let headers = headers_match(&path, server, &response, 200, contract::APPLICATION_JSON);
        if !headers.is_empty() {
            problems.extend(headers);
            continue;
        }
        match worlds(&path, &response.body, false) {
            Ok(rows) if rows.len() != count => {
                problems.push(format!("GET {path}: {} rows (want {count})", rows.len()));
            }
            Ok(rows) => {
                // The same id may be drawn twice: then the last write of it is the one stored.
                let mut last = std::collections::HashMap::new();
                for row in &rows {
                    last.insert(row.id, *row);
                }
                let mut stored: Vec<World> = last.into_values().collect();
                stored.sort_by_key(|w| w.id);
                problems.extend(rows_are_the_tables(
                    &path,
                    &stored[..stored.len().min(40)],
                    admin,
                ));
            }
            Err(err) => problems.push(err.to_string()),
        }
    }
    problems
}

/// The statements `pg_stat_statements` counted since the last reset that name `table`: calls
/// of SELECTs, and rows of UPDATEs (TechEmpower's verifier counts both).
fn counted(admin: &mut postgres::Client, table: &str) -> Result<(i64, i64), CheckError> {
    let row = admin
        .query_one(
            "SELECT coalesce(sum(calls) FILTER (WHERE query ~* 'select'), 0)::bigint,
                    coalesce(sum(rows) FILTER (WHERE query ~* 'update'), 0)::bigint
             FROM pg_stat_statements WHERE query ~* ('[[:punct:][:space:]]' || $1 || '([[:punct:][:space:]]|$)')",
            &[&table],
        )
        .map_err(|source| CheckError::Database {
            what: "reading pg_stat_statements",
            source,
        })?;
    Ok((row.get(0), row.get(1)))
}

fn reset_counts(admin: &mut postgres::Client) -> Result<(), CheckError> {
    admin
        .execute("SELECT pg_stat_statements_reset()", &[])
        .map(drop)
        .map_err(|source| CheckError::Database {
            what: "resetting pg_stat_statements",
            source,
        })
}

/// The queries really run, as `pg_stat_statements` counts them: `/queries?q=20` makes at least
/// 20 SELECTs of World, `/updates?q=20` at least 20 SELECTs and updates at least 20 rows, and
/// `/fortunes` at least one SELECT of Fortune.
pub fn check_query_counts(addr: SocketAddr, admin: &mut postgres::Client) -> Vec<String> {
    let mut problems = Vec::new();
    let mut measure = |path: &'static str,
                       table: &'static str,
                       min_selects: i64,
                       min_updated: i64|
     -> Result<(), CheckError> {
        reset_counts(admin)?;
        let response = get(addr, path)?;
        if response.status != 200 {
            return Err(CheckError::Status {
                path: path.to_owned(),
                status: response.status,
                want: 200,
            });
        }
        let (selects, updated) = counted(admin, table)?;
        if selects < min_selects || updated < min_updated {
            return Err(CheckError::TooFewQueries {
                path,
                table,
                selects,
                updated,
                min_selects,
                min_updated,
            });
        }
        Ok(())
    };
    for (path, table, selects, updated) in [
        ("/db", "world", 1, 0),
        ("/queries?q=20", "world", 20, 0),
        ("/updates?q=20", "world", 20, 20),
        ("/fortunes", "fortune", 1, 0),
    ] {
        if let Err(err) = measure(path, table, selects, updated) {
            problems.push(err.to_string());
        }
    }
    problems
}

/// All of the above against a server started with `postgres`'s URL.
pub fn check_database_routes(server: &str, addr: SocketAddr, postgres: &Postgres) -> Vec<String> {
    let mut admin = match postgres.admin() {
        Ok(admin) => admin,
        Err(err) => return vec![err.to_string()],
    };
    let mut problems = check_db(server, addr, &mut admin);
    problems.extend(check_queries(server, addr, &mut admin));
    problems.extend(check_fortunes(server, addr, &mut admin));
    problems.extend(check_updates(server, addr, &mut admin));
    problems.extend(check_query_counts(addr, &mut admin));
    problems
}

/// A server started without a database: the four routes answer 503 with the contract's body,
/// and the hello-world routes still answer.
pub fn check_without_database(server: &str, addr: SocketAddr) -> Vec<String> {
    let mut problems = Vec::new();
    for route in contract::DATABASE_ROUTES {
        match get(addr, route.path) {
            Ok(response) => {
                problems.extend(headers_match(
                    route.path,
                    server,
                    &response,
                    503,
                    contract::TEXT_PLAIN,
                ));
                if response.status == 503
                    && response.body != contract::SERVICE_UNAVAILABLE.as_bytes()
                {
                    problems.push(format!(
                        "GET {}: body {:?} (want {:?})",
                        route.path,
                        String::from_utf8_lossy(&response.body),
                        contract::SERVICE_UNAVAILABLE
                    ));
                }
            }
            Err(err) => problems.push(err.to_string()),
        }
    }
    problems.extend(json_still_answers(addr, "without a database"));
    problems
}

/// `/json` answers 200 while the database is `state`: `None`, or what went wrong.
fn json_still_answers(addr: SocketAddr, state: &str) -> Option<String> {
    match get(addr, "/json") {
        Ok(response) if response.status == 200 => None,
        Ok(response) => Some(format!("GET /json {state}: status {}", response.status)),
        Err(err) => Some(err.to_string()),
    }
}

/// A database URL where nothing listens (port 1 on loopback): every connection attempt is
/// refused at once.
pub const REFUSED_DATABASE_URL: &str = "postgres://benchmarkdbuser:x@127.0.0.1:1/hello_world";

/// How long a database route may take to answer 503 while the database refuses connections: the
/// pools wait a few seconds at most (each server's README names its timeout), plus a margin for
/// a two-core machine.
pub const UNAVAILABLE_WITHIN: Duration = Duration::from_secs(10);

/// A server started with [`REFUSED_DATABASE_URL`]: it started at all (no server waits for its
/// database), each of the four routes answers 503 within [`UNAVAILABLE_WITHIN`], and `/json`
/// still answers 200.
pub fn check_database_refused(server: &str, addr: SocketAddr) -> Vec<String> {
    // The four at once: each waits its pool's timeout, and the suite's time is CI's.
    let answers: Vec<_> = std::thread::scope(|scope| {
        let asked: Vec<_> = contract::DATABASE_ROUTES
            .iter()
            .map(|route| {
                scope.spawn(move || {
                    let started = Instant::now();
                    (route.path, get(addr, route.path), started.elapsed())
                })
            })
            .collect();
        asked.into_iter().filter_map(|t| t.join().ok()).collect()
    });
    let mut problems = Vec::new();
    if answers.len() < contract::DATABASE_ROUTES.len() {
        problems.push(format!("{server}: a request thread panicked"));
    }
    for (path, answer, took) in answers {
        match answer {
            Ok(response) if response.status == 503 && took <= UNAVAILABLE_WITHIN => {}
            Ok(response) => problems.push(format!(
                "GET {path} with the database refusing connections: status {} after {took:?} \
                 (want 503 within {UNAVAILABLE_WITHIN:?})",
                response.status
            )),
            Err(err) => problems.push(format!("{err} after {took:?}")),
        }
    }
    problems.extend(json_still_answers(
        addr,
        "with the database refusing connections",
    ));
    problems
}

/// A started throwaway cluster for the test `test`, or `None` when PostgreSQL is not installed
/// (the one reason to skip, reported by `harness::skip`: a failure under `CI=true`). Any other
/// failure to start it is an error.
pub fn cluster_or_skip(test: &str) -> Result<Option<Postgres>, PostgresError> {
    match Postgres::start() {
        Ok(postgres) => Ok(Some(postgres)),
        Err(PostgresError::NotInstalled) => {
            harness::skip::skip(
                test,
                harness::skip::Missing::PostgreSql,
                PostgresError::NotInstalled,
            );
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// The servers a database test runs against: [`harness::servers_to_test`], which
/// `ROSETTA_SERVERS=axum,hyper` narrows (for working on one of them).
pub fn servers_under_test() -> Vec<&'static contract::ServerInfo> {
    harness::servers_to_test("the database routes")
}

/// Starts server `name` on port 0 with two threads, and `--database-url` when given.
pub fn start_server(name: &str, database_url: Option<&str>) -> Result<ServerProcess, CheckError> {
    let binary = server_binary(name)?;
    let mut args: Vec<String> = ["--addr", "127.0.0.1:0", "--threads", "2"]
        .map(str::to_owned)
        .into();
    if let Some(url) = database_url {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    Ok(ServerProcess::spawn(
        name,
        &binary,
        &args,
        &[],
        Duration::from_secs(20),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fortunes_page_reads_as_its_title_and_rows_with_entities_decoded() {
        let page = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>\
                    <tr><th>id</th><th>message</th></tr>\
                    <tr><td>11</td><td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td></tr>\
                    <tr><td>12</td><td>フレームワークのベンチマーク</td></tr>\
                    </table></body></html>";
        let (title, rows) = fortune_table(page);
        assert_eq!(title.as_deref(), Some("Fortunes"));
        assert_eq!(
            rows,
            [
                ["11", "<script>alert(\"x\")</script>"],
                ["12", "フレームワークのベンチマーク"],
            ]
            .map(|r| r.map(str::to_owned).to_vec())
        );
    }

    #[test]
    fn a_row_with_other_keys_than_techempowers_is_refused() {
        let ok = worlds("/db", br#"{"id":1,"randomNumber":2}"#, true).expect("one row");
        assert_eq!(ok.len(), 1);
        let err = worlds("/db", br#"{"id":1,"randomnumber":2}"#, true).unwrap_err();
        assert!(matches!(err, CheckError::Json { .. }), "{err}");
        let err = worlds("/queries", br#"[{"id":1,"randomNumber":2,"x":0}]"#, false).unwrap_err();
        assert!(matches!(err, CheckError::Keys { .. }), "{err}");
    }
}
