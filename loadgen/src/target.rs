//! What to send: the URL (or URLs, when it varies ids), method, headers and body, checked once
//! before any load.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use reqwest::Url;
use thiserror::Error;

/// The placeholder in a URL that is replaced by varying ids.
pub const ID_PLACEHOLDER: &str = "{id}";
/// How many different ids a URL with [`ID_PLACEHOLDER`] cycles through.
const ID_VARIANTS: usize = 1024;

/// Bad input describing the target.
#[derive(Debug, Error)]
pub enum TargetError {
    /// The URL does not parse.
    #[error("{url:?} is not a valid URL: {reason}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Not http or https.
    #[error("{0:?}: only http:// and https:// URLs can be loaded")]
    Scheme(String),
    /// The hyper and h1 engines speak plain HTTP only.
    #[error("the {0} engine speaks http:// only; use --engine reqwest for {1}")]
    NeedsHttp(&'static str, String),
    /// Not a method token.
    #[error("{0:?} is not an HTTP method")]
    Method(String),
    /// Not `Name: value`.
    #[error("{0:?} is not a header of the form 'Name: value'")]
    Header(String),
    /// The body file cannot be read.
    #[error("cannot read the body file {path}: {source}")]
    BodyFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The host does not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// host:port.
        host: String,
        /// Why.
        reason: String,
    },
}

/// The requests of a run.
#[derive(Debug, Clone)]
pub struct Target {
    /// Request method.
    pub method: Method,
    /// One URL, or [`ID_VARIANTS`] when the URL has an `{id}` placeholder; workers cycle
    /// through them.
    pub urls: Vec<Url>,
    /// Extra request headers.
    pub headers: HeaderMap,
    /// Request body (empty for none).
    pub body: Bytes,
}

impl Target {
    /// Checks and builds a target from the command line's pieces.
    pub fn new(
        url: &str,
        method: &str,
        headers: &[String],
        body: Bytes,
    ) -> Result<Self, TargetError> {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| TargetError::Method(method.to_owned()))?;
        let urls = if url.contains(ID_PLACEHOLDER) {
            varying_ids()
                .map(|id| parse_url(&url.replace(ID_PLACEHOLDER, &id.to_string())))
                .collect()
        } else {
            parse_url(url).map(|u| vec![u])
        }?;
        let mut header_map = HeaderMap::new();
        for header in headers {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| TargetError::Header(header.clone()))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| TargetError::Header(header.clone()))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| TargetError::Header(header.clone()))?;
            header_map.append(name, value);
        }
        Ok(Self {
            method,
            urls,
            headers: header_map,
            body,
        })
    }

    /// Reads a body file.
    pub fn read_body(path: &Path) -> Result<Bytes, TargetError> {
        std::fs::read(path)
            .map(Bytes::from)
            .map_err(|source| TargetError::BodyFile {
                path: path.display().to_string(),
                source,
            })
    }

    /// Whether every URL is plain http.
    pub fn is_plain_http(&self) -> bool {
        self.urls.iter().all(|u| u.scheme() == "http")
    }

    /// The request target in origin form (`/path?query`), as HTTP/1.1 sends it to a server.
    pub fn origin_form(url: &Url) -> String {
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The `Host` header of `url`: the host, and the port when the URL names one.
    pub fn host_header(url: &Url) -> String {
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The socket address of the first URL's host, resolved.
    pub fn socket_addr(&self) -> Result<SocketAddr, TargetError> {
        let url = &self.urls[0];
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let host_port = format!("{host}:{port}");
        let resolve_error = |reason: String| TargetError::Resolve {
            host: host_port.clone(),
            reason,
        };
        // An IPv6 literal comes bracketed from the URL; the resolver wants it bare.
        (host.trim_start_matches('[').trim_end_matches(']'), port)
            .to_socket_addrs()
            .map_err(|e| resolve_error(e.to_string()))?
            .next()
            .ok_or_else(|| resolve_error("no address".into()))
    }
}

fn parse_url(url: &str) -> Result<Url, TargetError> {
    let parsed = Url::parse(url).map_err(|e| TargetError::BadUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::Scheme(url.to_owned()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::BadUrl {
            url: url.to_owned(),
            reason: "no host".into(),
        });
    }
    Ok(parsed)
}

/// Ids spread over the whole u32 range (a fixed xorshift sequence, so runs are repeatable).
fn varying_ids() -> impl Iterator<Item = u32> {
    let mut state: u32 = 0x9E37_79B9;
    (0..ID_VARIANTS).map(move |_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_placeholder_makes_many_distinct_urls() {
        let target =
            Target::new("http://127.0.0.1:1/users/{id}", "GET", &[], Bytes::new()).unwrap();
        assert_eq!(target.urls.len(), ID_VARIANTS);
        let mut paths: Vec<&str> = target.urls.iter().map(Url::path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert!(paths.len() > ID_VARIANTS - 5);
        assert!(paths.iter().all(|p| {
            p.strip_prefix("/users/")
                .is_some_and(|id| id.parse::<u32>().is_ok())
        }));
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let make = |url: &str, method: &str, header: &str| {
            Target::new(url, method, &[header.to_owned()], Bytes::new())
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert!(make("not a url", "GET", "A: b").contains("not a valid URL"));
        assert!(make("ftp://x/", "GET", "A: b").contains("only http"));
        assert!(make("http://x/", "GE T", "A: b").contains("not an HTTP method"));
        assert!(make("http://x/", "GET", "no colon").contains("Name: value"));
        let target = Target::new(
            "http://x/",
            "post",
            &["X-A: 1".into()],
            Bytes::from_static(b"{}"),
        )
        .unwrap();
        assert_eq!(target.headers["x-a"], "1");
        assert!(target.is_plain_http());
    }
}
