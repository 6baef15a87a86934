//! # alipay-harness: conformance checks for merchant `my.getPhoneNumber` decryption endpoints
//!
//! `alipay-harness run --endpoint URL` seals every case of the catalogue (genuine platform
//! answers, tampered and hostile bodies) with the simulator library, delivers each to the
//! endpoint, and judges the answer: pass, fail (with what was expected, what came back, why it
//! matters and how to fix it) or error (no verdict: timeout, refused, reset, oversized).
//!
//! How the pieces fit:
//! - [`cli`] parses the command line; [`options`] validates it into [`options::RunOptions`];
//! - [`plan`] lists and selects cases ([`select`]) and builds them ([`case`], [`behaviour`]);
//! - [`delivery`] turns an envelope into a request; [`runner`] sends it within limits;
//! - [`judge`] applies the default rules and the [`contract`]; results are [`verdict`]s;
//! - [`report`] streams results to the terminal, JSON and JUnit reporters; [`curl`] writes the
//!   command that reproduces a request;
//! - [`merchant`] holds the reference merchant (`alipay-harness merchant`, `demo`) and the
//!   deliberately broken merchants the test suite judges.
#![warn(missing_docs)]

pub mod behaviour;
pub mod case;
pub mod cli;
pub mod context;
pub mod contract;
pub mod curl;
pub mod delivery;
pub mod judge;
pub mod leak;
pub mod merchant;
pub mod options;
pub mod plan;
pub mod report;
pub mod runner;
pub mod select;
pub mod transport;
pub mod verdict;
