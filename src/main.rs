//! The `mediaplane` binary: runs the server, checks configuration files,
//! drives load.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mediaplane::config::{check_config, Config, ConfigOverrides};
use mediaplane::loadgen::{self, LoadgenArgs};
use mediaplane::server::Server;

#[derive(Parser)]
#[command(name = "mediaplane", version, about = "SIP media-plane server")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Run(RunArgs),
    /// Validate a configuration file and explain every problem.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Place concurrent calls with real-time RTP and report loss and latency.
    Loadgen(LoadgenArgs),
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// Configuration file; without it the embedded default is used.
    #[arg(long, short, env = "MEDIAPLANE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: ConfigOverrides,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig { file }) => match check_config(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(2)
            }
        },
        Some(Command::Loadgen(args)) => run_async(async move {
            match loadgen::run(&args).await {
                Ok(report) => match report.render(args.json) {
                    Ok(text) => {
                        println!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("loadgen: cannot render the report: {e}");
                        ExitCode::FAILURE
                    }
                },
                Err(e) => {
                    eprintln!("loadgen: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Some(Command::Run(args)) => serve(args),
        None => serve(cli.run),
    }
}

fn run_async(future: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: RunArgs) -> ExitCode {
    let config = match Config::load_with_overrides(args.config.as_deref(), &args.overrides) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    run_async(async move {
        let server = match Server::start(config).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("mediaplane: {e}");
                return ExitCode::FAILURE;
            }
        };
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
