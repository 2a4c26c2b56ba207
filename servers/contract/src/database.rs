//! The four database routes, as TechEmpower's benchmarks define them: their table, their payload
//! types, their bodies and limits, and the schema they read (`data/database.sql`).
//!
//! Like the rest of the crate this is data: each server keeps its pool in its own application
//! state, runs its own queries and renders `/fortunes` through its own stack's template engine.
//! [`query_count`] is the one rule shared as code, because sixteen hand-made copies of "a missing,
//! empty, non-numeric or huge q" would drift; Go's copy is `contract.QueryCount`.

use serde::{Deserialize, Serialize};

use crate::{Route, parse_number};

/// The SQL that creates and fills the tables `World` and `Fortune` (TechEmpower's schema and
/// data), run as the owner of the database `hello_world`.
pub const DATABASE_SCHEMA: &str = include_str!("../data/database.sql");
/// The database the routes read.
pub const DATABASE_NAME: &str = "hello_world";
/// The role that owns it and that the servers log in as.
pub const DATABASE_USER: &str = "benchmarkdbuser";
/// That role's password.
pub const DATABASE_PASSWORD: &str = "benchmarkdbpass";
/// Rows of `World`: ids `1..=WORLD_ROWS`, each random number in `1..=WORLD_ROWS`.
pub const WORLD_ROWS: i32 = 10_000;
/// Rows of `Fortune` in the schema (the answer adds [`EXTRA_FORTUNE`]).
pub const FORTUNE_ROWS: usize = 12;
/// The most rows `/queries` and `/updates` answer with, however large `q` is.
pub const MAX_QUERIES: usize = parse_number(include_str!("../data/max_queries.txt"));
/// The fortune every `/fortunes` answer adds, with id 0, before sorting.
pub const EXTRA_FORTUNE: &str = include_str!("../data/extra_fortune.txt");
/// Body of a `503 Service Unavailable`: a database route of a server that has no database.
pub const SERVICE_UNAVAILABLE: &str = include_str!("../data/service_unavailable.txt");
/// The environment variable a server reads its database URL from when `--database-url` is
/// not given.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";

/// The routes that read the database, in contract order, after [`crate::ROUTES`]. Without a
/// database each answers 503 with [`SERVICE_UNAVAILABLE`]; the rest of the service works as
/// before.
pub const DATABASE_ROUTES: &[Route] = &[
    Route {
        name: "db",
        method: "GET",
        path: "/db",
        allow: "GET, HEAD",
    },
    Route {
        name: "queries",
        method: "GET",
        path: "/queries",
        allow: "GET, HEAD",
    },
    Route {
        name: "fortunes",
        method: "GET",
        path: "/fortunes",
        allow: "GET, HEAD",
    },
    Route {
        name: "updates",
        method: "GET",
        path: "/updates",
        allow: "GET, HEAD",
    },
];

/// One row of `World`: the answer of `/db`, and each element of `/queries` and `/updates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct World {
    /// The row's id, `1..=10000`.
    pub id: i32,
    /// Its random number, `1..=10000`.
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

/// One row of `Fortune`, as `/fortunes` renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fortune {
    /// The row's id (0 for the one added at request time).
    pub id: i32,
    /// The message, unescaped.
    pub message: String,
}

impl Fortune {
    /// The fortune every answer adds before sorting: id 0, [`EXTRA_FORTUNE`].
    pub fn extra() -> Self {
        Self {
            id: 0,
            message: EXTRA_FORTUNE.to_owned(),
        }
    }
}

/// How many rows `/queries?q=…` and `/updates?q=…` answer with, from the raw value of `q`: a
/// missing, empty or non-numeric one counts as 1, a number below 1 as 1, and one above
/// [`MAX_QUERIES`], however many digits it has, as [`MAX_QUERIES`].
pub fn query_count(q: Option<&str>) -> usize {
    let text = q.map_or("", str::trim);
    let digits = text.strip_prefix('+').unwrap_or(text);
    // Negative, empty or not a whole number: 1.
    if text.starts_with('-') || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 1;
    }
    // Too many digits for any integer type is still just "above 500".
    match digits.parse::<u64>() {
        Ok(n) => (n as usize).clamp(1, MAX_QUERIES),
        Err(_) => MAX_QUERIES,
    }
}

/// The `q` values whose answer length every server must match, with that length: the clamping
/// table of the conformance suite (and of the Go servers' tests).
pub const QUERY_COUNT_TABLE: &[(Option<&str>, usize)] = &[
    (None, 1),
    (Some(""), 1),
    (Some("foo"), 1),
    (Some("0"), 1),
    (Some("-5"), 1),
    (Some("1"), 1),
    (Some("7"), 7),
    (Some("20"), 20),
    (Some("500"), 500),
    (Some("501"), 500),
    (Some("99999999999999999999999"), 500),
    (Some("1.5"), 1),
    (Some("3x"), 1),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_count_follows_its_table() {
        for (q, rows) in QUERY_COUNT_TABLE {
            assert_eq!(query_count(*q), *rows, "q = {q:?}");
        }
    }

    #[test]
    fn rows_serialize_as_techempower_spells_them() {
        let world = World {
            id: 3217,
            random_number: 2149,
        };
        assert_eq!(
            serde_json::to_string(&world).unwrap(),
            r#"{"id":3217,"randomNumber":2149}"#
        );
    }

    #[test]
    fn the_schema_has_both_tables_and_twelve_fortunes() {
        assert!(DATABASE_SCHEMA.contains("CREATE TABLE World"));
        assert!(DATABASE_SCHEMA.contains("CREATE TABLE Fortune"));
        assert_eq!(
            DATABASE_SCHEMA.matches("\n  (").count(),
            FORTUNE_ROWS,
            "one line per fortune"
        );
        assert!(DATABASE_SCHEMA.contains("<script>"));
        assert!(DATABASE_SCHEMA.contains("フレームワークのベンチマーク"));
    }

    #[test]
    fn database_routes_are_not_hello_world_routes() {
        for route in DATABASE_ROUTES {
            assert!(!crate::ROUTES.iter().any(|r| r.name == route.name));
        }
    }
}
