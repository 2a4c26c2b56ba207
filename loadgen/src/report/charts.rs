//! The charts, as SVG drawn with plotters: one colour per server, the same in every chart.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::{Export, ReportError, server_colour};
use crate::compare::results::{ComparisonRun, Status};

/// `throughput.svg`: for each scenario a bar per server at the median req/s, whiskers from the
/// slowest to the fastest round.
#[derive(Debug, Clone, Copy)]
pub struct ThroughputChart;

impl Export for ThroughputChart {
    fn file_name(&self) -> String {
        "throughput.svg".to_owned()
    }

    fn render(&self, run: &ComparisonRun) -> Result<Vec<u8>, ReportError> {
        draw_throughput(run)
            .map(String::into_bytes)
            .map_err(|reason| ReportError::Render {
                file: self.file_name(),
                reason,
            })
    }
}

/// plotters measures text with a font of its own: DejaVu Sans, embedded, so that charts look the
/// same on every machine. The SVG names the family; the viewer draws it.
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Width of the legend strip, pixels.
const LEGEND_WIDTH: u32 = 130;

/// One coloured square and name per server, top to bottom.
fn draw_legend<'a, DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    servers: impl Iterator<Item = &'a str>,
) -> Result<(), String> {
    for (i, name) in servers.enumerate() {
        let (r, g, b) = server_colour(name);
        let y = 60 + 24 * i as i32;
        area.draw(&Rectangle::new(
            [(8, y - 7), (22, y + 7)],
            RGBColor(r, g, b).filled(),
        ))
        .map_err(|e| e.to_string())?;
        area.draw(&Text::new(
            name.to_owned(),
            (30, y - 8),
            ("sans-serif", 15).into_font(),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `12k`, `1.2M`: axis labels.
fn short_number(value: f64) -> String {
    match value {
        v if v >= 1e6 => format!("{:.1}M", v / 1e6),
        v if v >= 1e3 => format!("{:.0}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

fn draw_throughput(run: &ComparisonRun) -> Result<String, String> {
    register_fonts();
    let scenarios = &run.settings.scenarios;
    let servers = &run.servers;
    let top = servers
        .iter()
        .flat_map(|s| &s.scenarios)
        .map(|s| s.rps_max.max(s.rps))
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.12;
    let width = (160 * scenarios.len() as u32).clamp(640, 1400);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        // The legend gets a strip of its own on the right, so it never hides a bar.
        let (plot, legend) = root.split_horizontally(width - LEGEND_WIDTH);
        draw_legend(&legend, servers.iter().map(|s| s.name.as_str()))?;
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                "Throughput (req/s): median of rounds, whiskers min–max",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..scenarios.len() as f64, 0f64..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("requests per second")
            .y_label_formatter(&|v| short_number(*v))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        let slot = 0.8 / servers.len().max(1) as f64;
        for (j, server) in servers.iter().enumerate() {
            let (r, g, b) = server_colour(&server.name);
            let colour = RGBColor(r, g, b);
            let measured: Vec<(usize, f64, f64, f64)> = server
                .scenarios
                .iter()
                .filter(|s| s.status != Status::Failed)
                .filter_map(|s| {
                    scenarios
                        .iter()
                        .position(|n| *n == s.name)
                        .map(|i| (i, s.rps, s.rps_min, s.rps_max))
                })
                .collect();
            let x = |i: usize| i as f64 + 0.1 + j as f64 * slot;
            chart
                .draw_series(measured.iter().map(|&(i, rps, _, _)| {
                    Rectangle::new([(x(i), 0.0), (x(i) + slot * 0.9, rps)], colour.filled())
                }))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(measured.iter().map(|&(i, _, low, high)| {
                    let centre = x(i) + slot * 0.45;
                    PathElement::new(vec![(centre, low), (centre, high)], BLACK.stroke_width(1))
                }))
                .map_err(|e| e.to_string())?;
        }
        // Scenario names under their group of bars.
        for (i, name) in scenarios.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let style = TextStyle::from(("sans-serif", 15).into_font()).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                ),
            );
            plot.draw(&Text::new(name.clone(), (px, py + 8), style))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
