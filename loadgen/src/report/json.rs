//! `run.json`: the whole run, every figure and histogram, the source of every other file.

use super::{Export, ReportError};
use crate::results::ComparisonRun;

/// `run.json`.
#[derive(Debug, Clone, Copy)]
pub struct Json;

impl Export for Json {
    fn file_name(&self) -> String {
        "run.json".to_owned()
    }

    fn render(&self, run: &ComparisonRun) -> Result<Vec<u8>, ReportError> {
        serde_json::to_vec_pretty(run).map_err(|e| ReportError::Render {
            file: self.file_name(),
            reason: e.to_string(),
        })
    }
}
