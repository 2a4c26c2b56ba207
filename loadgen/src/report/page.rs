//! `index.html`: one self-contained page (inline CSS and SVG, no script, nothing fetched) with
//! the results, the charts, the machine and settings, and the servers' code side by side. The
//! reader chooses which stacks' code to compare with checkboxes; CSS alone hides the others.

use std::fmt::Write as _;

use super::charts::all_charts;
use super::code::{
    ASPECTS, Highlighter, escape, highlight_css, lines_of_code, routes_shown, snippet, sources,
};
use super::markdown::{change_line, noise_note, ranking_line};
use super::pairs::{cell_text, pair_rows};
use super::{Export, ReportError, contender_colour, cpu_text, memory_text, server_colour};
use crate::analysis::{
    ALPHA, Comparison, Metric, NOISE_THRESHOLD, NOISY_HALF_WIDTH, ScenarioResult, Status,
};
use crate::format::{format_latency, group, plus_minus, short_rate};
use crate::stats::CLIENT_BOUND_BUSY;

/// `index.html`.
#[derive(Debug, Clone, Copy)]
pub struct Page;

impl Export for Page {
    fn file_name(&self) -> String {
        "index.html".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let mut charts = String::new();
        let mut picker_css = String::new();
        for chart in all_charts(run) {
            // A spectrum comes in layers, with boxes to pick the servers drawn.
            if let Some(scenario) = chart
                .file_name()
                .strip_prefix("spectrum-")
                .and_then(|name| name.strip_suffix(".svg"))
            {
                let (figure, css) = super::spectrum::figure(run, scenario)?;
                charts.push_str(&figure);
                picker_css.push_str(&css);
                continue;
            }
            let svg = String::from_utf8(chart.render(run)?).unwrap_or_default();
            // Inline SVG needs no XML declaration.
            let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
            // Charts with a group per scenario get the page's full width.
            let class = match chart.file_name().as_str() {
                "throughput.svg" | "cpu.svg" => "chart wide",
                _ => "chart",
            };
            let _ = write!(
                charts,
                "<figure class=\"{class}\">{svg}<figcaption>{}</figcaption></figure>",
                escape(&chart.file_name())
            );
        }
        let mut page = String::with_capacity(256 * 1024);
        let title = format!(
            "http-rosetta: {} on {}",
            run.record.started_at, run.record.environment.hostname
        );
        let _ = writeln!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{CSS}\n{}\n{}{picker_css}</style>\n</head>\n<body>",
            escape(&title),
            highlight_css(),
            chooser_css()
        );
        let _ = writeln!(
            page,
            "<header><h1>http-rosetta</h1><p>One small HTTP service written once per Rust server stack, benchmarked side by side. Run of {} on <b>{}</b>{}.</p></header>",
            escape(&run.record.started_at),
            escape(&run.record.environment.hostname),
            if run.record.partial {
                " <span class=\"badge\">partial: stopped early</span>"
            } else {
                ""
            }
        );
        let cost_link = if run.record.cost.is_some() {
            "<a href=\"#cost\">Cost per request</a> · "
        } else {
            ""
        };
        let idle_link = if run.record.idle.is_some() {
            "<a href=\"#idle\">Idle connections</a> · "
        } else {
            ""
        };
        let _ = write!(
            page,
            "<nav><a href=\"#results\">Results</a> · {cost_link}{idle_link}<a href=\"#rust-and-go\">Rust and Go</a> · <a href=\"#charts\">Charts</a> · <a href=\"#how\">How each stack does it</a> · <a href=\"#code\">The code side by side</a> · <a href=\"#machine\">Machine and settings</a></nav>\n<main>\n"
        );
        results_section(&mut page, run);
        page.push_str(&super::cost::html(run));
        page.push_str(&super::idle::html(run));
        page.push_str(&super::side_by_side::html(run));
        let _ = writeln!(
            page,
            "<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">{charts}</div></section>"
        );
        how_section(&mut page);
        code_section(&mut page);
        machine_section(&mut page, run);
        page.push_str("</main>\n<footer>Made by <code>loadgen report</code> from <code>run.json</code>.</footer>\n</body>\n</html>\n");
        Ok(page.into_bytes())
    }
}

/// A mark beside a server that carries a request-framing (smuggling) deviation, so that nobody
/// takes it for one that refuses every framing case; the text of each deviation is its title.
fn security_flag(server: &str) -> String {
    let why: Vec<String> = contract::security_deviations(server)
        .map(|d| format!("{}: {}", d.case, d.instead))
        .collect();
    if why.is_empty() {
        return String::new();
    }
    format!(
        " <abbr class=\"flag security\" title=\"security deviation (request framing) — {}\">⛔ framing</abbr>",
        escape(&why.join("; "))
    )
}

/// The servers with a security deviation, each with what it does instead, below the results.
fn security_part(page: &mut String, run: &Comparison) {
    // Each server once, in the order of the contenders, however its builds are interleaved.
    let mut servers: Vec<&str> = Vec::new();
    for contender in &run.contenders {
        if !servers.contains(&contender.server.as_str()) {
            servers.push(&contender.server);
        }
    }
    let rows: Vec<String> = servers
        .into_iter()
        .flat_map(|server| {
            contract::security_deviations(server).map(move |d| {
                format!(
                    "<li><b>{}</b>, {}: {}</li>",
                    escape(server),
                    escape(d.case),
                    escape(d.instead)
                )
            })
        })
        .collect();
    if !rows.is_empty() {
        let _ = write!(
            page,
            "<p class=\"badge\">⛔ framing: these servers carry a known request-framing deviation; do not expose them behind a proxy that frames requests differently (docs/safety.md, \"Safe to expose?\").</p><ul class=\"security\">{}</ul>",
            rows.concat()
        );
    }
}

fn results_section(page: &mut String, run: &Comparison) {
    let left_out: String = run
        .record
        .settings
        .left_out
        .iter()
        .map(|l| {
            format!(
                "<p class=\"badge\">{} left out: {}.</p>",
                escape(&l.scenario),
                escape(&l.why)
            )
        })
        .collect();
    let _ = write!(
        page,
        "<section id=\"results\"><h2>Results</h2><p class=\"{}\">{}</p>{left_out}<p>Median throughput of the rounds ± its 95 % interval, server CPU per answer, and the open-loop p99 latency at the rate named in the column, the same rate for every server. Higher throughput and lower CPU and latency are better.</p>",
        if run.noise.noisy { "badge" } else { "legend" },
        escape(&noise_note(run).replace("**", ""))
    );
    results_table(page, run);
    let _ = writeln!(
        page,
        "<p class=\"legend\"><b>⚠ client-bound</b>: a load thread was busy {:.0} % of the time or more, so the load generator may have set the pace; the figure is a lower bound for the server. <b>~ noisy</b>: the 95 % interval is wider than ±{:.0} % of the median. <b>⏱</b>: the load generator fell behind its open-loop schedule. <b>✗ failed</b>: not measured; see below.</p>",
        CLIENT_BOUND_BUSY * 100.0,
        NOISY_HALF_WIDTH * 100.0
    );
    rankings_part(page, run);
    security_part(page, run);
    changes_part(page, run);
    failures_part(page, run);
    page.push_str("</section>\n");
}

/// The results table: a row per server, a column per scenario, peak memory, and the memory per
/// idle connection when the run measured it.
fn results_table(page: &mut String, run: &Comparison) {
    page.push_str("<div class=\"scroll\"><table class=\"results\"><thead><tr><th>server</th>");
    for scenario in &run.record.settings.scenarios {
        let rate = run.record.sweep(scenario).and_then(|w| w.headline_rate());
        let _ = write!(
            page,
            "<th>{}{}</th>",
            escape(&run.record.scenario_label(scenario)),
            rate.map_or_else(String::new, |r| format!(
                "<br><small>p99 @ {} req/s</small>",
                short_rate(r.rate)
            ))
        );
    }
    page.push_str("<th>peak RSS</th>");
    let idle = run.record.idle.is_some();
    if idle {
        page.push_str("<th>memory per idle connection</th>");
    }
    page.push_str("</tr></thead><tbody>\n");
    for server in &run.contenders {
        let (r, g, b) = contender_colour(run, &server.label);
        let _ = write!(
            page,
            "<tr><th><span class=\"swatch\" style=\"background:rgb({r},{g},{b})\"></span>{}{}</th>",
            escape(&server.label),
            security_flag(&server.server)
        );
        for s in &server.scenarios {
            page.push_str(&result_cell(run, s));
        }
        let _ = write!(
            page,
            "<td>{}</td>",
            escape(&memory_text(server.rss_peak_kib))
        );
        if idle {
            let _ = write!(
                page,
                "<td>{}</td>",
                escape(&super::idle::per_connection(run, &server.label))
            );
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody></table></div>\n");
}

/// One server's cell of one scenario: throughput with its flags, CPU per answer and p99.
fn result_cell(run: &Comparison, s: &ScenarioResult) -> String {
    if s.status == Status::Failed {
        return "<td class=\"failed\" title=\"not measured\">✗ failed</td>".to_owned();
    }
    let mut flags = String::new();
    if s.client_bound {
        flags.push_str(" <abbr class=\"flag\" title=\"client-bound: the load generator was saturated; the server may be faster\">⚠</abbr>");
    }
    if s.noisy {
        let _ = write!(
            flags,
            " <abbr class=\"flag\" title=\"noisy: the 95 % interval is {} of the median\">~</abbr>",
            plus_minus(s.rps.relative_half_width())
        );
    }
    let latency = run.headline_point(s).map_or_else(String::new, |p| {
        format!(
            " · p99 {}{}",
            format_latency(p.latency_us.p99),
            if p.client_lagged { " ⏱" } else { "" }
        )
    });
    format!(
        "<td><b>{}</b> {} req/s{flags}<br><small>{}{latency}</small></td>",
        group(s.rps.median.round() as u64),
        plus_minus(s.rps.relative_half_width()),
        escape(&cpu_text(s.server_cpu_us.as_ref()))
    )
}

/// Which differences are real: each scenario's ranking on throughput and CPU, and every pair
/// folded away.
fn rankings_part(page: &mut String, run: &Comparison) {
    let _ = writeln!(
        page,
        "<h3>Which differences are real</h3><p>Best first. <b>&gt;</b>: the neighbours differ (Wilcoxon signed-rank test on the rounds paired by round, p &lt; {ALPHA}, medians at least {:.0} % apart); <b>≈</b>: a tie within the noise.</p><table><thead><tr><th>scenario</th><th>throughput</th><th>server CPU per answer</th></tr></thead><tbody>",
        NOISE_THRESHOLD * 100.0
    );
    for scenario in &run.record.settings.scenarios {
        let line = |metric| {
            run.ranking(scenario, metric)
                .map_or_else(|| "–".to_owned(), ranking_line)
        };
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            escape(&run.record.scenario_label(scenario)),
            escape(&line(Metric::Throughput)),
            escape(&line(Metric::ServerCpu))
        );
    }
    page.push_str("</tbody></table>\n");
    let latency = super::markdown::latency_rankings(run);
    if !latency.is_empty() {
        page.push_str("<p>Latency at the common rate (open loop, from each request's due time): every server was loaded at the same rate once per round, in the round's order, so its percentiles pair by round as throughput does; same test, same tie rule.</p><table><thead><tr><th>scenario at the common rate</th><th>p50</th><th>p90</th><th>p99</th></tr></thead><tbody>");
        for (scenario, lines) in latency {
            let _ = write!(page, "<tr><th>{}</th>", escape(&scenario));
            for line in lines {
                let _ = write!(page, "<td>{}</td>", escape(&line));
            }
            page.push_str("</tr>");
        }
        page.push_str("</tbody></table>\n");
    }
    pairs_part(page, run);
}

/// Every pair on throughput, folded away (the same rows as `pairs.csv`).
fn pairs_part(page: &mut String, run: &Comparison) {
    if run.contenders.len() <= 2 {
        return;
    }
    page.push_str("<details><summary>Every pair on throughput: the first server's median over the second's, ≈ for a tie (also in pairs.csv)</summary><div class=\"scroll\"><table><thead><tr><th>pair</th>");
    for label in run.record.scenario_labels(&run.record.settings.scenarios) {
        let _ = write!(page, "<th>{}</th>", escape(&label));
    }
    page.push_str("</tr></thead><tbody>");
    for row in pair_rows(run) {
        let _ = write!(
            page,
            "<tr><th>{} / {}</th>",
            escape(row.first),
            escape(row.second)
        );
        for cell in row.cells {
            let _ = write!(page, "<td>{}</td>", escape(&cell_text(cell)));
        }
        page.push_str("</tr>");
    }
    page.push_str("</tbody></table></div></details>\n");
}

/// For each server measured at two builds: what changed, with interval and verdict.
fn changes_part(page: &mut String, run: &Comparison) {
    if !run.changes.is_empty() {
        let _ = writeln!(
            page,
            "<h3>What changed between builds</h3><p>Two builds measured in the same rounds, paired by round: the median of the rounds' ratios with its 95 % interval; significant when the signed-rank test says p &lt; {ALPHA} and the change is at least {:.0} %. For CPU and latency, lower is better.</p><table><thead><tr><th>scenario</th><th>figure</th><th>change</th></tr></thead><tbody>",
            NOISE_THRESHOLD * 100.0
        );
        for change in &run.changes {
            let _ = writeln!(
                page,
                "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
                escape(&run.record.scenario_label(&change.scenario)),
                escape(&change.figure.name()),
                escape(&change_line(change))
            );
        }
        page.push_str("</tbody></table>\n");
    }
}

/// Everything that went wrong, and where each failed server's stderr is.
fn failures_part(page: &mut String, run: &Comparison) {
    let failures = run.failure_lines();
    if !failures.is_empty() {
        page.push_str("<h3>What went wrong</h3><ul>");
        for failure in failures {
            let _ = write!(page, "<li>{}</li>", escape(&failure));
        }
        page.push_str("</ul>");
        for contender in run.contenders.iter().filter(|c| c.status != Status::Ok) {
            if let Some(log) = run
                .record
                .contender(&contender.label)
                .and_then(|c| c.stderr_log.as_deref())
            {
                let _ = write!(
                    page,
                    "<p>{}'s stderr: <a href=\"{log}\">{log}</a></p>",
                    escape(&contender.label)
                );
            }
        }
    }
}

fn how_section(page: &mut String) {
    let sources = sources();
    page.push_str("<section id=\"how\"><h2>How each stack does it</h2><p>Where in each server's <code>main.rs</code> (or the <code>serve.rs</code> beside it; a Go server's <code>main.go</code>) the things every server must do are done: each cell is a <code>// aspect: NAME: how</code> comment in the source and the line under it.</p><div class=\"scroll\"><table class=\"how\"><thead><tr><th></th>");
    for source in &sources {
        let _ = write!(page, "<th>{}</th>", escape(source.name));
    }
    page.push_str("</tr></thead><tbody>\n");
    for (slug, title) in ASPECTS {
        let _ = write!(page, "<tr><th>{}</th>", escape(title));
        for source in &sources {
            match source.aspect_mark(slug) {
                Some((file, mark)) => {
                    let _ = write!(
                        page,
                        "<td>{}<br><code>{file}:{}</code> <code class=\"line\">{}</code></td>",
                        escape(mark.how),
                        mark.line,
                        escape(mark.code)
                    );
                }
                None => page.push_str("<td>–</td>"),
            }
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody></table></div>\n<h3>Each server and its counterpart in the Go article</h3><table class=\"servers\"><thead><tr><th>server</th><th>built on</th><th>Go counterpart</th><th>lines of code in main.rs or main.go</th></tr></thead><tbody>\n");
    for info in contract::SERVERS {
        let source = sources.iter().find(|source| source.name == info.name);
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(info.name),
            escape(info.built_on),
            escape(info.go_counterpart),
            source.map_or(0, |source| lines_of_code(source.text))
        );
    }
    page.push_str("</tbody></table></section>\n");
}

/// The stacks whose code is side by side when the page opens: the six the project started with.
/// The reader ticks the others in.
const SHOWN_AT_FIRST: &[&str] = &["std", "tokio", "hyper", "axum", "actix-web", "warp"];

/// For each stack, a rule that hides its code columns while its checkbox is not ticked.
fn chooser_css() -> String {
    let mut css = String::new();
    for source in sources() {
        let _ = writeln!(
            css,
            "#code:has(#show-{0}:not(:checked)) .col-{0} {{ display: none; }}",
            source.name
        );
    }
    css
}

fn code_section(page: &mut String) {
    let highlighter = Highlighter::default();
    page.push_str("<section id=\"code\"><h2>The same route in every stack</h2><p>Cut from each server's source between <code>// route: NAME</code> and <code>// end route</code> when this page was made. Tick the stacks to compare: side by side on a wide screen, one under another on a narrow one.</p>\n<fieldset class=\"chooser\"><legend>Stacks to compare</legend>");
    for source in sources() {
        let (r, g, b) = server_colour(source.name);
        let checked = if SHOWN_AT_FIRST.contains(&source.name) {
            " checked"
        } else {
            ""
        };
        let _ = write!(
            page,
            "<label><input type=\"checkbox\" id=\"show-{}\"{checked}><span class=\"swatch\" style=\"background:rgb({r},{g},{b})\"></span>{}</label> ",
            source.name,
            escape(source.name)
        );
    }
    page.push_str("</fieldset>\n");
    for (route, title) in routes_shown() {
        let _ = write!(
            page,
            "<article class=\"route\" id=\"route-{route}\"><h3>{}</h3><div class=\"columns\">",
            escape(&title)
        );
        for source in sources() {
            let Some(snippet) = snippet(source.text, route) else {
                continue;
            };
            let (r, g, b) = server_colour(source.name);
            let _ = write!(
                page,
                "<div class=\"code-col col-{}\" style=\"border-top-color:rgb({r},{g},{b})\" id=\"src-{}-{}\"><div class=\"code-head\"><b>{}</b> <small>{} lines · {}:{}</small></div><pre><code>{}</code></pre></div>",
                source.name,
                source.name,
                snippet.first_line,
                escape(source.name),
                snippet.lines_of_code,
                source.file_name(),
                snippet.first_line,
                highlighter.highlight(&snippet.code, source.extension())
            );
        }
        page.push_str("</div></article>\n");
    }
    page.push_str("</section>\n");
}

fn machine_section(page: &mut String, run: &Comparison) {
    page.push_str("<section id=\"machine\"><h2>Machine and settings</h2><dl>");
    for (term, value) in machine_rows(run) {
        let _ = write!(
            page,
            "<dt>{}</dt><dd><code>{}</code></dd>",
            escape(term),
            escape(&value)
        );
    }
    page.push_str("</dl></section>\n");
}

/// The machine, the build and the settings, a term and its value a row.
fn machine_rows(run: &Comparison) -> Vec<(&'static str, String)> {
    let env = &run.record.environment;
    let s = &run.record.settings;
    let mut rows: Vec<(&'static str, String)> = vec![
        ("CPU", format!("{} ({} CPUs)", env.cpu_model, env.cores)),
        ("kernel", format!("Linux {}", env.kernel)),
        ("toolchain", env.rustc.clone()),
        ("commit", env.git_commit.clone()),
        (
            "load generator build",
            if env.loadgen_release_build {
                "release".into()
            } else {
                "debug (figures unreliable)".into()
            },
        ),
        ("servers' binaries", env.server_binaries.clone()),
        (
            "CPU split",
            format!(
                "servers on {:?} with --threads {}; load generator on {:?} with {} load thread(s){}",
                s.cpus.server,
                s.server_threads,
                s.cpus.client,
                s.client_threads,
                if s.cpus.pinned {
                    ""
                } else {
                    "; not pinned apart"
                }
            ),
        ),
        (
            "load",
            format!(
                "{} engine, {} connections, closed loop, {} s per scenario after {} s of warmup ({} s per server); the pipelined scenario writes {} requests at a time",
                s.engine.name(),
                s.connections,
                s.duration_s,
                s.scenario_warmup_s,
                s.warmup_s,
                s.pipeline_depth
            ),
        ),
        (
            "rounds",
            format!("{} (servers in a fresh random order each round)", s.rounds),
        ),
        (
            "open-loop sweep",
            if s.sweep_rounds == 0 {
                "none".to_owned()
            } else {
                format!(
                    "{} at {} (shares of the slowest server's maximum), {} s each, {} round(s)",
                    s.sweep_scenarios.join(", "),
                    s.rates.join(", "),
                    s.sweep_duration_s,
                    s.sweep_rounds
                )
            },
        ),
        (
            "started / finished",
            format!("{} / {}", run.record.started_at, run.record.finished_at),
        ),
        ("command", run.record.command.clone()),
    ];
    rows.extend(counting_rows(run));
    for (name, version) in &env.crates {
        rows.push(("crate", format!("{name} {version}")));
    }
    rows
}

/// How the server CPU and memory were counted, and which loads were measured again.
fn counting_rows(run: &Comparison) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let cpu = super::counting::cpu_methods(run);
    if !cpu.is_empty() {
        rows.push(("server CPU counted by", cpu));
        rows.push((
            "peak memory from",
            super::counting::memory_method(run).to_owned(),
        ));
    }
    if let Some(repeats) = super::counting::repeats(run) {
        rows.push(("loads measured again", repeats));
    }
    rows
}

const CSS: &str = r#"
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
header, nav, main, footer { max-width: 1600px; margin: 0 auto; padding: 0 16px; }
header h1 { margin: 16px 0 4px; }
nav { padding-bottom: 8px; border-bottom: 1px solid var(--line); }
a { color: #0969da; }
h2 { margin-top: 32px; border-bottom: 1px solid var(--line); }
.badge { background: #fff8c5; border: 1px solid #d4a72c; padding: 1px 6px; border-radius: 4px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
table.results td { text-align: right; white-space: nowrap; }
/* On a narrow screen the wide results table scrolls sideways; the server names stay in view. */
table.results th:first-child, table.results td:first-child { position: sticky; left: 0; background: #fff; z-index: 1; }
td.failed { color: #cf222e; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.flag { text-decoration: none; color: #9a6700; cursor: help; }
.legend { color: var(--muted); font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 640px), 1fr)); gap: 16px; }
figure.chart { margin: 0; }
figure.wide { grid-column: 1 / -1; max-width: 1400px; }
figure.chart svg { width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; }
table.how td { min-width: 180px; font-size: 13px; }
code.line { display: block; color: var(--muted); white-space: pre-wrap; word-break: break-word; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 12px; }
.code-col { border: 1px solid var(--line); border-top: 4px solid; border-radius: 6px; min-width: 0; background: var(--bg-soft); }
.code-head { padding: 4px 8px; border-bottom: 1px solid var(--line); }
.code-head small { color: var(--muted); }
pre { margin: 0; padding: 8px; overflow-x: auto; font-size: 12.5px; line-height: 1.45; }
pre code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
fieldset.chooser { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 12px; }
fieldset.chooser label { display: inline-block; margin: 2px 10px 2px 0; white-space: nowrap; cursor: pointer; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dt { font-weight: 600; }
dd { margin: 0; word-break: break-word; }
footer { color: var(--muted); padding: 24px 16px; }
@media (max-width: 600px) { body { font-size: 14px; } th, td { padding: 4px; } dl { grid-template-columns: 1fr; } }
"#;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::results::{FailureRecord, Phase, sample};

    /// A run of every server with made-up figures over four rounds and a two-rate sweep of
    /// plaintext; one server failed.
    pub(crate) fn sample_run() -> Comparison {
        let contenders: Vec<(&str, &str)> =
            contract::SERVERS.iter().map(|s| (s.name, s.name)).collect();
        let mut record = sample::record(&contenders, &["plaintext", "pipelined"], 4);
        let sweep = sample::sweep();
        for (i, info) in contract::SERVERS.iter().enumerate() {
            if info.name == "warp" {
                record.measurements.failures.push(FailureRecord {
                    contender: "warp".into(),
                    phase: Phase::Closed,
                    round: 1,
                    scenario: None,
                    message: "left out: <script>alert(1)</script>".into(),
                });
                continue;
            }
            for scenario in ["plaintext", "pipelined"] {
                for round in 1..=4 {
                    let rps = 50_000.0 + 10_000.0 * i as f64 + 100.0 * f64::from(round);
                    let busy = if i == 0 { 0.97 } else { 0.6 };
                    let measure = sample::round(round, rps, 9.0, busy);
                    sample::add_round(&mut record, info.name, scenario, measure);
                }
            }
            for rate in &sweep.rates {
                let open = sample::open(info.name, "plaintext", 1, rate, 2_000);
                record.measurements.open.push(open);
            }
        }
        analyze(record)
    }

    fn page() -> String {
        String::from_utf8(Page.render(&sample_run()).unwrap()).unwrap()
    }

    #[test]
    fn the_page_shows_every_server_route_and_chart() {
        let page = page();
        for server in contract::SERVERS {
            assert!(
                page.contains(&format!("id=\"src-{}-", server.name)),
                "{} has no code column",
                server.name
            );
            assert!(
                page.contains(server.go_counterpart),
                "{}",
                server.go_counterpart
            );
        }
        for (route, _) in routes_shown() {
            assert!(page.contains(&format!("id=\"route-{route}\"")), "{route}");
        }
        assert_eq!(
            page.matches("class=\"code-col ").count(),
            routes_shown().len() * sources().len()
        );
        assert_eq!(
            page.matches("<svg").count(),
            5 + 1 + contract::SERVERS.len() - 1,
            "throughput, pipelined throughput, CPU, memory, the sweep of plaintext, and its spectrum in layers: the axes, then one per server but warp, which failed"
        );
        assert!(page.contains("client-bound") && page.contains("✗ failed"));
        assert!(
            page.contains("pipelined ×16"),
            "the pipelined scenario is labelled"
        );
        assert!(
            page.contains("p99 @ 25k req/s"),
            "the headline rate is named"
        );
        assert!(page.contains("Which differences are real"));
        for (_, title) in ASPECTS {
            assert!(
                page.contains(&format!("<th>{}</th>", escape(title))),
                "{title}"
            );
        }
    }

    #[test]
    fn the_chooser_offers_every_stack_and_ticks_the_original_six() {
        let page = page();
        for server in contract::SERVERS {
            let input = format!("<input type=\"checkbox\" id=\"show-{}\"", server.name);
            let at = page
                .find(&input)
                .unwrap_or_else(|| panic!("no box for {}", server.name));
            let ticked = page[at + input.len()..].starts_with(" checked");
            assert_eq!(
                ticked,
                SHOWN_AT_FIRST.contains(&server.name),
                "{}",
                server.name
            );
            let rule = format!(
                "#code:has(#show-{0}:not(:checked)) .col-{0} {{ display: none; }}",
                server.name
            );
            assert!(page.contains(&rule), "{rule}");
        }
        assert_eq!(SHOWN_AT_FIRST.len(), 6);
    }

    #[test]
    fn servers_with_a_security_deviation_are_marked_and_the_others_are_not() {
        let page = page();
        let flagged: Vec<&str> = contract::SERVERS
            .iter()
            .map(|s| s.name)
            .filter(|name| contract::security_deviations(name).next().is_some())
            .collect();
        assert!(flagged.contains(&"may-minihttp"), "{flagged:?}");
        for server in contract::SERVERS {
            let row = page
                .split("<tr><th><span class=\"swatch\"")
                .find(|row| {
                    row.split("</th>")
                        .next()
                        .unwrap_or("")
                        .ends_with(&format!("</span>{}", server.name))
                        || row.contains(&format!(
                            "</span>{} <abbr class=\"flag security\"",
                            server.name
                        ))
                })
                .unwrap_or_else(|| panic!("no results row for {}", server.name));
            let marked = row
                .split("</th>")
                .next()
                .unwrap_or("")
                .contains("flag security");
            assert_eq!(marked, flagged.contains(&server.name), "{}", server.name);
        }
        assert!(page.contains("<ul class=\"security\">"));
    }

    #[test]
    fn text_and_code_are_escaped() {
        let page = page();
        assert!(
            !page.contains("<script"),
            "a failure message got in unescaped"
        );
        assert!(page.contains("&lt;script&gt;"));
        // `Result<Json<Message>, …>` from axum's echo, escaped inside the highlighted code.
        assert!(page.contains("&lt;") && !page.contains("Result<Json<Message>"));
    }

    #[test]
    fn the_page_fetches_nothing_from_the_network() {
        let page = page();
        for attribute in [
            "src=",
            "href=\"http",
            "href='http",
            "url(",
            "@import",
            "<link",
            "<script",
        ] {
            let found: Vec<&str> = page
                .match_indices(attribute)
                .map(|(at, _)| &page[at..(at + 60).min(page.len())])
                .collect();
            assert!(found.is_empty(), "{attribute}: {found:?}");
        }
        // The only absolute URLs are SVG namespace names, which are never fetched.
        let urls = page.matches("http://").count() + page.matches("https://").count();
        let namespaces = page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
            + page
                .matches("xmlns:xlink=\"http://www.w3.org/1999/xlink\"")
                .count();
        assert_eq!(urls, namespaces);
    }
}
