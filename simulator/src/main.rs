//! `alipay-sim`: the command line over the library. Parsing and the commands are in `cli.rs`
//! (part of this binary, not of the library); errors become exit code 2 here, at the edge.
//!
//! A closed stdout (`alipay-sim fixtures | head`) is not an error: the command stops quietly
//! with exit code 0, as other Unix tools do.

mod cli;
mod health;

use clap::Parser;

/// jemalloc instead of glibc's malloc, with its background purging thread: pages freed after a
/// connection flood go back to the system over its 10 s decay time, all but about 1 MB within
/// 30 s (glibc kept them in its per-thread arenas). See "Connection flood" in
/// simulator/BENCHMARKS.md.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli = cli::Cli::parse();
    let mut out = std::io::stdout().lock();
    let code = match cli::run(cli, &mut out) {
        Ok(code) => code,
        Err(e) if alipay_sim::is_broken_pipe(e.as_ref()) => 0,
        Err(e) => {
            eprintln!("error: {}", alipay_sim::chain_line(e.as_ref()));
            2
        }
    };
    std::process::exit(code);
}
