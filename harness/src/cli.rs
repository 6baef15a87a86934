//! The command line: `run`, `list`, `merchant` and `demo` (clap derive). Raw arguments live
//! here; [`crate::options`] turns them into validated options. Exit codes: 0 every applicable
//! case at or above `--fail-on` passed, 1 some failed or errored, 2 the harness could not run.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alipay_sim::{AesSize, Severity, Signing};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::case::EndpointProfile;
use crate::context::Context;
use crate::contract::Contract;
use crate::delivery::{Delivery, DeliverySpec};
use crate::judge::Judge;
use crate::leak::KeyMaterial;
use crate::login::{self, LoginOptions, LoginRun, SimulatorSource};
use crate::merchant::{self, MerchantArgs};
use crate::options::{self, RunOptions};
use crate::plan;
use crate::report::{FormatTarget, Reporters, RunInfo, RunReport};
use crate::runner;
use crate::select::Shard;
use crate::transport::{HttpClient, Limits};
use crate::verdict::{self, Summary};

/// The reference merchant's contract, as committed in `harness/contracts/reference.toml`.
pub const REFERENCE_CONTRACT: &str = include_str!("../contracts/reference.toml");

/// `alipay-harness`: conformance checks for merchant `my.getPhoneNumber` decryption endpoints.
#[derive(Debug, Parser)]
#[command(name = "alipay-harness", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the case catalogue against a merchant decryption endpoint.
    Run(Box<RunArgs>),
    /// List the case ids (catalogue and behaviour checks).
    List(ListArgs),
    /// Serve the reference merchant (or a deliberately broken one) over HTTP.
    Merchant(MerchantArgs),
    /// Start the reference merchant in-process and run everything against it.
    Demo(DemoArgs),
}

/// A severity threshold for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Every failure counts.
    Low,
    /// Medium and above.
    Medium,
    /// High and critical.
    High,
    /// Critical only.
    Critical,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}

/// Options shared by `run` and `demo`: reports and the exit threshold.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Report format, repeatable, each optionally =PATH ('-' = stdout): terminal, json, junit.
    /// Default: terminal to stdout.
    #[arg(long = "format", value_name = "FORMAT[=PATH]")]
    pub formats: Vec<FormatTarget>,
    /// Exit 1 only when a case of this severity or above fails or errors.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: SeverityArg,
}

/// `alipay-harness run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The merchant's decryption endpoint, e.g. http://127.0.0.1:8080/api/phone.
    #[arg(
        long,
        env = "ALIPAY_HARNESS_ENDPOINT",
        required_unless_present_any = ["list", "login_endpoint"]
    )]
    pub endpoint: Option<String>,
    /// The merchant's login endpoint (login mode: the `login.*` cases), e.g.
    /// http://127.0.0.1:8080/login; alone or beside --endpoint.
    #[arg(long, env = "ALIPAY_HARNESS_LOGIN_ENDPOINT", value_name = "URL")]
    pub login_endpoint: Option<String>,
    /// Login mode: start the simulated OpenAPI gateway in-process on this address; configure
    /// the merchant's SDK with http://ADDR/gateway.do (port 0: a free port, printed in the log).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8780",
        conflicts_with = "simulator"
    )]
    pub gateway_listen: std::net::SocketAddr,
    /// Login mode: use this running `alipay-sim serve` (its gateway, JSAPI and admin API)
    /// instead of starting one. Its faults and clock are changed during the run.
    #[arg(long, value_name = "URL")]
    pub simulator: Option<String>,
    /// Login mode: the simulator app the merchant is configured as.
    #[arg(long, value_name = "APP", default_value = "demo")]
    pub login_app: String,
    /// Contract file (TOML) saying how the endpoint answers each outcome.
    #[arg(long, value_name = "FILE")]
    pub contract: Option<PathBuf>,
    /// Scenario directory (default: the embedded catalogue).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Key set to seal the cases with, laid out like `keys/`: the harness plays Alipay, so it
    /// needs the Alipay private key too (default: the embedded TEST-ONLY keys).
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Run only ids matching this glob (`*`, `?`, `[...]`, `{a,b}`); repeatable.
    #[arg(long = "cases", value_name = "GLOB")]
    pub cases: Vec<String>,
    /// Do not run ids matching this glob; repeatable.
    #[arg(long = "skip", value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Run only shard K of N (1-based) of the sorted selected ids.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Run only the cases that failed or errored in this JSON report.
    #[arg(long, value_name = "REPORT.json")]
    pub last_failed: Option<PathBuf>,
    /// Report formats and the exit threshold.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Per-request deadline (connect, send, whole answer) in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// Answers longer than this many bytes are an error.
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u64).range(1..=1_073_741_824))]
    pub max_answer_bytes: u64,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// How the envelope is delivered: raw, json-field:NAME, form-field:NAME, query:NAME or
    /// template:FILE ({{envelope}} JSON-string-escaped, {{envelope_raw}} as is). Login mode
    /// adds the auth code: field or parameter authCode, {{auth_code}} in a template, and raw
    /// sends {"authCode": ..., "response": ...}.
    #[arg(long, default_value = "raw", value_name = "HOW")]
    pub deliver: DeliverySpec,
    /// Extra header 'Name: value' on every request (auth, cookies); repeatable.
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// The signature type the endpoint verifies (`none`: no Alipay public key configured;
    /// `cert`: certificate mode, RSA2, which also runs the cases only certificate mode has).
    #[arg(long, default_value = "RSA2", value_parser = merchant::SigningParser)]
    pub merchant_signing: Signing,
    /// The endpoint's AES key size.
    #[arg(long, default_value_t = AesSize::Aes128)]
    pub merchant_aes_bits: AesSize,
    /// Also trust the CA certificates in this PEM file (an HTTPS staging endpoint with a
    /// private CA).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do NOT verify the endpoint's TLS certificate (staging only; never in CI): anyone on the
    /// path could answer for the endpoint.
    #[arg(long)]
    pub insecure: bool,
    /// Skip the behaviour checks (many requests each).
    #[arg(long)]
    pub no_behaviour: bool,
    /// Known failures: a TOML file of `[[expected]]` tables (`id`, `reason`) for cases the
    /// merchant fails because of a documented SDK weakness. Those cases are reported as expected
    /// failures and do not fail the run; any that pass are reported as unexpectedly passing.
    #[arg(long, value_name = "FILE")]
    pub expected_failures: Option<PathBuf>,
    /// Print the selected case ids and exit without sending anything.
    #[arg(long)]
    pub list: bool,
}

/// `list` output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns: id, kind, severity, title.
    Text,
    /// A JSON array of {id, kind, severity, bug_class, title}.
    Json,
}

/// `alipay-harness list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Scenario directory (default: the embedded catalogue).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// List only ids matching this glob; repeatable.
    #[arg(long = "cases", value_name = "GLOB")]
    pub cases: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

/// `alipay-harness demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Report formats and the exit threshold.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl RunArgs {
    /// Validates the arguments into run options (an error here is exit 2).
    pub fn options(&self) -> anyhow::Result<RunOptions> {
        let login = match &self.login_endpoint {
            None => None,
            Some(url) => Some(LoginOptions {
                endpoint: options::url_flag("--login-endpoint", url)?,
                simulator: match &self.simulator {
                    Some(s) => SimulatorSource::Running(options::url_flag("--simulator", s)?),
                    None => SimulatorSource::Listen(self.gateway_listen),
                },
                app: self.login_app.clone(),
            }),
        };
        let endpoint = match (&self.endpoint, &login) {
            (Some(e), _) => options::endpoint(e)?,
            (None, Some(l)) => l.endpoint.clone(),
            (None, None) => anyhow::bail!("--endpoint or --login-endpoint is required"),
        };
        let delivery = Delivery::new(&self.deliver, &self.headers)?;
        if login.is_some() && delivery.lacks_auth_code() {
            anyhow::bail!(
                "--deliver {}: the template has no {{{{auth_code}}}}, so it cannot deliver a login",
                self.deliver
            );
        }
        let catalogue = options::catalogue(self.scenarios.as_deref())?;
        Ok(RunOptions {
            phone: self.endpoint.is_some(),
            login,
            endpoint,
            contract: options::contract(self.contract.as_deref())?,
            expected_failures: options::expected_failures(
                self.expected_failures.as_deref(),
                &catalogue,
            )?,
            catalogue,
            keys: Arc::new(options::keys(self.keys.as_deref())?),
            selection: options::selection(
                &self.cases,
                &self.skip,
                self.shard,
                self.last_failed.as_deref(),
            )?,
            fail_on: self.output.fail_on.into(),
            limits: Limits {
                timeout: Duration::from_millis(self.timeout_ms),
                max_answer_bytes: usize::try_from(self.max_answer_bytes)
                    .context("--max-answer-bytes is too large for this platform")?,
            },
            concurrency: self.concurrency as usize,
            delivery,
            profile: EndpointProfile {
                signing: self.merchant_signing,
                aes_bits: self.merchant_aes_bits,
            },
            behaviour: !self.no_behaviour,
            tls: options::tls(self.cacert.as_deref(), self.insecure)?,
        })
    }
}

/// Runs `opts`, streaming results to `reporters`; returns the finished report.
pub async fn execute(opts: RunOptions, reporters: &mut Reporters<'_>) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let chosen = plan::select_for(
        &opts.catalogue,
        opts.phone,
        opts.behaviour,
        opts.login.is_some(),
        &opts.selection,
    )?;
    let (login_cases, chosen): (Vec<_>, Vec<_>) = chosen
        .into_iter()
        .partition(|l| login::LoginCase::by_id(&l.id).is_some());
    let login_cases: Vec<login::LoginCase> = login_cases
        .iter()
        .filter_map(|l| login::LoginCase::by_id(&l.id))
        .collect();
    let items = plan::build(&opts.catalogue, &chosen);
    let client = HttpClient::with_tls(opts.limits, &opts.tls)?;
    if opts.tls.insecure {
        tracing::warn!("--insecure: TLS certificates are not verified");
        eprintln!(
            "WARNING: --insecure: the endpoint's TLS certificate is NOT verified; anyone on the network path could answer for {}. Use --cacert FILE for a private CA instead.",
            opts.endpoint
        );
    }
    let ctx = Arc::new(Context {
        endpoint: opts.endpoint.clone(),
        client,
        judge: Judge::new(opts.contract, KeyMaterial::from_keys(&opts.keys)),
        delivery: opts.delivery,
        profile: opts.profile,
        keys: Arc::clone(&opts.keys),
    });
    let info = RunInfo {
        endpoint: opts.endpoint.to_string(),
        total: items.len() + login_cases.len(),
        fail_on: opts.fail_on,
    };
    // Reports start with the first settled result, so an unreachable endpoint prints one line
    // (the error) and nothing else.
    let mut started_reports = false;
    let mut write_error: Option<anyhow::Error> = None;
    let expected = opts.expected_failures.as_ref();
    // The known failures are applied to each result as it is settled (for the streamed reports)
    // and to the final list: the same function, so both agree.
    let known = |r: &verdict::CaseResult| match expected {
        Some(x) => x.apply(r),
        None => r.clone(),
    };
    let results = runner::run_plan(items, Arc::clone(&ctx), opts.concurrency, |r| {
        if write_error.is_some() {
            return;
        }
        let r = &known(r);
        if !started_reports {
            started_reports = true;
            if let Err(e) = reporters.start(&info) {
                write_error = Some(e);
                return;
            }
        }
        if let Err(e) = reporters.case(r) {
            write_error = Some(e);
        }
    })
    .await?;
    let mut results: Vec<verdict::CaseResult> = results.iter().map(known).collect();
    if let Some(e) = write_error {
        return Err(e);
    }
    if let Some(l) = &opts.login
        && !login_cases.is_empty()
    {
        let (sim, embedded) = login::simulator(l, &opts.keys).await?;
        if let Some(e) = &embedded {
            eprintln!(
                "login mode: the simulated OpenAPI gateway listens on http://{}/gateway.do (app {}, TEST-ONLY keys)",
                e.addr, l.app
            );
        }
        let run = LoginRun {
            endpoint: &l.endpoint,
            sim: &sim,
            app: &l.app,
            client: &ctx.client,
            delivery: &ctx.delivery,
            judge: &ctx.judge,
            slow_ms: login::slow_gateway_ms(opts.limits.timeout),
        };
        let login_results = login::run(&run, &login_cases).await;
        if let Some(e) = embedded {
            e.shutdown().await;
        }
        for r in login_results?.iter().map(known) {
            if !started_reports {
                started_reports = true;
                reporters.start(&info)?;
            }
            reporters.case(&r)?;
            results.push(r);
        }
        results.sort_by(|a, b| a.id.cmp(&b.id));
    }
    if !started_reports {
        reporters.start(&info)?;
    }
    let report = RunReport {
        tool: format!("alipay-harness {}", env!("CARGO_PKG_VERSION")),
        endpoint: opts.endpoint.to_string(),
        fail_on: opts.fail_on,
        summary: Summary::of(&results),
        exit_code: verdict::exit_code(&results, opts.fail_on),
        duration_ms: started.elapsed().as_millis() as u64,
        expected_not_run: expected.map(|x| x.not_run(&results)).unwrap_or_default(),
        cases: results,
    };
    reporters.finish(&report)?;
    Ok(report)
}

fn formats(output: &OutputArgs) -> Vec<FormatTarget> {
    if output.formats.is_empty() {
        vec!["terminal".parse().expect("a valid format")]
    } else {
        output.formats.clone()
    }
}

fn list(args: &ListArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let catalogue = options::catalogue(args.scenarios.as_deref())?;
    let selection = options::selection(&args.cases, &[], None, None)?;
    let chosen = plan::select_for(&catalogue, true, true, true, &selection)?;
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &chosen)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            let w = chosen.iter().map(|l| l.id.len()).max().unwrap_or(0);
            for l in &chosen {
                writeln!(
                    out,
                    "{:<w$}  {:<9}  {:<8}  {}",
                    l.id,
                    l.kind.to_string(),
                    l.severity.to_string(),
                    l.title
                )?;
            }
        }
    }
    Ok(0)
}

/// Runs the command. `stdout_is_tty` decides terminal colour (with `NO_COLOR`).
pub async fn run_async(cli: Cli, out: &mut dyn Write, stdout_is_tty: bool) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => {
            if args.list {
                let catalogue = options::catalogue(args.scenarios.as_deref())?;
                let selection = options::selection(
                    &args.cases,
                    &args.skip,
                    args.shard,
                    args.last_failed.as_deref(),
                )?;
                let login = args.login_endpoint.is_some();
                let phone = args.endpoint.is_some() || !login;
                for l in plan::select_for(&catalogue, phone, !args.no_behaviour, login, &selection)?
                {
                    writeln!(out, "{}", l.id)?;
                }
                return Ok(0);
            }
            let opts = args.options()?;
            let mut reporters = Reporters::open(&formats(&args.output), out, stdout_is_tty)?;
            Ok(execute(opts, &mut reporters).await?.exit_code)
        }
        Command::List(args) => list(&args, out),
        Command::Merchant(args) => {
            merchant::serve_cli(args).await?;
            Ok(0)
        }
        Command::Demo(args) => {
            let contract =
                Contract::parse("<embedded>/contracts/reference.toml", REFERENCE_CONTRACT)?;
            let mut reporters = Reporters::open(&formats(&args.output), out, stdout_is_tty)?;
            // The login cases too: a simulated gateway in-process, the reference merchant's
            // POST /login calling it.
            let keys = alipay_sim::KeySet::embedded();
            let gateway = login::sim::Embedded::start("127.0.0.1:0".parse()?, keys.clone())
                .await
                .context("cannot start the simulated gateway on 127.0.0.1:0")?;
            let spawned = merchant::spawn(merchant::MerchantConfig {
                login: Some(merchant::login::LoginGateway {
                    url: gateway.url().join("gateway.do")?,
                    app_id: "demo".into(),
                    app_key: keys.app.clone(),
                }),
                ..merchant::MerchantConfig::default()
            })
            .await?;
            let endpoint = options::endpoint(&spawned.url())?;
            let mut opts = RunOptions::new(endpoint.clone(), contract);
            opts.fail_on = args.output.fail_on.into();
            opts.login = Some(LoginOptions {
                endpoint: endpoint.join("login")?,
                simulator: SimulatorSource::Running(gateway.url()),
                app: "demo".into(),
            });
            let report = execute(opts, &mut reporters).await;
            spawned.shutdown().await?;
            gateway.shutdown().await;
            Ok(report?.exit_code)
        }
    }
}

impl Cli {
    /// The command only lists ids (`list`, `run --list`): a reader that stops early (`| head`)
    /// is not an error for it.
    pub fn only_lists(&self) -> bool {
        match &self.command {
            Command::List(_) => true,
            Command::Run(args) => args.list,
            Command::Merchant(_) | Command::Demo(_) => false,
        }
    }
}

/// Runs the command on a new tokio runtime (for `main`; tests inside a runtime use
/// [`run_async`]).
pub fn run(cli: Cli, out: &mut dyn Write, stdout_is_tty: bool) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    rt.block_on(run_async(cli, out, stdout_is_tty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_contract_parses() {
        Contract::parse("reference.toml", REFERENCE_CONTRACT).unwrap();
    }

    #[test]
    fn run_flags_parse() {
        let cli = Cli::try_parse_from([
            "alipay-harness",
            "run",
            "--endpoint",
            "http://127.0.0.1:1/x",
            "--format",
            "json=-",
            "--format",
            "junit=r.xml",
            "--shard",
            "2/3",
            "--deliver",
            "json-field:response",
            "--header",
            "Authorization: Bearer x",
            "--merchant-signing",
            "none",
            "--merchant-aes-bits",
            "256",
            "--fail-on",
            "high",
        ])
        .unwrap();
        let Command::Run(a) = cli.command else {
            panic!("run")
        };
        assert_eq!(a.output.formats.len(), 2);
        assert_eq!(a.shard, Some(Shard { index: 2, count: 3 }));
        let o = a.options().unwrap();
        assert_eq!(o.profile.signing, Signing::None);
        assert_eq!(o.profile.aes_bits, AesSize::Aes256);
        assert_eq!(o.fail_on, Severity::High);
        for bad in [
            vec!["--shard", "0/3"],
            vec!["--format", "xml"],
            vec!["--deliver", "body"],
            vec!["--merchant-aes-bits", "64"],
            vec!["--concurrency", "0"],
        ] {
            let mut argv = vec!["alipay-harness", "run", "--endpoint", "http://127.0.0.1:1/"];
            argv.extend(bad.iter().copied());
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_error_line_says_each_cause_once() {
        use alipay_sim::{chain_line, is_broken_pipe};
        #[derive(Debug, thiserror::Error)]
        #[error("inner detail")]
        struct Inner;
        #[derive(Debug, thiserror::Error)]
        #[error("file f: {0}")]
        struct Outer(#[source] Inner);
        let e = anyhow::Error::new(Outer(Inner)).context("--keys");
        assert_eq!(chain_line(e.as_ref()), "--keys: file f: inner detail");
        let e = anyhow::Error::new(Inner).context("--keys");
        assert_eq!(chain_line(e.as_ref()), "--keys: inner detail");
        assert!(!is_broken_pipe(e.as_ref()));
        // Through anyhow's context layers, as the harness's `main` sees it.
        let pipe = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(pipe.context("writing the list").as_ref()));
    }

    #[test]
    fn bad_endpoints_are_named() {
        for e in ["not a url", "ftp://x/", "file:///etc/passwd"] {
            let err = options::endpoint(e).unwrap_err();
            assert!(format!("{err:#}").contains(e), "{err:#}");
        }
    }
}
