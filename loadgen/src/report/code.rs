//! The servers' own code, cut from their source between `// route: NAME` and `// end route`
//! markers, highlighted, and the lines where each stack does the things every server must do.
//!
//! The sources are compiled into the load generator (`include_str!`), so cargo rebuilds it when
//! a server changes and the page cannot drift from the code it was built with.

use std::fmt::Write as _;

use syntect::highlighting::ThemeSet;
use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// One server's source.
#[derive(Debug, Clone, Copy)]
pub struct ServerSource {
    /// Short name.
    pub name: &'static str,
    /// Path in the workspace.
    pub path: &'static str,
    /// The text.
    pub text: &'static str,
}

/// Every server's `main.rs`, in the contract's order.
pub const SOURCES: &[ServerSource] = &[
    ServerSource {
        name: "std",
        path: "servers/std/src/main.rs",
        text: include_str!("../../../servers/std/src/main.rs"),
    },
    ServerSource {
        name: "tokio",
        path: "servers/tokio/src/main.rs",
        text: include_str!("../../../servers/tokio/src/main.rs"),
    },
    ServerSource {
        name: "hyper",
        path: "servers/hyper/src/main.rs",
        text: include_str!("../../../servers/hyper/src/main.rs"),
    },
    ServerSource {
        name: "axum",
        path: "servers/axum/src/main.rs",
        text: include_str!("../../../servers/axum/src/main.rs"),
    },
    ServerSource {
        name: "actix-web",
        path: "servers/actix-web/src/main.rs",
        text: include_str!("../../../servers/actix-web/src/main.rs"),
    },
    ServerSource {
        name: "warp",
        path: "servers/warp/src/main.rs",
        text: include_str!("../../../servers/warp/src/main.rs"),
    },
    ServerSource {
        name: "ntex",
        path: "servers/ntex/src/main.rs",
        text: include_str!("../../../servers/ntex/src/main.rs"),
    },
    ServerSource {
        name: "salvo",
        path: "servers/salvo/src/main.rs",
        text: include_str!("../../../servers/salvo/src/main.rs"),
    },
    ServerSource {
        name: "rocket",
        path: "servers/rocket/src/main.rs",
        text: include_str!("../../../servers/rocket/src/main.rs"),
    },
    ServerSource {
        name: "may-minihttp",
        path: "servers/may-minihttp/src/main.rs",
        text: include_str!("../../../servers/may-minihttp/src/main.rs"),
    },
];

/// The routes shown side by side, each marked in every server.
pub const ROUTES_SHOWN: &[(&str, &str)] = &[
    ("plaintext", "GET /"),
    ("json", "GET /json"),
    ("html", "GET /html"),
    ("users", "GET /users/{id}"),
    ("echo", "POST /echo"),
    ("error", "GET /error → 500"),
    ("not-found", "any other path → 404"),
];

/// The code of one route in one server: every marked region, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// 1-based line of the first region's first line.
    pub first_line: usize,
    /// The regions, joined with a `⋮` line between them.
    pub code: String,
    /// Lines that are neither blank nor comments.
    pub lines_of_code: usize,
}

/// Cuts route `route` out of `source`. `None` when there is no marker for it.
pub fn snippet(source: &str, route: &str) -> Option<Snippet> {
    let start_marker = format!("// route: {route}");
    let mut regions: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim();
        match current.as_mut() {
            None if trimmed == start_marker => current = Some((index + 2, Vec::new())),
            None => {}
            Some(_) if trimmed == "// end route" => regions.extend(current.take()),
            Some((_, lines)) => lines.push(line),
        }
    }
    let first_line = regions.first()?.0;
    let blocks: Vec<String> = regions.iter().map(|(_, lines)| dedent(lines)).collect();
    let code = blocks.join("\n⋮\n");
    let lines_of_code = code
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && *l != "⋮")
        .count();
    Some(Snippet {
        first_line,
        code,
        lines_of_code,
    })
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines of code of a whole source (not blank, not comments).
pub fn lines_of_code(source: &str) -> usize {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// Every (server, route) that has no marker; the page test fails on any.
pub fn missing_markers() -> Vec<String> {
    SOURCES
        .iter()
        .flat_map(|s| {
            ROUTES_SHOWN
                .iter()
                .filter(|(route, _)| snippet(s.text, route).is_none())
                .map(move |(route, _)| format!("{} lacks `// route: {route}`", s.path))
        })
        .collect()
}

/// Rust source as HTML with CSS classes (`highlight_css` styles them), escaped.
#[derive(Debug)]
pub struct Highlighter {
    syntaxes: SyntaxSet,
}

impl Default for Highlighter {
    fn default() -> Self {
        Self {
            syntaxes: SyntaxSet::load_defaults_newlines(),
        }
    }
}

impl Highlighter {
    /// `code` as highlighted, escaped HTML; plain escaped text if highlighting fails.
    pub fn rust(&self, code: &str) -> String {
        let Some(syntax) = self.syntaxes.find_syntax_by_extension("rs") else {
            return escape(code);
        };
        let mut html = ClassedHTMLGenerator::new_with_class_style(
            syntax,
            &self.syntaxes,
            ClassStyle::SpacedPrefixed { prefix: "hl-" },
        );
        for line in LinesWithEndings::from(code) {
            if html
                .parse_html_for_line_which_includes_newline(line)
                .is_err()
            {
                return escape(code);
            }
        }
        html.finalize()
    }
}

/// The CSS of the highlighting classes.
pub fn highlight_css() -> String {
    let themes = ThemeSet::load_defaults();
    themes
        .themes
        .get("InspiredGitHub")
        .and_then(|theme| {
            css_for_theme_with_class_style(theme, ClassStyle::SpacedPrefixed { prefix: "hl-" }).ok()
        })
        .unwrap_or_default()
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One thing every server must do, and where each one does it: a line that only that place
/// has, found in the source when the page is made (a test fails if one is missing).
#[derive(Debug, Clone, Copy)]
pub struct Aspect {
    /// What.
    pub name: &'static str,
    /// Per server, in [`SOURCES`] order: (text to find, how it is done).
    pub places: [(&'static str, &'static str); 6],
}

/// The aspects of the "how each stack does it" table.
pub const ASPECTS: &[Aspect] = &[
    Aspect {
        name: "routing",
        places: [
            (
                "fn respond(req: &Request<'_>) -> Result<Response, Error>",
                "a match on the path, then the method, by hand",
            ),
            (
                "fn respond(req: &Request<'_>, ctx: &mut Ctx)",
                "a match on the path, then the method, writing into a context",
            ),
            (
                "match (req.method(), req.uri().path())",
                "one match on (method, path) inside service_fn",
            ),
            (
                ".route(\"/json\", get(json))",
                "Router::route with method routers",
            ),
            (
                ".service(get(\"/json\", json))",
                "App::service of resources with routes",
            ),
            (".or(json)", "filters combined with or()"),
        ],
    },
    Aspect {
        name: "path parameter",
        places: [
            (
                "match path.strip_prefix(\"/users/\")",
                "strip_prefix, then str::parse::<u32>",
            ),
            (
                "strip_prefix(\"/users/\")",
                "strip_prefix, then str::parse::<u32>",
            ),
            (
                "strip_prefix(\"/users/\")",
                "strip_prefix, then str::parse::<u32>",
            ),
            (
                "Path<u32>",
                "the Path<u32> extractor; its rejection becomes our 400",
            ),
            (
                "web::Path<u32>",
                "the web::Path<u32> extractor; PathConfig maps its error",
            ),
            (
                "warp::path!(\"users\" / String)",
                "path! takes a String; the handler parses it",
            ),
        ],
    },
    Aspect {
        name: "JSON body",
        places: [
            (
                "serde_json::from_slice(&req.body)",
                "serde_json on the body h1-codec framed",
            ),
            (
                "serde_json::from_slice(&req.body)",
                "serde_json on the body h1-codec framed",
            ),
            (
                "let message: Message = serde_json::from_slice(&body)",
                "collect the body, then serde_json",
            ),
            (
                "message: Result<Json<Message>, JsonRejection>",
                "the Json<Message> extractor",
            ),
            (
                "async fn echo(message: web::Json<Message>)",
                "the web::Json<Message> extractor",
            ),
            (".and(warp::body::json())", "the body::json() filter"),
        ],
    },
    Aspect {
        name: "404 fallback",
        places: [
            ("_ => Ok(not_found()),", "the last match arm"),
            ("None => not_found(ctx),", "the last match arm"),
            ("None => Ok(not_found()),", "the last match arm"),
            (".fallback(not_found)", "Router::fallback"),
            (
                ".default_service(web::to(not_found))",
                "App::default_service",
            ),
            (".recover(not_found)", "a final recover: nothing matched"),
        ],
    },
    Aspect {
        name: "error → 500",
        places: [
            (
                "fn into_response(self) -> Response {",
                "Error::into_response, called by the connection loop",
            ),
            (
                "fn write_to(self, ctx: &mut Ctx)",
                "Error::write_to, called by the connection loop",
            ),
            (
                "fn into_response(self) -> Response<Full<Bytes>>",
                "Error::into_response, called by the service",
            ),
            (
                "impl IntoResponse for Error",
                "impl IntoResponse: handlers return Result and use ?",
            ),
            (
                "impl ResponseError for Error",
                "impl ResponseError: handlers return Result and use ?",
            ),
            (
                "async fn recover(rejection: Rejection",
                "a custom rejection turned into a reply by recover",
            ),
        ],
    },
    Aspect {
        name: "body limit",
        places: [
            (
                "max_body_bytes: contract::MAX_BODY_BYTES",
                "h1-codec answers 413 before reading the body",
            ),
            (
                "max_body_bytes: contract::MAX_BODY_BYTES",
                "h1-codec answers 413 before reading the body",
            ),
            (
                "Limited::new(req.into_body(), contract::MAX_BODY_BYTES)",
                "http_body_util::Limited",
            ),
            (
                ".layer(DefaultBodyLimit::max(contract::MAX_BODY_BYTES))",
                "the DefaultBodyLimit layer",
            ),
            (".limit(contract::MAX_BODY_BYTES)", "JsonConfig::limit"),
            (
                "warp::body::content_length_limit(",
                "the content_length_limit filter",
            ),
        ],
    },
    Aspect {
        name: "graceful shutdown",
        places: [
            (
                "fn shutdown(state: &State, addr: SocketAddr, accept_threads: usize)",
                "signal-hook; wake the accept threads, wait on a Condvar",
            ),
            (
                "connections.wait()",
                "a watch channel for idle connections, TaskTracker::wait",
            ),
            ("GracefulShutdown::new()", "hyper-util's GracefulShutdown"),
            (
                "GracefulShutdown::new()",
                "hyper-util's GracefulShutdown (axum::serve sets no header timeout)",
            ),
            (
                ".shutdown_signal(contract::shutdown_signal())",
                "HttpServer::shutdown_signal and shutdown_timeout",
            ),
            (
                "GracefulShutdown::new()",
                "hyper-util's GracefulShutdown over warp::service",
            ),
        ],
    },
];

/// The 1-based line of the first line of `source` that contains `needle`.
pub fn find_line<'a>(source: &'a str, needle: &str) -> Option<(usize, &'a str)> {
    source
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains(needle))
        .map(|(i, line)| (i + 1, line.trim()))
}

/// Every aspect place that is not in its server's source; the page test fails on any.
pub fn missing_places() -> Vec<String> {
    let mut missing = Vec::new();
    for aspect in ASPECTS {
        for (source, (needle, _)) in SOURCES.iter().zip(aspect.places) {
            if find_line(source.text, needle).is_none() {
                let _ = write!(
                    missing_line(&mut missing),
                    "{}: {:?} for {}",
                    source.path,
                    needle,
                    aspect.name
                );
            }
        }
    }
    missing
}

fn missing_line(lines: &mut Vec<String>) -> &mut String {
    lines.push(String::new());
    lines.last_mut().expect("just pushed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_marks_every_route() {
        assert_eq!(missing_markers(), Vec::<String>::new());
        assert_eq!(SOURCES.len(), contract::SERVERS.len());
        for (source, server) in SOURCES.iter().zip(contract::SERVERS) {
            assert_eq!(source.name, server.name);
        }
    }

    #[test]
    fn every_aspect_points_at_a_real_line() {
        assert_eq!(missing_places(), Vec::<String>::new());
    }

    #[test]
    fn snippets_join_regions_and_count_code_lines() {
        let source = "fn a() {}\n    // route: json\n    // GET /json\n    fn json() {\n        1\n    }\n    // end route\nx\n// route: json\nlet f = 2;\n// end route\n";
        let s = snippet(source, "json").unwrap();
        assert_eq!(s.first_line, 3);
        assert_eq!(s.code, "// GET /json\nfn json() {\n    1\n}\n⋮\nlet f = 2;");
        assert_eq!(s.lines_of_code, 4);
        assert!(snippet(source, "html").is_none());
    }

    #[test]
    fn code_is_escaped_when_highlighted() {
        let html = Highlighter::default().rust("fn f() -> Result<Vec<u8>, E> { \"<b>\" }\n");
        assert!(!html.contains("<b>") && html.contains("&lt;"), "{html}");
        assert!(html.contains("hl-"), "{html}");
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }
}
