//! The JSON report: one document written when the run finishes, described by the committed
//! schema `harness/report.schema.json` (`"schema": "alipay-harness/report/v1"`).

use std::io::{self, Write};

use serde::Serialize;

use super::{Reporter, RunInfo, RunReport, Sink};
use crate::verdict::CaseResult;

/// The value of the report's `schema` field.
pub const SCHEMA: &str = "alipay-harness/report/v1";

/// Writes the JSON report.
pub struct JsonReporter<'a> {
    out: Sink<'a>,
}

impl<'a> JsonReporter<'a> {
    /// A reporter writing to `out`.
    pub fn new(out: Sink<'a>) -> Self {
        Self { out }
    }
}

#[derive(Serialize)]
struct Document<'r> {
    schema: &'static str,
    #[serde(flatten)]
    report: &'r RunReport,
}

/// The report as a JSON value (what `--format json` writes).
pub fn to_value(report: &RunReport) -> serde_json::Value {
    serde_json::to_value(Document {
        schema: SCHEMA,
        report,
    })
    .expect("a report always serialises")
}

impl Reporter for JsonReporter<'_> {
    fn start(&mut self, _info: &RunInfo) -> io::Result<()> {
        Ok(())
    }

    fn case(&mut self, _result: &CaseResult) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        // Written from the structs (not a `Value`) so keys keep their documented order.
        serde_json::to_writer_pretty(
            &mut self.out,
            &Document {
                schema: SCHEMA,
                report,
            },
        )?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
