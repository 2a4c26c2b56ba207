//! `summary.csv`, one row per server and scenario, and `sweep.csv`, one row per server,
//! scenario and open-loop rate: for spreadsheets and scripts.

use std::fmt::Write as _;

use super::{Export, ReportError};
use crate::results::{ComparisonRun, Status};

/// `summary.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Csv;

/// `sweep.csv`.
#[derive(Debug, Clone, Copy)]
pub struct SweepCsv;

const HEADER: &str = "server,scenario,pipeline,status,rounds,rps,rps_low,rps_high,rps_confidence,cv,server_cpu_us_per_req,server_cpu_us_low,server_cpu_us_high,client_cpu_us_per_req,client_busy,client_bound,noisy,unexpected,closed_p50_us,closed_p99_us,rss_peak_kib";

const SWEEP_HEADER: &str = "server,scenario,label,target_rate,achieved_rate,p50_us,p90_us,p99_us,p999_us,max_us,send_lag_p50_us,send_lag_p99_us,send_lag_max_us,client_lagged,rounds";

fn status_text(status: Status) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Export for Csv {
    fn file_name(&self) -> String {
        "summary.csv".to_owned()
    }

    fn render(&self, run: &ComparisonRun) -> Result<Vec<u8>, ReportError> {
        let mut out = String::from(HEADER);
        out.push('\n');
        for server in &run.servers {
            for s in &server.scenarios {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{:.1},{:.1},{:.1},{:.3},{:.4},{:.3},{:.3},{:.3},{:.2},{:.3},{},{},{},{},{},{}",
                    server.name,
                    s.name,
                    s.pipeline,
                    status_text(s.status),
                    s.rounds.len(),
                    s.rps.median,
                    s.rps.low,
                    s.rps.high,
                    s.rps.confidence,
                    s.cv,
                    s.server_cpu_us.median,
                    s.server_cpu_us.low,
                    s.server_cpu_us.high,
                    s.client_cpu_us_per_req,
                    s.client_busy,
                    s.client_bound,
                    s.noisy,
                    s.unexpected,
                    s.latency_us.p50,
                    s.latency_us.p99,
                    server.rss_peak_kib
                );
            }
        }
        Ok(out.into_bytes())
    }
}

impl Export for SweepCsv {
    fn file_name(&self) -> String {
        "sweep.csv".to_owned()
    }

    fn render(&self, run: &ComparisonRun) -> Result<Vec<u8>, ReportError> {
        let mut out = String::from(SWEEP_HEADER);
        out.push('\n');
        for server in &run.servers {
            for s in &server.scenarios {
                for p in &s.sweep {
                    let (l, lag) = (&p.latency_us, &p.send_lag_us);
                    let _ = writeln!(
                        out,
                        "{},{},{},{:.0},{:.1},{},{},{},{},{},{},{},{},{},{}",
                        server.name,
                        s.name,
                        p.label,
                        p.target_rate,
                        p.achieved_rate,
                        l.p50,
                        l.p90,
                        l.p99,
                        l.p999,
                        l.max,
                        lag.p50,
                        lag.p99,
                        lag.max,
                        p.client_lagged,
                        p.rounds
                    );
                }
            }
        }
        Ok(out.into_bytes())
    }
}
