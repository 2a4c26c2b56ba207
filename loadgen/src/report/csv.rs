//! `summary.csv`: one row per server and scenario, for spreadsheets and scripts.

use std::fmt::Write as _;

use super::{Export, ReportError};
use crate::compare::results::ComparisonRun;

/// `summary.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Csv;

const HEADER: &str = "server,scenario,status,rps,rps_min,rps_max,cv,p50_us,p90_us,p99_us,p999_us,max_us,server_cpu_us_per_req,client_cpu_us_per_req,client_busy,client_bound,noisy,unexpected,rss_peak_kib";

impl Export for Csv {
    fn file_name(&self) -> String {
        "summary.csv".to_owned()
    }

    fn render(&self, run: &ComparisonRun) -> Result<Vec<u8>, ReportError> {
        let mut out = String::from(HEADER);
        out.push('\n');
        for server in &run.servers {
            for s in &server.scenarios {
                let l = &s.latency_us;
                let status = serde_json::to_value(s.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{},{},{status},{:.1},{:.1},{:.1},{:.4},{},{},{},{},{},{:.2},{:.2},{:.3},{},{},{},{}",
                    server.name,
                    s.name,
                    s.rps,
                    s.rps_min,
                    s.rps_max,
                    s.cv,
                    l.p50,
                    l.p90,
                    l.p99,
                    l.p999,
                    l.max,
                    s.server_cpu_us_per_req,
                    s.client_cpu_us_per_req,
                    s.client_busy,
                    s.client_bound,
                    s.noisy,
                    s.unexpected,
                    server.rss_peak_kib
                );
            }
        }
        Ok(out.into_bytes())
    }
}
