//! The `notifyd` binary: a thin shell over the `notifyd` library; parses arguments and picks exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The c5 alerting daemon and its tools.
#[derive(Parser)]
#[command(name = "notifyd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint rule files and other inputs.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run unit tests (promtool's test file format).
    #[command(subcommand)]
    Test(TestCommand),
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Check rule files; exit 1 on any error.
    Rules {
        /// Rule files to check.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum TestCommand {
    /// Run rule unit tests written in promtool's format (plus `input_logs`).
    Rules {
        /// Test files to run.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(CheckCommand::Rules { files })
        | Command::Test(TestCommand::Rules { files }) => {
            eprintln!("not implemented yet: {} file(s)", files.len());
            ExitCode::from(3)
        }
    }
}
