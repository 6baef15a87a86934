//! Replays committed fuzz inputs of the harness-side targets under `cargo test`, through the
//! same oracles the fuzz targets use (`fuzz/oracles/*.rs`, FUZZING.md): every crash the fuzzers
//! found stays fixed (`fuzz/regressions/<target>/`), and the seed corpora keep passing.

#[path = "../../fuzz/oracles/scenario_file.rs"]
mod scenario_file;

#[path = "../../fuzz/oracles/contract_file.rs"]
mod contract_file;

#[path = "../../fuzz/oracles/judge_answer.rs"]
mod judge_answer;

#[path = "../../fuzz/replay.rs"]
mod replay;
use replay::replay;

#[test]
fn scenario_file_inputs() {
    replay("scenario_file", scenario_file::run);
}

#[test]
fn contract_file_inputs() {
    replay("contract_file", contract_file::run);
}

#[test]
fn judge_answer_inputs() {
    replay("judge_answer", judge_answer::run);
}
