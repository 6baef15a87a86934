//! `alipay-sim`: thin entry point; everything lives in the library.

use clap::Parser;

fn main() {
    let cli = alipay_sim::cli::Cli::parse();
    let mut out = std::io::stdout().lock();
    let code = match alipay_sim::cli::run(cli, &mut out) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
