//! `summary.csv`, one row per contender and scenario, and `sweep.csv`, one row per contender,
//! scenario and open-loop rate: for spreadsheets and scripts. Each row names the contender's
//! label, its server and the engine that loaded it.

use std::fmt::Write as _;

use super::{Export, ReportError};
use crate::analysis::Comparison;
use crate::remote::NOT_MEASURED_REMOTE;
use crate::results::Percentiles;

/// `summary.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Csv;

/// `sweep.csv`.
#[derive(Debug, Clone, Copy)]
pub struct SweepCsv;

const HEADER: &str = "contender,server,engine,scenario,pipeline,status,rounds,rps,rps_low,rps_high,rps_confidence,cv,server_cpu_us_per_req,server_cpu_us_low,server_cpu_us_high,client_cpu_us_per_req,client_busy,client_bound,noisy,unexpected,closed_p50_us,closed_p99_us,rss_peak_kib";

const SWEEP_HEADER: &str = "contender,server,engine,scenario,label,target_rate,achieved_rate,p50_us,p90_us,p99_us,p999_us,max_us,send_lag_p50_us,send_lag_p99_us,send_lag_max_us,client_lagged,rounds";

impl Export for Csv {
    fn file_name(&self) -> String {
        "summary.csv".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let mut out = String::from(HEADER);
        out.push('\n');
        for server in &run.contenders {
            for s in &server.scenarios {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{:.1},{:.1},{:.1},{:.3},{:.4},{},{},{},{:.2},{:.3},{},{},{},{},{},{}",
                    server.label,
                    server.server,
                    run.record.settings.engine.name(),
                    s.name,
                    s.pipeline,
                    s.status.name(),
                    s.rounds.len(),
                    s.rps.median,
                    s.rps.low,
                    s.rps.high,
                    s.rps.confidence,
                    s.cv,
                    cpu(s.server_cpu_us.map(|e| e.median)),
                    cpu(s.server_cpu_us.map(|e| e.low)),
                    cpu(s.server_cpu_us.map(|e| e.high)),
                    s.client_cpu_us_per_req,
                    s.client_busy,
                    s.client_bound,
                    s.noisy,
                    s.unexpected,
                    s.latency_us.p50,
                    s.latency_us.p99,
                    server
                        .rss_peak_kib
                        .map_or_else(|| NOT_MEASURED_REMOTE.to_owned(), |kib| kib.to_string())
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

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        let mut out = String::from(SWEEP_HEADER);
        out.push('\n');
        for server in &run.contenders {
            for s in &server.scenarios {
                for p in &s.sweep {
                    let l = &p.latency_us;
                    let lag = |f: fn(&Percentiles) -> u64| {
                        p.send_lag_us
                            .as_ref()
                            .map_or_else(String::new, |lag| f(lag).to_string())
                    };
                    let _ = writeln!(
                        out,
                        "{},{},{},{},{},{:.0},{:.1},{},{},{},{},{},{},{},{},{},{}",
                        server.label,
                        server.server,
                        run.record.settings.engine.name(),
                        s.name,
                        p.label,
                        p.target_rate,
                        p.achieved_rate,
                        l.p50,
                        l.p90,
                        l.p99,
                        l.p999,
                        l.max,
                        lag(|l| l.p50),
                        lag(|l| l.p99),
                        lag(|l| l.max),
                        p.client_lagged,
                        p.rounds
                    );
                }
            }
        }
        Ok(out.into_bytes())
    }
}

/// A CPU figure of the CSV: three decimals, or "not measured (remote)", never zero.
fn cpu(value: Option<f64>) -> String {
    value.map_or_else(|| NOT_MEASURED_REMOTE.to_owned(), |v| format!("{v:.3}"))
}
