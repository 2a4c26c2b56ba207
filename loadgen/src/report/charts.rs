//! The charts, as SVG drawn with plotters: one colour per server, the same in every chart, and
//! the legend on a strip of its own so it never hides data.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use thiserror::Error;

use super::{Export, ReportError, contender_colour};
use crate::analysis::{Comparison, ScenarioResult, Status};
use crate::format::short_rate;
use crate::results::cost::{CostTable, Count};

/// Per server: a `(value, low, high)` per group, `None` where it was not measured.
pub(crate) type BarSeries = Vec<(String, Vec<Option<(f64, f64, f64)>>)>;

/// Width of the legend strip, pixels.
const LEGEND_WIDTH: u32 = 130;
/// Height of every chart, pixels.
const HEIGHT: u32 = 440;

/// `throughput.svg`: for each scenario a bar per server at the median req/s, whiskers over the
/// 95 % interval. The pipelined scenarios get a chart of their own,
/// `throughput-pipelined.svg`: their req/s are ten times the others', and on one axis the
/// others' bars were too short to tell apart.
#[derive(Debug, Clone, Copy)]
pub struct ThroughputChart {
    /// The chart of the pipelined scenarios.
    pub pipelined: bool,
}

/// `cpu.svg`: server CPU time per answer, per scenario and server, whiskers over the interval.
#[derive(Debug, Clone, Copy)]
pub struct CpuChart;

/// `memory.svg`: each server's peak resident memory.
#[derive(Debug, Clone, Copy)]
pub struct MemoryChart;

/// `sweep-<scenario>.svg`: p99 latency against the rate sent, one line per server, every server
/// at the same rates (as wrk2's latency-by-throughput plots).
#[derive(Debug, Clone)]
pub struct SweepChart(pub String);

/// `spectrum-<scenario>.svg`: the latency percentile spectrum of every server at the sweep's
/// common rate, as HdrHistogram plots it (x: percentile on a log scale of 1/(1−p)).
#[derive(Debug, Clone)]
pub struct SpectrumChart(pub String);

/// The run's scenarios that are pipelined (or not).
fn scenarios_pipelined(run: &Comparison, pipelined: bool) -> Vec<String> {
    run.record
        .settings
        .scenarios
        .iter()
        .filter(|s| (run.record.pipeline_of(s) > 1) == pipelined)
        .cloned()
        .collect()
}

impl Export for ThroughputChart {
    fn file_name(&self) -> String {
        if self.pipelined {
            "throughput-pipelined.svg".to_owned()
        } else {
            "throughput.svg".to_owned()
        }
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let scenarios = scenarios_pipelined(run, self.pipelined);
        let series = per_scenario(run, &scenarios, |s| {
            Some((s.rps.median, s.rps.low, s.rps.high))
        });
        let chart = BarChart {
            title: if self.pipelined {
                "Pipelined throughput (req/s): median of rounds, whiskers the 95 % interval"
            } else {
                "Throughput (req/s): median of rounds, whiskers the 95 % interval"
            },
            y_desc: "requests per second",
            groups: &run.record.scenario_labels(&scenarios),
            series: &series,
            whiskers: true,
            colour: &|label| contender_colour(run, label),
        };
        finish(self, draw_bars(&chart))
    }
}

impl Export for CpuChart {
    fn file_name(&self) -> String {
        "cpu.svg".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let scenarios = &run.record.settings.scenarios;
        // A remote server's CPU time was not measured: no bar, never a zero one.
        let series = per_scenario(run, scenarios, |s| {
            s.server_cpu_us.map(|cpu| (cpu.median, cpu.low, cpu.high))
        });
        let chart = BarChart {
            title: "Server CPU time per answer (µs, lower is better), whiskers the 95 % interval",
            y_desc: "µs of CPU per answer",
            groups: &run.record.scenario_labels(scenarios),
            series: &series,
            whiskers: true,
            colour: &|label| contender_colour(run, label),
        };
        finish(self, draw_bars(&chart))
    }
}

impl Export for MemoryChart {
    fn file_name(&self) -> String {
        "memory.svg".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let groups = vec!["peak RSS".to_owned()];
        let series: BarSeries = run
            .contenders
            .iter()
            .map(|s| {
                let measured = s.status != Status::Failed;
                let rss = s.rss_peak_kib.filter(|_| measured);
                (
                    s.label.clone(),
                    vec![rss.map(|kib| (kib as f64 / 1024.0, 0.0, 0.0))],
                )
            })
            .collect();
        let chart = BarChart {
            title: "Peak resident memory (MiB, lower is better)",
            y_desc: "MiB",
            groups: &groups,
            series: &series,
            whiskers: false,
            colour: &|label| contender_colour(run, label),
        };
        finish(self, draw_bars(&chart))
    }
}

impl Export for SweepChart {
    fn file_name(&self) -> String {
        format!("sweep-{}.svg", self.0)
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let lines: Vec<(String, Vec<(f64, f64)>)> = run
            .contenders
            .iter()
            .filter_map(|server| {
                let scenario = server.scenario(&self.0)?;
                let mut points: Vec<(f64, f64)> = scenario
                    .sweep
                    .iter()
                    .map(|r| (r.achieved_rate, r.latency_us.p99 as f64 / 1000.0))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (!points.is_empty()).then(|| (server.label.clone(), points))
            })
            .collect();
        let chart = LineChart {
            title: &format!(
                "p99 latency against load, same rates for all (open loop): {}",
                run.record.scenario_label(&self.0)
            ),
            x_desc: "requests per second sent",
            y_desc: "p99 latency from due time (ms)",
            lines: &lines,
            percentile_axis: false,
            log_y: false,
            style: Box::new(|label| super::line_style(run, label)),
        };
        finish(self, draw_lines(&chart, Layer::All))
    }
}

impl SpectrumChart {
    /// One line per server at the common rate: `(label, (log10 1/(1−p), ms))`.
    fn lines(&self, run: &Comparison) -> Vec<(String, Vec<(f64, f64)>)> {
        run.contenders
            .iter()
            .filter_map(|server| {
                let point = run.headline_point(server.scenario(&self.0)?)?;
                let points = point
                    .histogram
                    .percentile_curve()
                    .into_iter()
                    .filter(|(p, _)| *p <= 99.99)
                    .map(|(p, us)| (percentile_x(p), us as f64 / 1000.0))
                    .collect();
                Some((server.label.clone(), points))
            })
            .collect()
    }

    fn chart<'a>(
        &self,
        run: &'a Comparison,
        title: &'a str,
        lines: &'a [(String, Vec<(f64, f64)>)],
    ) -> LineChart<'a> {
        LineChart {
            title,
            x_desc: "percentile",
            y_desc: "latency from due time (ms, log scale)",
            lines,
            percentile_axis: true,
            log_y: true,
            style: Box::new(move |label| super::line_style(run, label)),
        }
    }

    fn title(&self, run: &Comparison) -> String {
        let rate = run.record.sweep(&self.0).and_then(|s| s.headline_rate());
        format!(
            "Latency by percentile at {} req/s (open loop): {}",
            rate.map_or_else(|| "–".to_owned(), |r| short_rate(r.rate)),
            run.record.scenario_label(&self.0)
        )
    }

    /// The chart in layers of the same size, for a page that lets the reader pick the servers
    /// drawn: first the axes, then one transparent layer per server (its line and its legend
    /// entry), labelled.
    pub fn layers(&self, run: &Comparison) -> Result<Vec<(Option<String>, String)>, DrawError> {
        let lines = self.lines(run);
        let title = self.title(run);
        let chart = self.chart(run, &title, &lines);
        let mut layers = vec![(None, draw_lines(&chart, Layer::Axes)?)];
        for (i, (label, _)) in lines.iter().enumerate() {
            layers.push((Some(label.clone()), draw_lines(&chart, Layer::Line(i))?));
        }
        Ok(layers)
    }
}

impl Export for SpectrumChart {
    fn file_name(&self) -> String {
        format!("spectrum-{}.svg", self.0)
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let lines = self.lines(run);
        let title = self.title(run);
        finish(
            self,
            draw_lines(&self.chart(run, &title, &lines), Layer::All),
        )
    }
}

/// `cost.svg`: user-space instructions per request, a group per scenario, a bar per
/// contender.
#[derive(Debug, Clone, Copy)]
pub struct CostChart;

impl Export for CostChart {
    fn file_name(&self) -> String {
        "cost.svg".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let drawn = match &run.record.cost {
            Some(table) => instructions_chart(table),
            None => Err(DrawError("the run has no cost phase".to_owned())),
        };
        finish(self, drawn)
    }
}

/// Whether the run has an instruction count to draw.
pub fn has_cost_chart(run: &Comparison) -> bool {
    run.cost
        .iter()
        .any(|r| r.count == Count::Instructions && r.entries.iter().any(|e| e.rank.is_some()))
}

/// `cost.svg`: instructions per request, a group per scenario and a bar per server, whiskers
/// from the lowest to the highest measurement.
pub(crate) fn instructions_chart(table: &CostTable) -> Result<String, DrawError> {
    let groups: Vec<String> = table
        .servers
        .first()
        .map(|s| s.results.iter().map(|r| r.label.clone()).collect())
        .unwrap_or_default();
    let series: BarSeries = table
        .servers
        .iter()
        .map(|server| {
            let values = server
                .results
                .iter()
                .map(|r| {
                    let runs = r.instructions.runs();
                    let low = runs.iter().copied().fold(f64::INFINITY, f64::min);
                    let high = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    r.instructions.per_request().map(|v| (v, low, high))
                })
                .collect();
            (server.server.clone(), values)
        })
        .collect();
    draw_bars(&BarChart {
        title: "User-space instructions per request (callgrind; lower is better)",
        y_desc: "instructions per request",
        groups: &groups,
        series: &series,
        whiskers: true,
        colour: &super::server_colour,
    })
}

/// A chart that cannot be drawn: what plotters said, or what the run lacks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct DrawError(String);

/// Every chart a run can have: throughput, CPU, memory, and for each swept scenario its latency
/// against load and its percentile spectrum at the common rate.
pub fn all_charts(run: &Comparison) -> Vec<Box<dyn Export>> {
    let mut charts: Vec<Box<dyn Export>> = Vec::new();
    for pipelined in [false, true] {
        if !scenarios_pipelined(run, pipelined).is_empty() {
            charts.push(Box::new(ThroughputChart { pipelined }));
        }
    }
    charts.push(Box::new(CpuChart));
    charts.push(Box::new(MemoryChart));
    for sweep in &run.record.sweeps {
        charts.push(Box::new(SweepChart(sweep.scenario.clone())));
        charts.push(Box::new(SpectrumChart(sweep.scenario.clone())));
    }
    if has_cost_chart(run) {
        charts.push(Box::new(CostChart));
    }
    charts
}

pub(crate) fn finish<T: ?Sized>(
    export: &dyn Export<T>,
    drawn: Result<String, DrawError>,
) -> Result<Vec<u8>, ReportError> {
    drawn
        .map(String::into_bytes)
        .map_err(|reason| ReportError::Render {
            file: export.file_name(),
            reason: reason.to_string(),
        })
}

/// For each server, one `(value, low, high)` per scenario of `scenarios` (`None` where not
/// measured).
fn per_scenario(
    run: &Comparison,
    scenarios: &[String],
    value: impl Fn(&ScenarioResult) -> Option<(f64, f64, f64)>,
) -> BarSeries {
    run.contenders
        .iter()
        .map(|server| {
            let values = scenarios
                .iter()
                .map(|name| {
                    server
                        .scenarios
                        .iter()
                        .find(|s| s.name == *name && s.status != Status::Failed)
                        .and_then(&value)
                })
                .collect();
            (server.label.clone(), values)
        })
        .collect()
}

/// x of percentile `p` (0 to 100) on HdrHistogram's axis: log10(1 / (1 − p)).
fn percentile_x(p: f64) -> f64 {
    let remaining = (1.0 - p / 100.0).max(1e-4);
    (1.0 / remaining).log10()
}

/// plotters measures text with a font of its own: DejaVu Sans, embedded, so that charts are
/// laid out the same on every machine. The SVG names the family; the viewer draws it.
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// `12k`, `1.2M`, `0.5`: axis labels.
fn short_number(value: f64) -> String {
    match value.abs() {
        v if v >= 1e6 => format!("{:.1}M", value / 1e6),
        v if v >= 1e4 => format!("{:.0}k", value / 1e3),
        v if v >= 10.0 || v == 0.0 => format!("{value:.0}"),
        _ => format!("{value:.1}"),
    }
}

/// The chart width that fits `title` in one line over the plot: the caption is centred on the
/// plot, and a plot narrower than its title cut both ends off ("roughput (req/s)…").
fn width_for_title(title: &str) -> u32 {
    // About 10.5 px per character of the 19 px caption font, plus the margins.
    let characters = u32::try_from(title.chars().count()).unwrap_or(u32::MAX / 16);
    characters * 21 / 2 + 40 + LEGEND_WIDTH
}

/// A legend entry's colour, and for a line chart whether its line is dashed (`None`: a bar's
/// square).
type LegendStyle<'a> = dyn Fn(&str) -> ((u8, u8, u8), Option<bool>) + 'a;

/// One coloured square (or, for a line chart, a short line, dashed where the line is) and name
/// per series, top to bottom, each at the slot of its index.
fn draw_legend<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: impl Iterator<Item = (usize, &'a str)>,
    style: &LegendStyle<'_>,
) -> Result<(), DrawError> {
    let e = |err: &dyn std::fmt::Display| DrawError(err.to_string());
    for (i, name) in names {
        let ((r, g, b), line) = style(name);
        let colour = RGBColor(r, g, b);
        let y = 60 + 24 * i32::try_from(i).unwrap_or(i32::MAX / 48);
        match line {
            None => area
                .draw(&Rectangle::new([(8, y - 7), (22, y + 7)], colour.filled()))
                .map_err(|err| e(&err))?,
            Some(dashed) => {
                let segments: &[(i32, i32)] = if dashed {
                    &[(4, 10), (14, 20), (24, 26)]
                } else {
                    &[(4, 26)]
                };
                for &(from, to) in segments {
                    area.draw(&PathElement::new(
                        vec![(from, y), (to, y)],
                        colour.stroke_width(3),
                    ))
                    .map_err(|err| e(&err))?;
                }
            }
        }
        let text =
            TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(name.to_owned(), (30, y), text))
            .map_err(|err| e(&err))?;
    }
    Ok(())
}

/// A bar chart: groups along x, a bar per series in each, optional whiskers.
pub(crate) struct BarChart<'a> {
    pub(crate) title: &'a str,
    pub(crate) y_desc: &'a str,
    pub(crate) groups: &'a [String],
    pub(crate) series: &'a BarSeries,
    pub(crate) whiskers: bool,
    /// The colour of a contender's label.
    pub(crate) colour: &'a dyn Fn(&str) -> (u8, u8, u8),
}

/// Draws `chart` as SVG.
pub(crate) fn draw_bars(chart: &BarChart<'_>) -> Result<String, DrawError> {
    register_fonts();
    let e = |err: &dyn std::fmt::Display| DrawError(err.to_string());
    let top = chart
        .series
        .iter()
        .flat_map(|(_, values)| values.iter().flatten())
        .map(|&(v, _, high)| v.max(high))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.12;
    let width = (170 * chart.groups.len() as u32 + LEGEND_WIDTH)
        .max(width_for_title(chart.title))
        .clamp(520, 1400);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|err| e(&err))?;
        let (plot, legend) = root.split_horizontally(width - LEGEND_WIDTH);
        draw_legend(
            &legend,
            chart
                .series
                .iter()
                .map(|(name, _)| name.as_str())
                .enumerate(),
            &|name| ((chart.colour)(name), None),
        )?;
        let mut ctx = ChartBuilder::on(&plot)
            .caption(chart.title, ("sans-serif", 19))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..chart.groups.len() as f64, 0f64..top)
            .map_err(|err| e(&err))?;
        ctx.configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(chart.y_desc)
            .y_label_formatter(&|v| short_number(*v))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|err| e(&err))?;
        let slot = 0.8 / chart.series.len().max(1) as f64;
        for (j, (name, values)) in chart.series.iter().enumerate() {
            let (r, g, b) = (chart.colour)(name);
            let colour = RGBColor(r, g, b);
            let x = |i: usize| i as f64 + 0.1 + j as f64 * slot;
            let bars = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|(value, _, _)| (i, value)));
            ctx.draw_series(bars.map(|(i, value)| {
                Rectangle::new([(x(i), 0.0), (x(i) + slot * 0.9, value)], colour.filled())
            }))
            .map_err(|err| e(&err))?;
            if chart.whiskers {
                let spans = values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|(_, low, high)| (i, low, high)));
                ctx.draw_series(spans.map(|(i, low, high)| {
                    let centre = x(i) + slot * 0.45;
                    PathElement::new(vec![(centre, low), (centre, high)], BLACK.stroke_width(1))
                }))
                .map_err(|err| e(&err))?;
            }
        }
        for (i, name) in chart.groups.iter().enumerate() {
            let (px, py) = ctx.backend_coord(&(i as f64 + 0.5, 0.0));
            let style = TextStyle::from(("sans-serif", 15).into_font())
                .pos(Pos::new(HPos::Center, VPos::Top));
            plot.draw(&Text::new(name.clone(), (px, py + 8), style))
                .map_err(|err| e(&err))?;
        }
        root.present().map_err(|err| e(&err))?;
    }
    Ok(svg)
}

/// A line's colour and whether it is dashed.
type LineStyle<'a> = Box<dyn Fn(&str) -> ((u8, u8, u8), bool) + 'a>;

struct LineChart<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    lines: &'a [(String, Vec<(f64, f64)>)],
    /// x is `percentile_x`: label it 0 %, 90 %, 99 %, …
    percentile_axis: bool,
    /// y on a logarithmic scale (decades), so that a median of 50 µs and a tail of 5 ms both
    /// read.
    log_y: bool,
    /// The colour of a contender's label, and whether its line is dashed.
    style: LineStyle<'a>,
}

/// What of a line chart to draw: all of it, or, for a page that lets the reader pick the
/// lines, its axes alone or one line alone (on a transparent background, its legend entry at
/// its own place) over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    All,
    Axes,
    Line(usize),
}

impl Layer {
    /// Whether this layer draws the `i`-th line (and its legend entry).
    fn draws(self, i: usize) -> bool {
        match self {
            Layer::All => true,
            Layer::Axes => false,
            Layer::Line(only) => i == only,
        }
    }
}

/// Where a chart's value `y` sits on its y axis: its decade on a logarithmic axis.
fn y_position(chart: &LineChart<'_>, y: f64) -> f64 {
    if chart.log_y {
        y.max(LOG_FLOOR_MS).log10()
    } else {
        y
    }
}

/// The x and y ranges that hold every point of `chart`: whole decades on a logarithmic axis.
fn ranges(chart: &LineChart<'_>) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let points = chart.lines.iter().flat_map(|(_, p)| p.iter());
    let (x_max, y_min, y_max) = points.fold(
        (0.0_f64, f64::INFINITY, f64::NEG_INFINITY),
        |(x, low, high), &(px, py)| {
            let y = y_position(chart, py);
            (x.max(px), low.min(y), high.max(y))
        },
    );
    let x_range = if chart.percentile_axis {
        0.0..4.0
    } else {
        0.0..(x_max * 1.05).max(1.0)
    };
    let y_range = if chart.log_y {
        let low = if y_min.is_finite() {
            y_min.floor()
        } else {
            -1.0
        };
        let high = if y_max.is_finite() { y_max.ceil() } else { 1.0 };
        low..high.max(low + 1.0)
    } else {
        0.0..(y_max * 1.1).max(0.01)
    };
    (x_range, y_range)
}

/// A tick of the percentile axis, where each step is one more nine.
fn percentile_label(x: &f64) -> String {
    match x.round() as i32 {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        2 => "99%".to_owned(),
        3 => "99.9%".to_owned(),
        _ => "99.99%".to_owned(),
    }
}

/// The lowest y a logarithmic axis shows, ms (1 µs: the histograms' resolution).
const LOG_FLOOR_MS: f64 = 0.001;

/// A decade of a logarithmic latency axis, in ms: `0.01`, `0.1`, `1`, `10`.
fn decade_label(log: f64) -> String {
    let value = 10f64.powf(log);
    if value >= 1.0 {
        format!("{value:.0}")
    } else {
        let decimals = usize::try_from((-log.floor()) as i64).unwrap_or(0);
        format!("{value:.decimals$}")
    }
}

fn draw_lines(chart: &LineChart<'_>, layer: Layer) -> Result<String, DrawError> {
    register_fonts();
    let e = |err: &dyn std::fmt::Display| DrawError(err.to_string());
    let y_of = |y: f64| y_position(chart, y);
    let (x_range, y_range) = ranges(chart);
    let width = width_for_title(chart.title).clamp(700, 1400);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, HEIGHT)).into_drawing_area();
        if !matches!(layer, Layer::Line(_)) {
            root.fill(&WHITE).map_err(|err| e(&err))?;
        }
        let (plot, legend) = root.split_horizontally(width - LEGEND_WIDTH);
        let legend_entries = chart
            .lines
            .iter()
            .enumerate()
            .filter(|(i, _)| layer.draws(*i))
            .map(|(i, (name, _))| (i, name.as_str()));
        draw_legend(&legend, legend_entries, &|name| {
            let (colour, dashed) = (chart.style)(name);
            (colour, Some(dashed))
        })?;
        // A line's layer lays its plot out as the axes' layer does (the same caption, drawn
        // transparent), so that the layers line up.
        let caption_colour = match layer {
            Layer::Line(_) => RGBAColor(0, 0, 0, 0.0),
            _ => RGBAColor(0, 0, 0, 1.0),
        };
        let mut ctx = ChartBuilder::on(&plot)
            .caption(
                chart.title,
                TextStyle::from(("sans-serif", 19).into_font()).color(&caption_colour),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, y_range)
            .map_err(|err| e(&err))?;
        if !matches!(layer, Layer::Line(_)) {
            let mut mesh = ctx.configure_mesh();
            mesh.x_desc(chart.x_desc)
                .y_desc(chart.y_desc)
                .label_style(("sans-serif", 15));
            if chart.log_y {
                mesh.y_label_formatter(&|v| decade_label(*v));
            } else {
                mesh.y_label_formatter(&|v| short_number(*v));
            }
            if chart.percentile_axis {
                mesh.x_labels(5).x_label_formatter(&percentile_label);
            } else {
                mesh.x_label_formatter(&|v| short_number(*v));
            }
            mesh.draw().map_err(|err| e(&err))?;
        }
        for (i, (name, points)) in chart.lines.iter().enumerate() {
            if !layer.draws(i) {
                continue;
            }
            let ((r, g, b), dashed) = (chart.style)(name);
            let colour = RGBColor(r, g, b);
            let points: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x, y_of(y))).collect();
            if dashed {
                ctx.draw_series(DashedLineSeries::new(
                    points.iter().copied(),
                    8,
                    5,
                    colour.stroke_width(2),
                ))
                .map_err(|err| e(&err))?;
            } else {
                ctx.draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|err| e(&err))?;
            }
            if !chart.percentile_axis {
                ctx.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                    .map_err(|err| e(&err))?;
            }
        }
        root.present().map_err(|err| e(&err))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_axis_is_logarithmic_in_the_tail() {
        assert_eq!(percentile_x(0.0), 0.0);
        assert!((percentile_x(90.0) - 1.0).abs() < 1e-9);
        assert!((percentile_x(99.9) - 3.0).abs() < 1e-9);
        assert!((percentile_x(100.0) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_latency_axis_is_labelled_by_decade() {
        assert_eq!(decade_label(-2.0), "0.01");
        assert_eq!(decade_label(0.0), "1");
        assert_eq!(decade_label(1.0), "10");
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(short_number(123_456.0), "123k");
        assert_eq!(short_number(2_500_000.0), "2.5M");
        assert_eq!(short_number(0.25), "0.2");
        assert_eq!(short_number(0.0), "0");
    }
}
