//! The page's spectrum chart of one swept scenario, whose servers the reader picks as the code
//! view's stacks are picked: checkboxes, and CSS alone (`:has`) hides the lines not ticked.
//! The chart is drawn in layers of one size stacked on each other ([`SpectrumChart::layers`]):
//! the axes, then one transparent layer per server.

use std::fmt::Write as _;

use super::charts::SpectrumChart;
use super::code::escape;
use super::{ReportError, line_style};
use crate::analysis::Comparison;

/// The `<figure>` of `scenario`'s spectrum with its chooser, and the CSS rules that hide each
/// layer whose box is not ticked.
pub fn figure(run: &Comparison, scenario: &str) -> Result<(String, String), ReportError> {
    let chart = SpectrumChart(scenario.to_owned());
    let layers = chart.layers(run).map_err(|reason| ReportError::Render {
        file: "index.html".to_owned(),
        reason: format!("the spectrum of {scenario}: {reason}"),
    })?;
    // Ids from the scenario's name, which is a plain word ([a-z0-9-]).
    let id: String = scenario
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut html = format!(
        "<figure class=\"chart spectrum\" id=\"spectrum-{id}\"><fieldset class=\"chooser\"><legend>Servers to draw</legend>"
    );
    let mut css = String::new();
    for (i, (label, _)) in layers.iter().enumerate().skip(1) {
        let Some(label) = label else { continue };
        let ((r, g, b), dashed) = line_style(run, label);
        let border = if dashed { "dashed" } else { "solid" };
        let _ = write!(
            html,
            "<label><input type=\"checkbox\" id=\"spectrum-{id}-{i}\" checked><span class=\"swatch\" style=\"background:none;border:2px {border} rgb({r},{g},{b})\"></span>{}</label> ",
            escape(label)
        );
        let _ = writeln!(
            css,
            "#spectrum-{id}:has(#spectrum-{id}-{i}:not(:checked)) .layer-{i} {{ display: none; }}"
        );
    }
    html.push_str("</fieldset><p>Each line is one server at the common rate, every server at the same rate: how long its requests took from their due time (up, on a log scale) at each percentile (right, towards the slowest). Go servers are dashed in the colour of their Rust counterpart; untick a server to hide its line.</p><div class=\"layers\">");
    for (i, (_, svg)) in layers.iter().enumerate() {
        // Inline SVG needs no XML declaration.
        let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
        let _ = write!(html, "<div class=\"layer layer-{i}\">{svg}</div>");
    }
    let _ = write!(
        html,
        "</div><figcaption>{}</figcaption></figure>",
        escape(&format!("spectrum-{scenario}.svg"))
    );
    css.push_str(LAYERS_CSS);
    Ok((html, css))
}

/// The layers lie on each other: the first in the flow, the others over it.
const LAYERS_CSS: &str = ".layers { position: relative; }\n.layers > .layer + .layer { position: absolute; inset: 0; }\n.layers svg { width: 100%; height: auto; display: block; }\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::page::tests::sample_run;

    #[test]
    fn every_server_of_the_spectrum_has_a_box_and_a_layer_of_its_own() {
        let run = sample_run();
        let scenario = &run.record.sweeps[0].scenario;
        let (html, css) = figure(&run, scenario).unwrap();
        let drawn: Vec<&str> = run
            .contenders
            .iter()
            .filter(|c| {
                c.scenario(scenario)
                    .is_some_and(|s| run.headline_point(s).is_some())
            })
            .map(|c| c.label.as_str())
            .collect();
        assert!(!drawn.is_empty());
        assert_eq!(
            html.matches("<svg").count(),
            drawn.len() + 1,
            "axes, then a layer each"
        );
        assert_eq!(html.matches("type=\"checkbox\"").count(), drawn.len());
        assert_eq!(css.matches(":not(:checked)").count(), drawn.len());
        for label in drawn {
            assert!(
                html.contains(&format!("</span>{}</label>", escape(label))),
                "{label}"
            );
        }
    }
}
