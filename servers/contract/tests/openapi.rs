//! The OpenAPI document of the contract (`openapi.json`) against the route table, both ways: every
//! route of `ROUTES` and `DATABASE_ROUTES` is documented with the methods of its `Allow` header
//! and the statuses, content types and bodies of its cases, and nothing is documented that the
//! table does not have. Either one changed alone fails here.
//!
//! The document's schemas are checked by applying them to the contract's own bytes with the
//! small subset of JSON Schema the document uses; a keyword outside that subset fails the test
//! rather than being skipped, so that a schema can never pass by being misunderstood.

use std::collections::{BTreeMap, BTreeSet};

use contract::{
    APPLICATION_JSON, Case, DATABASE_ROUTES, HostHeader, INTERNAL_SERVER_ERROR, MAX_QUERIES,
    Message, QUERY_COUNT_TABLE, ROUTES, Route, SERVICE_UNAVAILABLE, TEXT_HTML, TEXT_PLAIN, User,
    WORLD_ROWS, World, cases, query_count,
};
use serde_json::{Value, json};

/// The methods an OpenAPI path item can hold operations for.
const OPENAPI_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The statuses of a database route (docs/contract.md, "The database routes"): its answer, 503
/// without a database, and 500 or 503 when the database fails mid-run. No case of `cases()`
/// covers them: the conformance suite's database tests need a PostgreSQL.
const DATABASE_STATUSES: &[u16] = &[200, 500, 503];

/// The headers every answer carries (docs/contract.md).
const EVERY_RESPONSE_HEADERS: &[&str] = &["Server", "Date", "Content-Length"];

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let text = std::fs::read_to_string(path).expect("servers/contract/openapi.json is readable");
    serde_json::from_str(&text).expect("openapi.json is JSON")
}

/// Follows a local `$ref` (`#/components/...`) until the value is not a reference.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference}: only local references are used"));
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference} points at nothing"));
    }
    value
}

fn all_routes() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().chain(DATABASE_ROUTES)
}

fn is_database_route(route: &Route) -> bool {
    DATABASE_ROUTES.contains(route)
}

/// The methods of a route's `Allow` header, upper case.
fn allowed_methods(route: &Route) -> BTreeSet<String> {
    route
        .allow
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect()
}

/// The operations of a path item, upper case, with their objects.
fn operations<'a>(doc: &'a Value, path: &str) -> BTreeMap<String, &'a Value> {
    let item = &doc["paths"][path];
    OPENAPI_METHODS
        .iter()
        .filter_map(|m| item.get(*m).map(|op| (m.to_uppercase(), op)))
        .collect()
}

/// The documented responses of an operation, by status, resolved.
fn responses<'a>(doc: &'a Value, operation: &'a Value) -> BTreeMap<u16, &'a Value> {
    operation["responses"]
        .as_object()
        .expect("every operation has responses")
        .iter()
        .map(|(status, response)| {
            let status = status
                .parse()
                .unwrap_or_else(|_| panic!("{status}: statuses are exact codes, not ranges"));
            (status, resolve(doc, response))
        })
        .collect()
}

/// The request target of a case as a path: without the absolute form's scheme and authority and
/// without the query, which routing ignores.
fn case_path(case: &Case) -> &str {
    let target = case
        .path
        .strip_prefix("http://localhost")
        .unwrap_or(&case.path);
    target.split('?').next().unwrap_or(target)
}

/// The value of the route's `{id}` segment if the path is one of this route's, else `None`
/// (`Some("")` for a route without a parameter).
fn match_route<'p>(route: &Route, path: &'p str) -> Option<&'p str> {
    let want: Vec<&str> = route.path.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    if want.len() != got.len() {
        return None;
    }
    let mut id = "";
    for (w, g) in want.iter().zip(&got) {
        if *w == "{id}" {
            if g.is_empty() {
                return None;
            }
            id = g;
        } else if w != g {
            return None;
        }
    }
    Some(id)
}

/// The cases a route's operation answers: those whose path is the route's with that method (a
/// HEAD operation answers as its GET does), and one `Host` line (the Host rows are answered
/// before routing, for every path alike).
fn route_cases(route: &Route, method: &str) -> Vec<Case> {
    let method = if method == "HEAD" { "GET" } else { method };
    cases()
        .into_iter()
        .filter(|c| c.host == HostHeader::One && c.method == method)
        .filter(|c| match_route(route, case_path(c)).is_some())
        .collect()
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("an openapi field");
    assert!(version.starts_with("3.1."), "{version}");
    assert!(doc["info"]["title"].is_string());
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let doc = document();
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    let table: BTreeSet<&str> = all_routes().map(|r| r.path).collect();
    let missing: Vec<_> = table.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "routes not in openapi.json: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "paths in openapi.json that no route has: {extra:?}"
    );
}

#[test]
fn every_route_has_the_methods_of_its_allow_header() {
    let doc = document();
    for route in all_routes() {
        let ops = operations(&doc, route.path);
        let documented: BTreeSet<String> = ops.keys().cloned().collect();
        assert_eq!(
            documented,
            allowed_methods(route),
            "{}: the operations of {} are its Allow header",
            route.name,
            route.path
        );
        let op = ops[route.method];
        assert_eq!(
            op["operationId"], route.name,
            "{} {}: operationId is the route's name",
            route.method, route.path
        );
    }
}

#[test]
fn every_operation_has_the_statuses_of_its_cases() {
    let doc = document();
    for route in all_routes() {
        for (method, op) in operations(&doc, route.path) {
            let documented: BTreeSet<u16> = responses(&doc, op).into_keys().collect();
            let expected: BTreeSet<u16> = if is_database_route(route) {
                DATABASE_STATUSES.iter().copied().collect()
            } else {
                route_cases(route, &method)
                    .iter()
                    .map(|c| c.status)
                    .collect()
            };
            assert!(
                expected.contains(&route.status()) || method != route.method,
                "{}: its own status {} is among its cases'",
                route.name,
                route.status()
            );
            assert_eq!(
                documented, expected,
                "{method} {}: documented statuses against the contract's",
                route.path
            );
        }
    }
}

/// The content type and body of each status of a database route (docs/contract.md).
fn database_answer(route: &Route, status: u16) -> (&'static str, Option<&'static str>) {
    match (status, route.name) {
        (200, "fortunes") => (TEXT_HTML, None),
        (200, _) => (APPLICATION_JSON, None),
        (500, _) => (TEXT_PLAIN, Some(INTERNAL_SERVER_ERROR)),
        (503, _) => (TEXT_PLAIN, Some(SERVICE_UNAVAILABLE)),
        _ => panic!("{}: no answer {status} in the contract", route.name),
    }
}

#[test]
fn every_response_has_the_content_type_and_body_of_its_cases() {
    let doc = document();
    for route in all_routes() {
        for (method, op) in operations(&doc, route.path) {
            for (status, response) in responses(&doc, op) {
                let content = response["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {} {status}: a content type", route.path));
                let types: BTreeSet<&str> = content.keys().map(String::as_str).collect();
                // What the contract answers: the cases' types and bodies, or the database
                // routes' from the docs.
                let (expected_types, bodies): (BTreeSet<&str>, Vec<Vec<u8>>) =
                    if is_database_route(route) {
                        let (ty, body) = database_answer(route, status);
                        (
                            BTreeSet::from([ty]),
                            body.map(|b| b.as_bytes().to_vec()).into_iter().collect(),
                        )
                    } else {
                        let cases: Vec<Case> = route_cases(route, &method)
                            .into_iter()
                            .filter(|c| c.status == status)
                            .collect();
                        (
                            cases.iter().map(|c| c.response_content_type).collect(),
                            cases.into_iter().map(|c| c.response_body).collect(),
                        )
                    };
                assert_eq!(
                    types, expected_types,
                    "{method} {} {status}: content types",
                    route.path
                );
                assert_eq!(content.len(), 1, "{method} {} {status}", route.path);
                let Some((ty, media)) = content.iter().next() else {
                    unreachable!("one content type")
                };
                if method == "HEAD" {
                    // No body to check (the shared error answers keep their schemas, which
                    // schemathesis does not apply to HEAD).
                    continue;
                }
                let schema = media
                    .get("schema")
                    .unwrap_or_else(|| panic!("{method} {} {status}: a schema", route.path));
                if ty == TEXT_PLAIN {
                    // Plain-text bodies are the contract's constants, pinned in the document.
                    let pinned = resolve(&doc, schema)["const"].as_str().unwrap_or_else(|| {
                        panic!("{method} {} {status}: a const body", route.path)
                    });
                    assert!(!bodies.is_empty());
                    for body in &bodies {
                        assert_eq!(pinned.as_bytes(), &body[..], "{method} {}", route.path);
                    }
                }
                for body in &bodies {
                    let value = if ty == APPLICATION_JSON {
                        serde_json::from_slice(body).expect("a JSON case body")
                    } else {
                        Value::String(String::from_utf8(body.clone()).expect("UTF-8"))
                    };
                    if let Err(why) = validate(&doc, schema, &value) {
                        panic!("{method} {} {status}: case body {value}: {why}", route.path);
                    }
                }
            }
        }
    }
}

#[test]
fn every_response_documents_the_headers_every_answer_has() {
    let doc = document();
    for route in all_routes() {
        for (method, op) in operations(&doc, route.path) {
            for (status, response) in responses(&doc, op) {
                for name in EVERY_RESPONSE_HEADERS {
                    let header = resolve(&doc, &response["headers"][name]);
                    assert_eq!(
                        header["required"],
                        json!(true),
                        "{method} {} {status}: header {name}",
                        route.path
                    );
                }
            }
        }
    }
    // The Date pattern takes an IMF-fixdate and nothing looser.
    let date = &doc["components"]["headers"]["Date"]["schema"];
    assert!(validate(&doc, date, &json!("Sun, 06 Nov 1994 08:49:37 GMT")).is_ok());
    assert!(validate(&doc, date, &json!("Sunday, 06-Nov-94 08:49:37 GMT")).is_err());
}

#[test]
fn the_users_id_is_a_u32_as_the_cases_say() {
    let doc = document();
    let route = ROUTES.iter().find(|r| r.name == "users").expect("users");
    let params = doc["paths"][route.path]["parameters"]
        .as_array()
        .expect("path parameters");
    let [param] = &params[..] else {
        panic!("one parameter")
    };
    let param = resolve(&doc, param);
    assert_eq!(param["name"], "id");
    assert_eq!(param["in"], "path");
    assert_eq!(param["required"], true);
    let mut seen = BTreeSet::new();
    for case in route_cases(route, "GET") {
        let id = match_route(route, case_path(&case)).expect("a users path");
        // A path segment as the schema sees it: a number if it is one, else a string.
        let value = id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n));
        let valid = validate(&doc, &param["schema"], &value).is_ok();
        assert_eq!(valid, case.status == 200, "{}: id {id}", case.name);
        seen.insert(case.status);
    }
    assert_eq!(seen, BTreeSet::from([200, 400]));
    // The answer's schema takes the payload type as it serializes.
    let ok = resolve(
        &doc,
        &doc["paths"][route.path]["get"]["responses"]["200"]["content"][APPLICATION_JSON]["schema"],
    );
    let user = serde_json::to_value(User::new(u32::MAX)).expect("User serializes");
    validate(&doc, ok, &user).expect("User::new(u32::MAX)");
}

#[test]
fn the_echo_body_is_what_the_cases_accept() {
    let doc = document();
    let body = &doc["paths"]["/echo"]["post"]["requestBody"];
    assert_eq!(body["required"], true);
    let media = body["content"].as_object().expect("request content");
    assert_eq!(
        media.keys().map(String::as_str).collect::<Vec<_>>(),
        [APPLICATION_JSON],
        "the one content type /echo takes"
    );
    let schema = &media[APPLICATION_JSON]["schema"];
    let route = ROUTES.iter().find(|r| r.name == "echo").expect("echo");
    let mut checked = 0;
    for case in route_cases(route, "POST") {
        if case.content_type != Some(APPLICATION_JSON) || case.status == 413 {
            // Refused for its content type or its size, which no schema describes.
            continue;
        }
        let valid = serde_json::from_slice::<Value>(&case.body)
            .is_ok_and(|value| validate(&doc, schema, &value).is_ok());
        assert_eq!(valid, case.status == 200, "{}", case.name);
        checked += 1;
    }
    assert!(checked >= 5, "the echo cases: {checked}");
    let message = serde_json::to_value(Message::hello()).expect("Message serializes");
    validate(&doc, schema, &message).expect("Message::hello()");
}

#[test]
fn the_q_parameter_follows_query_count() {
    let doc = document();
    for route in DATABASE_ROUTES
        .iter()
        .filter(|r| ["queries", "updates"].contains(&r.name))
    {
        let params = doc["paths"][route.path]["parameters"]
            .as_array()
            .expect("parameters");
        let [param] = &params[..] else {
            panic!("{}: one parameter", route.name)
        };
        let param = resolve(&doc, param);
        assert_eq!(param["name"], "q");
        assert_eq!(param["in"], "query");
        assert_eq!(param["required"], false, "a missing q counts as 1");
        // Every value is accepted (none is refused), so the schema must take any string.
        assert_eq!(
            param["schema"],
            json!({"type": "string"}),
            "q is never refused"
        );
        let description = param["description"].as_str().expect("a description");
        assert!(description.contains(&MAX_QUERIES.to_string()));
        // The examples are the contract's table, with the rows each one gives.
        let examples: BTreeMap<String, u64> = param["examples"]
            .as_object()
            .expect("examples")
            .values()
            .map(|e| {
                let value = e["value"].as_str().expect("a string value").to_owned();
                let rows = e["x-rows"].as_u64().expect("x-rows");
                assert_eq!(rows as usize, query_count(Some(&value)), "q={value}");
                (value, rows)
            })
            .collect();
        let table: BTreeMap<String, u64> = QUERY_COUNT_TABLE
            .iter()
            .filter_map(|(q, rows)| q.map(|q| (q.to_owned(), *rows as u64)))
            .collect();
        assert_eq!(
            examples, table,
            "{}: the examples are QUERY_COUNT_TABLE",
            route.name
        );
        // The answer is 1 to MAX_QUERIES rows of World.
        let ok = resolve(
            &doc,
            &doc["paths"][route.path]["get"]["responses"]["200"]["content"][APPLICATION_JSON]["schema"],
        );
        let row = World {
            id: WORLD_ROWS,
            random_number: 1,
        };
        let rows = |n: usize| Value::Array(vec![serde_json::to_value(row).expect("World"); n]);
        assert!(validate(&doc, ok, &rows(1)).is_ok());
        assert!(validate(&doc, ok, &rows(MAX_QUERIES)).is_ok());
        assert!(validate(&doc, ok, &rows(0)).is_err());
        assert!(validate(&doc, ok, &rows(MAX_QUERIES + 1)).is_err());
    }
}

#[test]
fn the_validator_refuses_what_it_should() {
    // The checks above are only as good as this validator: each keyword must be able to fail.
    let doc = json!({});
    let cases = [
        (json!({"type": "string"}), json!(7)),
        (json!({"type": "integer"}), json!(1.5)),
        (json!({"type": "integer", "minimum": 0}), json!(-1)),
        (json!({"type": "integer", "maximum": 9}), json!(10)),
        (json!({"const": "a"}), json!("b")),
        (json!({"type": "string", "pattern": "^a$"}), json!("ab")),
        (json!({"type": "string", "minLength": 1}), json!("")),
        (json!({"type": "object", "required": ["a"]}), json!({})),
        (
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
            json!({"a": 1}),
        ),
        (
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            json!({"a": 1}),
        ),
        (json!({"type": "array", "minItems": 1}), json!([])),
        (json!({"type": "array", "maxItems": 0}), json!([1])),
        (
            json!({"type": "array", "items": {"type": "string"}}),
            json!([1]),
        ),
    ];
    for (schema, value) in cases {
        assert!(
            validate(&doc, &schema, &value).is_err(),
            "{schema} took {value}"
        );
    }
    let unknown =
        std::panic::catch_unwind(|| validate(&doc, &json!({"format": "uuid"}), &json!("")));
    assert!(
        unknown.is_err(),
        "an unknown keyword is a failure, not a pass"
    );
}

/// Applies the subset of JSON Schema (2020-12) the document uses to `value`. Any other keyword
/// panics, so that a schema never passes by being half understood.
fn validate(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    let schema = schema.as_object().ok_or("a schema is an object")?;
    for (keyword, arg) in schema {
        match keyword.as_str() {
            "description" => {}
            "$ref" => validate(doc, resolve(doc, &json!({"$ref": arg})), value)?,
            "type" => {
                let ok = match arg.as_str() {
                    Some("string") => value.is_string(),
                    Some("integer") => value.is_i64() || value.is_u64(),
                    Some("object") => value.is_object(),
                    Some("array") => value.is_array(),
                    other => panic!("type {other:?} is outside the subset"),
                };
                if !ok {
                    return Err(format!("{value} is not of type {arg}"));
                }
            }
            "const" if value != arg => return Err(format!("{value} is not {arg}")),
            "const" => {}
            "minimum" | "maximum" => {
                if let (Some(n), Some(bound)) = (value.as_f64(), arg.as_f64()) {
                    let ok = if keyword == "minimum" {
                        n >= bound
                    } else {
                        n <= bound
                    };
                    if !ok {
                        return Err(format!("{value} is past its {keyword} {bound}"));
                    }
                }
            }
            "pattern" => {
                if let Some(text) = value.as_str() {
                    let pattern = arg.as_str().ok_or("a pattern is a string")?;
                    let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
                    if !re.is_match(text) {
                        return Err(format!("{text:?} does not match {pattern}"));
                    }
                }
            }
            "minLength" => {
                if let (Some(text), Some(min)) = (value.as_str(), arg.as_u64())
                    && (text.chars().count() as u64) < min
                {
                    return Err(format!("{text:?} is shorter than {min}"));
                }
            }
            "required" => {
                if let Some(object) = value.as_object() {
                    for name in arg.as_array().ok_or("required is a list")? {
                        let name = name.as_str().ok_or("a required name is a string")?;
                        if !object.contains_key(name) {
                            return Err(format!("{value} lacks {name}"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(object) = value.as_object() {
                    let properties = arg.as_object().ok_or("properties is an object")?;
                    for (name, schema) in properties {
                        if let Some(field) = object.get(name) {
                            validate(doc, schema, field)?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                assert_eq!(
                    arg,
                    &json!(false),
                    "only additionalProperties: false is used"
                );
                if let Some(object) = value.as_object() {
                    let properties = schema.get("properties").and_then(Value::as_object);
                    if let Some(name) = object
                        .keys()
                        .find(|k| !properties.is_some_and(|p| p.contains_key(*k)))
                    {
                        return Err(format!("{value} has {name}, which is not a property"));
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for item in items {
                        validate(doc, arg, item)?;
                    }
                }
            }
            "minItems" | "maxItems" => {
                if let (Some(items), Some(bound)) = (value.as_array(), arg.as_u64()) {
                    let n = items.len() as u64;
                    let ok = if keyword == "minItems" {
                        n >= bound
                    } else {
                        n <= bound
                    };
                    if !ok {
                        return Err(format!("{n} items is past its {keyword} {bound}"));
                    }
                }
            }
            other => panic!("the keyword {other} is outside the subset this test applies"),
        }
    }
    Ok(())
}
