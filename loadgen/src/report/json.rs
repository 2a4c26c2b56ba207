//! `run.json`: the plan's facts and every raw measurement, the source of every other file.

use super::{Export, ReportError};
use crate::analysis::Comparison;

/// `run.json`.
#[derive(Debug, Clone, Copy)]
pub struct Json;

impl Export for Json {
    fn file_name(&self) -> String {
        "run.json".to_owned()
    }

    fn render(&self, run: &Comparison) -> Result<Vec<u8>, ReportError> {
        serde_json::to_vec_pretty(&run.record).map_err(|e| ReportError::Render {
            file: self.file_name(),
            reason: e.to_string(),
        })
    }
}
