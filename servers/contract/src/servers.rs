//! The servers of the workspace: their names, ports, toolchains and Go counterparts.

/// How a server is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// The package `server-<name>` of this cargo workspace.
    Cargo,
    /// The Go module in `servers/<name>`, built with `go build -o server-<name>` (Go 1.26 or
    /// newer on `PATH`, or in `/usr/local/go/bin`); without Go it is skipped, with one line
    /// that says so.
    Go,
}

impl Build {
    /// The language, for tables: `Rust` or `Go`.
    pub fn language(self) -> &'static str {
        match self {
            Self::Cargo => "Rust",
            Self::Go => "Go",
        }
    }
}

/// One server of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// Short name: the folder under `servers/`, the binary is `server-<name>`, the `Server`
    /// header says this.
    pub name: &'static str,
    /// Default port, so that all of them can run at once.
    pub port: u16,
    /// What it is built on.
    pub built_on: &'static str,
    /// Its counterpart in the Go article that wrote one server six ways (for a Go server: which
    /// of the six it is).
    pub go_counterpart: &'static str,
    /// How it is built: with cargo, or with `go build`.
    pub build: Build,
    /// For a Go server, the Rust servers that answer the same idea, for the side-by-side view;
    /// empty for the Rust servers.
    pub rust_counterparts: &'static [&'static str],
}

/// The servers, in the order the README lists them (the ten Rust ones, then the Go article's
/// six in Go): a new server is one more row.
pub const SERVERS: &[ServerInfo] = &[
    ServerInfo {
        name: "std",
        port: 8081,
        built_on: "std::net only: blocking sockets, a thread per connection, httparse",
        go_counterpart: "net/http with HandleFunc (the bare basics)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "tokio",
        port: 8082,
        built_on: "tokio's TcpListener + httparse: a hand-written async HTTP/1.1 server",
        go_counterpart: "fasthttp (low level, built for speed)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "hyper",
        port: 8083,
        built_on: "hyper 1.x + hyper-util: service_fn and a match on method and path",
        go_counterpart: "net/http with its own Handler",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "axum",
        port: 8084,
        built_on: "axum 0.8",
        go_counterpart: "echo",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "actix-web",
        port: 8085,
        built_on: "actix-web 4",
        go_counterpart: "gin",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "warp",
        port: 8086,
        built_on: "warp 0.4 filters",
        go_counterpart: "fasthttp + fasthttprouter",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "ntex",
        port: 8087,
        built_on: "ntex 3 on its own runtime: actix-web's sibling, rebuilt for speed",
        go_counterpart: "gin, as actix-web (closest idea)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "salvo",
        port: 8088,
        built_on: "salvo 1: a tree of Routers, #[handler] functions, hoops and a Depot",
        go_counterpart: "beyond the article (closest idea: the router and middleware of echo)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "rocket",
        port: 8089,
        built_on: "Rocket 0.5: attribute-macro routes, request guards, catchers",
        go_counterpart: "beyond the article (nothing there routes by attribute)",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "may-minihttp",
        port: 8090,
        built_on: "may_minihttp on may's stackful coroutines, routed by hand",
        go_counterpart: "net/http: a goroutine per connection (closest idea); an engine like fasthttp",
        build: Build::Cargo,
        rust_counterparts: &[],
    },
    ServerInfo {
        name: "go-nethttp",
        port: 8091,
        built_on: "Go net/http: http.HandleFunc on the default ServeMux",
        go_counterpart: "way 1 of the six: net/http with HandleFunc",
        build: Build::Go,
        rust_counterparts: &["std", "may-minihttp"],
    },
    ServerInfo {
        name: "go-handler",
        port: 8092,
        built_on: "Go net/http: a Handler type of its own that routes from a table",
        go_counterpart: "way 2 of the six: net/http with its own Handler",
        build: Build::Go,
        rust_counterparts: &["hyper"],
    },
    ServerInfo {
        name: "go-echo",
        port: 8093,
        built_on: "echo v4 (labstack/echo) on net/http",
        go_counterpart: "way 3 of the six: echo",
        build: Build::Go,
        rust_counterparts: &["axum", "salvo"],
    },
    ServerInfo {
        name: "go-gin",
        port: 8094,
        built_on: "gin (gin-gonic/gin) on net/http, release mode",
        go_counterpart: "way 4 of the six: gin",
        build: Build::Go,
        rust_counterparts: &["actix-web", "ntex"],
    },
    ServerInfo {
        name: "go-fasthttp",
        port: 8095,
        built_on: "fasthttp (valyala/fasthttp): one RequestHandler switching on the path",
        go_counterpart: "way 5 of the six: fasthttp",
        build: Build::Go,
        rust_counterparts: &["tokio", "may-minihttp"],
    },
    ServerInfo {
        name: "go-fasthttprouter",
        port: 8096,
        built_on: "fasthttp with fasthttp/router (buaazp/fasthttprouter's successor)",
        go_counterpart: "way 6 of the six: fasthttp + fasthttprouter",
        build: Build::Go,
        rust_counterparts: &["warp"],
    },
];

/// Looks a server up by its short name.
pub fn server(name: &str) -> Option<&'static ServerInfo> {
    SERVERS.iter().find(|s| s.name == name)
}
