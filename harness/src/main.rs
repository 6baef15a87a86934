//! `alipay-harness`: see the library documentation. Exit codes: 0 pass, 1 some case failed,
//! 2 the harness could not run (bad flags, unreadable contract, ...).
//!
//! A listing whose reader stops early (`alipay-harness list | head`) ends quietly with exit code
//! 0, as other Unix tools do; a run whose report cannot be written is still an error.

use std::io::IsTerminal;

use clap::Parser;

fn main() {
    let cli = alipay_harness::cli::Cli::parse();
    let only_lists = cli.only_lists();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Only the harness's own warnings by default: a refused TLS certificate is
                // reported once, as the run's one error line, not again by the TLS library.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("alipay_harness=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut stdout = std::io::stdout();
    let is_tty = stdout.is_terminal();
    let code = match alipay_harness::cli::run(cli, &mut stdout, is_tty) {
        Ok(code) => code,
        Err(e) if only_lists && alipay_sim::is_broken_pipe(e.as_ref()) => 0,
        Err(e) => {
            eprintln!("error: {}", alipay_sim::chain_line(e.as_ref()));
            2
        }
    };
    std::process::exit(code);
}
