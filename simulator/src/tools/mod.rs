//! The tools layer: what is built on the protocol and the model for users of the binary —
//! fixture files (`fixture`), envelope corpora for load engines (`corpus`), where keys and
//! cases come from (`sources`) and how errors are printed (`error_chain`).

pub(crate) mod corpus;
pub(crate) mod error_chain;
pub(crate) mod fixture;
pub(crate) mod sources;
