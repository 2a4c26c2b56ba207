//! The results page in a real browser: headless Chromium loads `index.html` from a tiny
//! comparison, the charts and a code column per server must be in its DOM, the stack chooser
//! must show the original six at first and whatever a reader ticks after, and screenshots at
//! 1400 and 400 px are saved for a person to look at. Skipped, and says so, without Chromium.

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
        harness::skip::skip(
            "the_page_renders_in_headless_chromium",
            harness::skip::Missing::Chromium,
            "none on PATH (apt-get install chromium)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut servers = PathBuf::new();
    for server in ["std", "hyper"] {
        servers = harness::server_binary(server)
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
    }
    let compare = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "compare",
            // The cost phase has tests of its own (tests/compare.rs); this one is about the page.
            "--no-cost",
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
            dom[start..end].matches("class=\"code-col ").count(),
            contract::SERVERS.len(),
            "{route} does not have a code column per server"
        );
    }

    // The chooser as a reader uses it. The page has no script of its own, so a copy gets one
    // that reads which columns the browser shows, ticks boxes, and reads again.
    let probe = dir.path().join("run").join("chooser.html");
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&probe, html.replace("</body>", CHOOSER_PROBE)).unwrap();
    let probe_url = format!("file://{}", probe.display());
    let dom = headless(&browser, &profile)
        .args(["--virtual-time-budget=3000", "--dump-dom"])
        .arg(&probe_url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let shown = dom
        .split_once("data-chooser=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.to_owned())
        .unwrap_or_else(|| panic!("the probe script did not run"));
    assert_eq!(
        shown, "std,tokio,hyper,axum,actix-web,warp|axum,rocket,may-minihttp",
        "the columns shown at first | after ticking axum, Rocket and may-minihttp alone"
    );

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shoot = [("index", &url), ("chooser-users", &probe_url)];
    for (name, url) in shoot {
        for width in [1400, 400] {
            let shot = shots.join(format!("{name}-{width}.png"));
            let status = headless(&browser, &profile)
                .args(["--virtual-time-budget=3000"])
                .arg(format!("--screenshot={}", shot.display()))
                .arg(format!("--window-size={width},2600"))
                .arg(url)
                .output()
                .unwrap();
            assert!(
                status.status.success() && shot.is_file(),
                "no screenshot {name} at {width} px"
            );
            eprintln!("screenshot: {}", shot.display());
        }
    }
}

/// Ticks axum, Rocket and may-minihttp alone, as a reader comparing them would, writes the
/// servers of the `/users/{id}` columns shown before and after into `data-chooser` on `<body>`,
/// and hides the other sections so that the screenshot shows the code.
const CHOOSER_PROBE: &str = r#"<script>
function shown() {
  return [...document.querySelectorAll('#route-users .code-col')]
    .filter(col => getComputedStyle(col).display !== 'none')
    .map(col => col.querySelector('.code-head b').textContent)
    .join(',');
}
const before = shown();
for (const box of document.querySelectorAll('.chooser input')) {
  const want = ['show-axum', 'show-rocket', 'show-may-minihttp'].includes(box.id);
  if (box.checked !== want) { box.click(); }
}
document.body.setAttribute('data-chooser', before + '|' + shown());
// For the screenshot: only the code, so that the three columns are in view.
for (const section of document.querySelectorAll('main > section:not(#code)')) {
  section.style.display = 'none';
}
</script>
</body>"#;
