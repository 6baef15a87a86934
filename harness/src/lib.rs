//! # alipay-harness: conformance checks for merchant `my.getPhoneNumber` decryption endpoints
//!
//! `alipay-harness run --endpoint URL` seals every case of the catalogue (genuine platform
//! answers, tampered and hostile bodies) with the simulator library, delivers each to the
//! endpoint, and judges the answer: pass, fail (with what was expected, what came back, why it
//! matters and how to fix it) or error (no verdict: timeout, refused, reset, oversized).
//!
//! Where each behaviour lives (cases themselves are sealed by the simulator library:
//! [`alipay_sim::Scenario::build`] makes an [`alipay_sim::Built`]; the
//! harness sends and judges it):
//!
//! | behaviour | module |
//! |---|---|
//! | flags, subcommands, exit codes, the error line | [`cli`] |
//! | flag validation, keys and catalogue (through [`alipay_sim::Sources`]) | [`options`] |
//! | which ids run (`--cases`, `--skip`, `--shard`, `--last-failed`) | [`select`], [`plan`] |
//! | does a case apply to the endpoint (`--merchant-signing`, `--merchant-aes-bits`), echo and unsigned-error marks | [`case`] |
//! | how an envelope becomes a request (`--deliver`, `--header`) | [`delivery`] |
//! | deadlines, size caps, `Content-Encoding`, TLS, transport errors | [`transport`] |
//! | running cases in parallel, crash and unreachable rules | [`runner`] (shared state: [`context`]) |
//! | the default rules and the contract file | [`judge`], [`contract`] |
//! | what a failure found, as data, with its stable code | [`finding`] |
//! | secrets, stack traces, other users' identities (the run ledger) and their disguises in every part of an answer, redaction | [`leak`] |
//! | many-request checks (distinct mobiles, padding oracle) | [`behaviour`] |
//! | results and exit codes | [`verdict`] |
//! | known failures (`--expected-failures`) | [`expected`] |
//! | terminal, JSON and JUnit reports; the curl that reproduces a request | [`report`], [`curl`] |
//! | the reference merchant (`merchant`, `demo`) and the deliberately broken ones | [`merchant`] |
//! | login mode (`--login-endpoint`): the simulated gateway, the `login.*` cases | [`login`] |

pub mod behaviour;
pub mod case;
pub mod cli;
pub mod context;
pub mod contract;
pub mod curl;
pub mod delivery;
pub mod expected;
pub mod finding;
pub mod judge;
pub mod leak;
pub mod login;
pub mod merchant;
pub mod options;
pub mod plan;
pub mod report;
pub mod runner;
pub mod select;
pub mod transport;
pub mod verdict;
