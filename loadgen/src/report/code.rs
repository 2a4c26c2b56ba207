//! The servers' own code, cut from their source between `// route: NAME` and `// end route`
//! markers, highlighted, and the lines where each stack does the things every server must do.
//!
//! The "how each stack does it" table comes from `// aspect: SLUG: how` markers in the same
//! sources, each directly above the line it points at.
//!
//! The sources are compiled into the load generator (`include_str!`, listed by `build.rs` from the
//! `servers/` folders), so cargo rebuilds it when a server changes and the page cannot drift from
//! the code it was built with.

use syntect::highlighting::ThemeSet;
use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// One server's source.
#[derive(Debug, Clone, Copy)]
pub struct ServerSource {
    /// Short name.
    pub name: &'static str,
    /// Path of its `main.rs` in the workspace.
    pub path: &'static str,
    /// The text of its `main.rs`.
    pub text: &'static str,
    /// Path and text of its other files, in reading order: `serve.rs` (the plumbing `main.rs`
    /// calls) and `db.rs` (or `db.go`) first, then its templates.
    pub others: &'static [(&'static str, &'static str)],
}

impl ServerSource {
    /// The file's name, `main.rs` or `main.go`, for line references.
    pub fn file_name(&self) -> &'static str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    /// The file's extension, which picks its syntax highlighting: `rs` or `go`.
    pub fn extension(&self) -> &'static str {
        self.path.rsplit('.').next().unwrap_or("rs")
    }
}

/// A row of `build.rs`'s table: name, path and text of `main.rs` (or `main.go`), and the other
/// files as (path, text).
type SourceRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Every `servers/<name>/src/main.rs` (and `serve.rs`) and `servers/<name>/main.go`, found by
/// `build.rs`.
const MAIN_RS: &[SourceRow] = include!(concat!(env!("OUT_DIR"), "/server_sources.rs"));

/// The servers' `main.rs` (or `main.go`), in the order of `contract::SERVERS`; a row without a source is left
/// out (and fails the test `every_server_has_its_source`).
pub fn sources() -> Vec<ServerSource> {
    contract::SERVERS
        .iter()
        .filter_map(|server| MAIN_RS.iter().find(|row| row.0 == server.name))
        .map(|&(name, path, text, others)| ServerSource {
            name,
            path,
            text,
            others,
        })
        .collect()
}

impl ServerSource {
    /// Its files, `main.rs` first, as (path, text).
    pub fn files(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        std::iter::once((self.path, self.text)).chain(self.others.iter().copied())
    }

    /// Its `serve.rs`, the plumbing `main.rs` calls, when it has one.
    pub fn serve(&self) -> Option<(&'static str, &'static str)> {
        self.others
            .iter()
            .copied()
            .find(|(path, _)| path.ends_with("/serve.rs"))
    }

    /// The mark of aspect `slug` in any of its files, with the name of the file it is in.
    pub fn aspect_mark(&self, slug: &str) -> Option<(&'static str, AspectMark<'static>)> {
        self.files().find_map(|(path, text)| {
            let file = path.rsplit('/').next().unwrap_or(path);
            aspect_mark(text, slug).map(|mark| (file, mark))
        })
    }
}

/// How many lines a framework server's `main.rs` may run before its tests: one or two screens.
/// The plumbing (connections, shutdown, the Host rules, response helpers) goes to `serve.rs`, so
/// that `main`, `app` and the handlers are read at a glance.
pub const MAIN_RS_MAX_LINES: usize = 200;

/// Every server with a `serve.rs` whose `main.rs` runs longer than [`MAIN_RS_MAX_LINES`] before
/// its tests; the page test fails on any.
pub fn long_main_rs() -> Vec<String> {
    sources()
        .into_iter()
        .filter(|source| source.serve().is_some())
        .filter_map(|source| {
            let before_tests = source
                .text
                .lines()
                .take_while(|line| !line.starts_with("#[cfg(test)]"))
                .count();
            (before_tests > MAIN_RS_MAX_LINES)
                .then(|| format!("{}: {before_tests} lines before the tests", source.path))
        })
        .collect()
}

/// The routes shown side by side, each marked in every server: `(marker name, title)` for each
/// route of [`contract::ROUTES`], what any other path gets, then the database routes.
pub fn routes_shown() -> Vec<(&'static str, String)> {
    let mut shown: Vec<(&'static str, String)> = contract::ROUTES
        .iter()
        .map(|route| {
            let status = route.status();
            let title = format!("{} {}", route.method, route.path);
            let title = if status == 200 {
                title
            } else {
                format!("{title} → {status}")
            };
            (route.name, title)
        })
        .collect();
    shown.push(("not-found", "any other path → 404".to_owned()));
    shown.extend(contract::DATABASE_ROUTES.iter().map(|route| {
        let path = match route.name {
            "queries" | "updates" => format!("{}?q=N", route.path),
            _ => route.path.to_owned(),
        };
        (route.name, format!("{} {path}", route.method))
    }));
    shown
}

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
            // The aspect markers are for the table, not for the side-by-side code.
            Some(_) if trimmed.starts_with(ASPECT_MARKER) => {}
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
        // gofmt puts a blank line between a function and the `// end route` after it.
        .trim_end()
        .to_owned()
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
    sources()
        .into_iter()
        .flat_map(|s| {
            routes_shown()
                .into_iter()
                .filter(|(route, _)| snippet(s.text, route).is_none())
                .map(move |(route, _)| format!("{} lacks `// route: {route}`", s.path))
        })
        .collect()
}

/// Source code (Rust or Go) as HTML with CSS classes (`highlight_css` styles them), escaped.
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
    /// `code`, in the language of files ending in `.extension` (`rs`, `go`), as highlighted,
    /// escaped HTML; plain escaped text if highlighting fails.
    pub fn highlight(&self, code: &str, extension: &str) -> String {
        let Some(syntax) = self.syntaxes.find_syntax_by_extension(extension) else {
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

/// The rows of the "how each stack does it" table, in order: the slug of the marker in the
/// servers' source, and the row's title.
pub const ASPECTS: &[(&str, &str)] = &[
    ("routing", "routing"),
    ("path-parameter", "path parameter"),
    ("json-body", "JSON body"),
    ("not-found", "404 fallback"),
    ("error-500", "error → 500"),
    ("body-limit", "body limit"),
    ("header-timeout", "header timeout"),
    ("graceful-shutdown", "graceful shutdown"),
    ("connection-errors", "connection errors"),
    ("pool", "database pool in the app state"),
    ("query", "a database query"),
    ("template", "HTML template"),
    ("db-error", "database error → 503/500"),
];

/// How a marker line starts: `// aspect: SLUG: how this stack does it`, directly above the
/// line it points at.
pub const ASPECT_MARKER: &str = "// aspect: ";

/// One aspect marker and the line it points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AspectMark<'a> {
    /// Which aspect, a slug of [`ASPECTS`] (or a wrong one, which the test reports).
    pub slug: &'a str,
    /// How this stack does it, in a few words.
    pub how: &'a str,
    /// The 1-based number of the line pointed at.
    pub line: usize,
    /// That line, trimmed.
    pub code: &'a str,
}

/// Every aspect marker of `source`, in source order. A marker on the last line points at an
/// empty line 0.
pub fn aspect_marks(source: &str) -> Vec<AspectMark<'_>> {
    let lines: Vec<&str> = source.lines().collect();
    let mut marks = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(marker) = line.trim().strip_prefix(ASPECT_MARKER) else {
            continue;
        };
        let (slug, how) = marker.split_once(": ").unwrap_or((marker, ""));
        let (line, code) = lines
            .get(index + 1)
            .map_or((0, ""), |code| (index + 2, code.trim()));
        marks.push(AspectMark {
            slug: slug.trim(),
            how: how.trim(),
            line,
            code,
        });
    }
    marks
}

/// The mark of aspect `slug` in `source`, if there is one.
pub fn aspect_mark<'a>(source: &'a str, slug: &str) -> Option<AspectMark<'a>> {
    aspect_marks(source)
        .into_iter()
        .find(|mark| mark.slug == slug)
}

/// Every way the servers' markers break the rules: an aspect not marked, or marked twice, an
/// unknown slug, a marker with no text or no line under it. The page test fails on any.
pub fn aspect_problems() -> Vec<String> {
    let mut problems = Vec::new();
    for source in sources() {
        let marks: Vec<AspectMark<'_>> = source
            .files()
            .flat_map(|(_, text)| aspect_marks(text))
            .collect();
        for (slug, _) in ASPECTS {
            let count = marks.iter().filter(|mark| mark.slug == *slug).count();
            if count != 1 {
                problems.push(format!(
                    "{}: `{ASPECT_MARKER}{slug}` {count} times",
                    source.path
                ));
            }
        }
        for mark in marks {
            if !ASPECTS.iter().any(|(slug, _)| *slug == mark.slug) {
                problems.push(format!("{}: unknown aspect {:?}", source.path, mark.slug));
            }
            if mark.how.is_empty() || mark.code.is_empty() || mark.code.starts_with("//") {
                problems.push(format!(
                    "{}: the marker of {} needs a text and a line of code under it",
                    source.path, mark.slug
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_has_its_source() {
        let names: Vec<&str> = sources().iter().map(|s| s.name).collect();
        let servers: Vec<&str> = contract::SERVERS.iter().map(|s| s.name).collect();
        assert_eq!(names, servers);
        for source in sources() {
            let rust = source.extension() == "rs";
            let main = if rust { "fn main()" } else { "func main()" };
            assert!(source.text.contains(main), "{}", source.path);
            let file = if rust { "src/main.rs" } else { "main.go" };
            assert_eq!(source.path, format!("servers/{}/{file}", source.name));
        }
    }

    #[test]
    fn every_server_marks_every_route() {
        assert_eq!(missing_markers(), Vec::<String>::new());
    }

    #[test]
    fn every_server_marks_every_aspect_once() {
        assert_eq!(aspect_problems(), Vec::<String>::new());
    }

    #[test]
    fn framework_servers_keep_main_rs_to_two_screens() {
        assert_eq!(long_main_rs(), Vec::<String>::new());
        let with_serve = sources().iter().filter(|s| s.serve().is_some()).count();
        assert!(
            with_serve >= 8,
            "the eight framework servers have a serve.rs"
        );
        let hyper = sources().into_iter().find(|s| s.name == "hyper").unwrap();
        let (file, mark) = hyper.aspect_mark("graceful-shutdown").unwrap();
        assert_eq!(file, "serve.rs");
        assert!(mark.code.contains("GracefulShutdown"), "{mark:?}");
        assert_eq!(hyper.aspect_mark("routing").unwrap().0, "main.rs");
    }

    #[test]
    fn aspect_marks_point_at_the_next_line() {
        let source = "fn a() {\n    // aspect: routing: a match, by hand\n    match x {}\n}\n// aspect: not-found\n";
        let marks = aspect_marks(source);
        assert_eq!(
            marks[0],
            AspectMark {
                slug: "routing",
                how: "a match, by hand",
                line: 3,
                code: "match x {}",
            }
        );
        assert_eq!(
            (marks[1].slug, marks[1].how, marks[1].line),
            ("not-found", "", 0)
        );
        let snippet_source =
            "// route: json\n// aspect: json-body: serde\nlet a = 1;\n// end route\n";
        assert_eq!(snippet(snippet_source, "json").unwrap().code, "let a = 1;");
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
        let html =
            Highlighter::default().highlight("fn f() -> Result<Vec<u8>, E> { \"<b>\" }\n", "rs");
        assert!(!html.contains("<b>") && html.contains("&lt;"), "{html}");
        assert!(html.contains("hl-"), "{html}");
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }
}
