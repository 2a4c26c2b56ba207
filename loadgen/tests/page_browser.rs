//! The results page in a real browser: headless Chromium loads `index.html` from a tiny
//! comparison, the charts and the six code columns must be in its DOM, and screenshots at 1400
//! and 400 px are saved for a person to look at. Skipped, and says so, without Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CHROMIUM").unwrap_or_default(),
        "chromium".into(),
        "chromium-browser".into(),
        "google-chrome".into(),
    ];
    candidates
        .into_iter()
        .filter(|c| !c.is_empty())
        .find_map(|name| {
            let found = Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {name}"))
                .output()
                .ok()?;
            found
                .status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
        })
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn the_page_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut servers = PathBuf::new();
    for server in ["std", "hyper"] {
        servers = conformance::server_binary(server)
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
    }
    let compare = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "compare",
            "--servers",
            "std,hyper",
            "--scenarios",
            "plaintext,json",
            "-d",
            "200ms",
            "--warmup",
            "50ms",
            "--scenario-warmup",
            "50ms",
            "--rounds",
            "1",
            "--no-progress",
            "--server-bin-dir",
        ])
        .arg(servers)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        compare.status.success(),
        "{}",
        String::from_utf8_lossy(&compare.stderr)
    );
    let page = out.join("index.html");
    let url = format!("file://{}", page.display());
    let profile = dir.path().join("profile");

    let dom = headless(&browser, &profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<svg"), "no chart in the DOM");
    assert!(dom.matches("class=\"chart").count() >= 5, "charts missing");
    for route in ["plaintext", "json", "users", "echo", "error", "not-found"] {
        let start = dom
            .find(&format!("id=\"route-{route}\""))
            .unwrap_or_else(|| panic!("no route {route}"));
        let end = dom[start..]
            .find("</article>")
            .map_or(dom.len(), |e| start + e);
        assert_eq!(
            dom[start..end].matches("class=\"code-col\"").count(),
            6,
            "{route} does not have six code columns"
        );
    }

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for width in [1400, 400] {
        let shot = shots.join(format!("index-{width}.png"));
        let status = headless(&browser, &profile)
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("--window-size={width},2600"))
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            status.status.success() && shot.is_file(),
            "no screenshot at {width} px"
        );
        eprintln!("screenshot: {}", shot.display());
    }
}
