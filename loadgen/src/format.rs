//! Numbers as people read them: thousands grouped, latencies in the unit that suits them,
//! intervals as ± shares. Shared by the text of `loadgen run` and every report of a comparison;
//! and durations as people write them (`10s`, `500ms`), read back for the command line.

use std::time::Duration;

use thiserror::Error;

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A float with one decimal, grouped: `123,456.7`.
pub fn group_f(x: f64) -> String {
    let tenths = (x * 10.0).round().max(0.0) as u64;
    format!("{}.{}", group(tenths / 10), tenths % 10)
}

/// A latency in µs as people read it: `850 µs`, `1.23 ms`, `2.5 s`.
pub fn format_latency(micros: u64) -> String {
    match micros {
        0..=999 => format!("{micros} µs"),
        1_000..=999_999 => format!("{:.2} ms", micros as f64 / 1e3),
        _ => format!("{:.2} s", micros as f64 / 1e6),
    }
}

/// A rate in requests per second, short: `950`, `43k`, `1.2M`.
pub fn short_rate(rate: f64) -> String {
    match rate.abs() {
        r if r >= 1e6 => format!("{:.1}M", rate / 1e6),
        r if r >= 1e4 => format!("{:.0}k", rate / 1e3),
        r if r >= 1e3 => format!("{:.1}k", rate / 1e3),
        _ => format!("{rate:.0}"),
    }
}

/// An interval's half-width as a share: `±1.2 %`.
pub fn plus_minus(share: f64) -> String {
    format!("±{:.1} %", share * 100.0)
}

/// `value` with `decimals` decimals, thousands grouped.
pub fn number(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let grouped = whole
        .parse::<u64>()
        .map(group)
        .unwrap_or_else(|_| whole.to_owned());
    if fraction.is_empty() {
        grouped
    } else {
        format!("{grouped}.{fraction}")
    }
}

/// A text that is not a duration.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DurationError {
    /// A number of seconds that no duration holds (below zero, too large, not finite).
    #[error("{text:?}: {source}")]
    Seconds {
        /// What was given.
        text: String,
        /// Why.
        source: std::time::TryFromFloatSecsError,
    },
    /// Neither a number nor a duration with units.
    #[error("{text:?} is not a duration like 10s, 500ms or 1m: {source}")]
    Units {
        /// What was given.
        text: String,
        /// Why.
        source: humantime::DurationError,
    },
}

/// Parses `10s`, `500ms`, `1m`, `1h 30m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|source| DurationError::Seconds {
            text: text.to_owned(),
            source,
        });
    }
    humantime::parse_duration(text).map_err(|source| DurationError::Units {
        text: text.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group_f(123456.78), "123,456.8");
    }

    #[test]
    fn latencies_and_rates_are_short() {
        assert_eq!(format_latency(850), "850 µs");
        assert_eq!(format_latency(1_234), "1.23 ms");
        assert_eq!(format_latency(2_500_000), "2.50 s");
        assert_eq!(short_rate(43_000.0), "43k");
        assert_eq!(short_rate(4_300.0), "4.3k");
        assert_eq!(short_rate(950.0), "950");
        assert_eq!(plus_minus(0.0123), "±1.2 %");
    }

    #[test]
    fn durations_parse_in_the_usual_forms() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
    }
}
