//! The `notifyd` binary: a thin shell over the `notifyd` library; parses arguments and picks exit codes.

use std::process::ExitCode;

/// mimalloc: rule evaluation and `test rules` allocate many small, short-lived label sets and
/// sample vectors; glibc's malloc spent ~13 % of `notifyd test rules` (perf) on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod rules_cli;

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
    /// Inspect the routing tree of an Alertmanager-compatible config (like `amtool config routes`).
    #[command(subcommand)]
    Routes(RoutesCommand),
    /// Work with notification templates.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Create, expire and list silences kept in a JSON file.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Inspect and drain the durable delivery outbox.
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Per target: pending (and retrying) notifications, delivery records kept, dead letters.
    Status {
        /// The outbox database file.
        #[arg(long)]
        db: std::path::PathBuf,
    },
    /// List the notifications given up (permanent errors, expired retry deadlines).
    DeadLetters {
        /// The outbox database file.
        #[arg(long)]
        db: std::path::PathBuf,
    },
    /// Move dead letters back into the outbox to be delivered again (by ID, or --all).
    Requeue {
        /// The outbox database file.
        #[arg(long)]
        db: std::path::PathBuf,
        /// Requeue every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Retry deadline of the requeued entries, such as 24h.
        #[arg(long, default_value = "24h")]
        deadline: String,
        /// Dead-letter ids, as `dead-letters` prints them after `#`.
        #[arg(required_unless_present = "all")]
        ids: Vec<i64>,
    },
    /// Deliver the pending entries of an outbox to webhooks, then exit (or keep going: --follow).
    Drain {
        /// The outbox database file.
        #[arg(long)]
        db: std::path::PathBuf,
        /// A target and its webhook URL, as TARGET=URL (repeatable).
        #[arg(long = "webhook", value_name = "TARGET=URL")]
        webhooks: Vec<String>,
        /// Delay before the first retry, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        retry_initial_ms: u64,
        /// Keep running and deliver entries added later (until SIGINT/SIGTERM).
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Subcommand)]
enum RoutesCommand {
    /// Print the receivers an alert with these labels reaches, as `amtool config routes test` does.
    Test {
        /// The routing config (Alertmanager YAML).
        #[arg(long)]
        config: std::path::PathBuf,
        /// Also print the matching part of the routing tree.
        #[arg(long)]
        tree: bool,
        /// Fail (exit 1) unless the receivers are exactly these (comma-separated), like amtool's
        /// `--verify.receivers`.
        #[arg(long)]
        verify_receivers: Option<String>,
        /// Alert labels as LABEL=VALUE.
        labels: Vec<String>,
    },
    /// Print the whole routing tree, as `amtool config routes show` does.
    Show {
        /// The routing config (Alertmanager YAML).
        #[arg(long)]
        config: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum SilenceCommand {
    /// Add a silence; prints its id.
    Add {
        /// The silences file (JSON, created if missing).
        #[arg(long)]
        file: std::path::PathBuf,
        /// Who creates it.
        #[arg(long)]
        author: String,
        /// Why.
        #[arg(long)]
        comment: String,
        /// Start (RFC 3339; default now).
        #[arg(long)]
        start: Option<String>,
        /// End (RFC 3339); wins over --duration.
        #[arg(long)]
        end: Option<String>,
        /// Length such as 2h (default 1h).
        #[arg(long)]
        duration: Option<String>,
        /// Matchers such as alertname="Disk" instance=~"db.*".
        #[arg(required = true)]
        matchers: Vec<String>,
    },
    /// Expire silences by id.
    Expire {
        /// The silences file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// Silence ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// List silences.
    List {
        /// The silences file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// Only pending, active or expired ones.
        #[arg(long)]
        state: Option<String>,
    },
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Render templates against fixture alerts (JSON: a webhook payload or a list of alerts).
    Render {
        /// Fixture alerts.
        #[arg(long)]
        alerts: std::path::PathBuf,
        /// Template text to render.
        #[arg(long)]
        template: Option<String>,
        /// File holding template text to render.
        #[arg(long)]
        template_file: Option<std::path::PathBuf>,
        /// Render the templates of a receiver in this config (subject, text, html, webhook text).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// The receiver (default: the root route's).
        #[arg(long, requires = "config")]
        receiver: Option<String>,
    },
}

/// Prints a library command's output and turns its code into the exit code.
fn emit(o: notifyd::route_cli::CliOutput) -> ExitCode {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(o.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(o.stderr.as_bytes());
    ExitCode::from(o.code)
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
        Command::Routes(RoutesCommand::Test {
            config,
            tree,
            verify_receivers,
            labels,
        }) => emit(notifyd::route_cli::routes_test_verify(
            &config,
            tree,
            &labels,
            verify_receivers.as_deref(),
        )),
        Command::Silence(SilenceCommand::Add {
            file,
            author,
            comment,
            start,
            end,
            duration,
            matchers,
        }) => emit(notifyd::route_cli::silence_add(
            &file,
            &notifyd::route_cli::SilenceAdd {
                matchers: &matchers.join(","),
                starts_at: start.as_deref(),
                ends_at: end.as_deref(),
                duration: duration.as_deref(),
                created_by: &author,
                comment: &comment,
            },
            notifyd::clock::now_ms(),
        )),
        Command::Silence(SilenceCommand::Expire { file, ids }) => emit(
            notifyd::route_cli::silence_expire(&file, &ids, notifyd::clock::now_ms()),
        ),
        Command::Silence(SilenceCommand::List { file, state }) => emit(
            notifyd::route_cli::silence_list(&file, state.as_deref(), notifyd::clock::now_ms()),
        ),
        Command::Routes(RoutesCommand::Show { config }) => {
            emit(notifyd::route_cli::routes_show(&config))
        }
        Command::Template(TemplateCommand::Render {
            alerts,
            template,
            template_file,
            config,
            receiver,
        }) => emit(notifyd::route_cli::template_render(
            template.as_deref(),
            template_file.as_deref(),
            &alerts,
            config.as_deref(),
            receiver.as_deref(),
        )),
        Command::Outbox(cmd) => outbox_command(cmd),
        Command::Check(CheckCommand::Rules { files }) => {
            let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
            rules_cli::check_rules(&files, &mut out, &mut err)
                .map_or(ExitCode::from(2), ExitCode::from)
        }
        Command::Test(TestCommand::Rules { files }) => {
            let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
            rules_cli::test_rules(&files, &mut out, &mut err)
                .map_or(ExitCode::from(2), ExitCode::from)
        }
    }
}

/// Runs an `outbox` subcommand; errors print as `notifyd: ...` with exit code 1.
fn outbox_command(cmd: OutboxCommand) -> ExitCode {
    use std::io::Write;
    let result = match cmd {
        OutboxCommand::Status { db } => {
            notifyd::outbox::cli::status_text(&db, notifyd::clock::now_ms())
                .map(|text| {
                    let _ = std::io::stdout().lock().write_all(text.as_bytes());
                })
                .map_err(anyhow::Error::from)
        }
        OutboxCommand::DeadLetters { db } => notifyd::outbox::cli::dead_letters_text(&db)
            .map(|text| {
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
            })
            .map_err(anyhow::Error::from),
        OutboxCommand::Requeue {
            db,
            all,
            deadline,
            ids,
        } => notifyd::decode::parse_duration(&deadline)
            .map_err(|e| anyhow::anyhow!("--deadline {deadline:?}: {e}"))
            .and_then(|deadline| {
                let which = if all {
                    notifyd::outbox::cli::RequeueWhich::All
                } else {
                    notifyd::outbox::cli::RequeueWhich::Ids(ids)
                };
                notifyd::outbox::cli::requeue_text(&db, which, notifyd::clock::now_ms(), deadline)
                    .map_err(anyhow::Error::from)
            })
            .map(|text| {
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
            }),
        OutboxCommand::Drain {
            db,
            webhooks,
            retry_initial_ms,
            follow,
        } => tokio::runtime::Runtime::new()
            .map_err(anyhow::Error::from)
            .and_then(|rt| {
                rt.block_on(notifyd::outbox::cli::drain_to_webhooks(
                    &db,
                    &webhooks,
                    std::time::Duration::from_millis(retry_initial_ms),
                    follow,
                    async {
                        let _ = tokio::signal::ctrl_c().await;
                    },
                ))
                .map_err(anyhow::Error::from)
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("notifyd: {e:#}");
            ExitCode::from(1)
        }
    }
}
