//! The `clerk` command: parses the command line, sets up logging, loads the configuration and
//! hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use clerk::clock::Clock;
use clerk::config::{self, Config};
use clerk::store::Store;

/// Clerk, a meeting clerk that lives in a mailbox.
///
/// Secretaries mail it agendas and draft minutes; Clerk reads them and answers with what it
/// understood.
///
/// Exit codes: 0 success, 1 failure while running, 2 bad command line or configuration.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        short,
        env = "CLERK_CONFIG",
        global = true,
        default_value = "/etc/clerk/clerk.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: watch every configured mailbox and send what is due, until SIGTERM.
    Run,
    /// Check the configuration file and the secrets it names, then exit.
    CheckConfig {
        /// Also log in to every mailbox's IMAP and SMTP server and say exactly what failed.
        #[arg(long)]
        connect: bool,
    },
    /// Read a document or a whole .eml offline (no server needed) and print what was understood.
    Ingest {
        /// The file to read, or - for standard input.
        file: PathBuf,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Show the mailboxes (last UID, connection), the outbox queue and recent problems.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the people Clerk knows, their addresses and where each was learned.
    People {
        #[command(subcommand)]
        command: Option<PeopleCommand>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the scheduled work once (approval nudges and deadline notices, reminders) and exit.
    Tick {
        /// Show what would be sent now; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List meetings with their invitations and who accepted, declined or has not answered.
    Meetings {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the meeting series, their meetings, members and settings.
    Series {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the actions from minutes: owner, state, due date and history.
    Actions {
        /// Only open actions.
        #[arg(long)]
        open: bool,
        /// Only series whose name contains this.
        #[arg(long)]
        series: Option<String>,
        /// Only owners whose name contains this.
        #[arg(long)]
        owner: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send the action reminders and digests that are due now (once), or show them.
    Remind {
        /// Only show what would be sent; queue nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Print the documented example configuration.
    ConfigExample,
}

#[derive(Subcommand)]
enum PeopleCommand {
    /// Give a person an address (as a secretary's correction by reply would).
    Set {
        /// The full name, e.g. "Anna Fransson".
        name: String,
        /// The address, e.g. anna.fransson@example.org.
        address: String,
        /// Their organisation.
        #[arg(long)]
        organization: Option<String>,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply the schema migrations (the daemon also does this at start).
    Migrate,
}

/// Commands that only read and print, so they may end quietly when their reader goes away.
fn prints_only(command: &Command) -> bool {
    matches!(
        command,
        Command::Ingest { .. }
            | Command::Status { .. }
            | Command::Meetings { .. }
            | Command::Series { .. }
            | Command::Actions { .. }
            | Command::ConfigExample
    )
}

/// `clerk ingest … | head` ends quietly, as Unix tools do, instead of panicking on the closed
/// pipe. Only for commands that print: the daemon and the commands that send mail keep Rust's
/// default of ignoring SIGPIPE, so a peer closing a socket is an error they handle.
fn default_sigpipe() {
    // SAFETY: called first thing in main, before any thread exists; it only resets one
    // signal's disposition to the default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// What is logged: `CLERK_LOG` (default `info`), except the libraries' events that carry
/// secrets, whatever it says. async-imap traces every command it writes, the LOGIN with its
/// password among them (tests/it/secrets.rs found it); its stream is held to debug.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLERK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    match "async_imap::imap_stream=debug".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// An error in what the user asked for (exit 2), as opposed to one while doing it (exit 1).
#[derive(Debug)]
struct UsageError(anyhow::Error);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if prints_only(&cli.command) {
        default_sigpipe();
    }
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast::<UsageError>() {
            Ok(UsageError(inner)) => {
                eprintln!("clerk: {inner:#}");
                ExitCode::from(2)
            }
            Err(err) => {
                eprintln!("clerk: {err:#}");
                ExitCode::from(1)
            }
        },
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}
impl std::error::Error for UsageError {}

fn load_config(path: &std::path::Path) -> Result<Config> {
    Config::load(path).map_err(|e| UsageError(e).into())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn clock_for(config: &Config) -> Result<Clock> {
    Ok(match config.fixed_now().map_err(UsageError)? {
        Some(start) => Clock::starting_at(start),
        None => Clock::system(),
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::ConfigExample => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::CheckConfig { connect } => {
            let config = load_config(&cli.config)?;
            for (i, mailbox) in config.mailboxes.iter().enumerate() {
                mailbox
                    .imap
                    .password
                    .load(&format!("mailbox[{i}].imap"))
                    .map_err(UsageError)?;
                mailbox
                    .smtp
                    .password
                    .load(&format!("mailbox[{i}].smtp"))
                    .map_err(UsageError)?;
            }
            clock_for(&config)?;
            println!(
                "{}: configuration is valid ({} mailbox(es), store {})",
                cli.config.display(),
                config.mailboxes.len(),
                if config.store.url.starts_with("sqlite:") {
                    "SQLite"
                } else {
                    "PostgreSQL"
                }
            );
            if connect {
                runtime()?.block_on(check_connections(&config))?;
            }
            Ok(())
        }
        Command::Run => {
            let config = load_config(&cli.config)?;
            let clock = clock_for(&config)?;
            runtime()?.block_on(clerk::daemon::run(config, clock, shutdown_signal()))
        }
        Command::Status { json } => {
            let config = load_config(&cli.config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                let now = clock_for(&config)?.now();
                let status = clerk::status::collect_with_schedule(&store, &config, now).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&status)?);
                } else {
                    print!("{}", clerk::status::render(&status));
                }
                Ok(())
            })
        }
        Command::Db {
            command: DbCommand::Migrate,
        } => {
            let config = load_config(&cli.config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                println!("database is up to date");
                Ok(())
            })
        }
        Command::Ingest { file, json } => ingest(&file, json),
        Command::People { command, json } => {
            let config = load_config(&cli.config)?;
            let clock = clock_for(&config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                if let Some(path) = &config.directory.path {
                    clerk::people::sync_directory(&store, path, clock.now()).await?;
                }
                if let Some(PeopleCommand::Set {
                    name,
                    address,
                    organization,
                }) = command
                {
                    let said = clerk::listing::set_address(
                        &store,
                        &name,
                        &address,
                        organization.as_deref(),
                        clock.now(),
                    )
                    .await?;
                    println!("{said}");
                    return Ok(());
                }
                let people = store.people_listing().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&people)?);
                } else {
                    print!("{}", clerk::listing::people(&people));
                }
                Ok(())
            })
        }
        Command::Tick { dry_run } => {
            let config = load_config(&cli.config)?;
            let clock = clock_for(&config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                let done = clerk::scheduler::run_once(&clerk::scheduler::Context {
                    config: &config,
                    store: &store,
                    now: clock.now(),
                    dry_run,
                })
                .await?;
                if done.is_empty() {
                    println!("nothing is due");
                }
                for d in done {
                    println!(
                        "{}{}: {}",
                        if dry_run { "would send " } else { "" },
                        d.job,
                        d.what
                    );
                }
                Ok(())
            })
        }
        Command::Meetings { json } => {
            let config = load_config(&cli.config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                let meetings = store.meetings_listing().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&meetings)?);
                } else {
                    print!("{}", clerk::listing::meetings(&meetings));
                }
                Ok(())
            })
        }
        Command::Actions {
            open,
            series,
            owner,
            json,
        } => {
            let config = load_config(&cli.config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                let filter = clerk::store::actions::Filter {
                    open_only: open,
                    series,
                    owner,
                };
                let actions = store.actions_listing(&filter).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&actions)?);
                } else {
                    print!("{}", clerk::actions::listing(&actions));
                }
                Ok(())
            })
        }
        Command::Remind { dry_run } => {
            let config = load_config(&cli.config)?;
            let clock = clock_for(&config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                let ctx = clerk::scheduler::Context {
                    config: &config,
                    store: &store,
                    now: clock.now(),
                    dry_run,
                };
                let done = clerk::reminders::run_due(&ctx).await?;
                if done.is_empty() {
                    println!("nothing is due at {}", ctx.now.to_rfc3339());
                }
                for d in &done {
                    let verb = if dry_run { "would send" } else { "queued" };
                    println!("{verb}: {}", d.what);
                }
                Ok(())
            })
        }
        Command::Series { json } => {
            let config = load_config(&cli.config)?;
            runtime()?.block_on(async {
                let store = Store::open(&config.store.url).await?;
                store.migrate().await?;
                let series = store.series_listing().await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&series)?);
                } else {
                    print!("{}", clerk::listing::series(&series, &config));
                }
                Ok(())
            })
        }
    }
}

/// Logs in to every IMAP and SMTP server of the configuration; an error names the mailbox, the
/// protocol and what the server or the network said.
async fn check_connections(config: &Config) -> Result<()> {
    let mut failed = 0;
    for mailbox in &config.mailboxes {
        let name = &mailbox.name;
        match clerk::imap::connect(&mailbox.imap).await {
            Ok(mut session) => {
                let _ = session.logout().await;
                println!(
                    "mailbox {name}: IMAP {}:{} login ok",
                    mailbox.imap.host, mailbox.imap.port
                );
            }
            Err(e) => {
                failed += 1;
                println!(
                    "mailbox {name}: IMAP {}:{} failed: {e:#}",
                    mailbox.imap.host, mailbox.imap.port
                );
            }
        }
        let smtp = clerk::outbox::transport(mailbox);
        match smtp {
            Ok(transport) => match transport.test_connection().await {
                Ok(true) => println!(
                    "mailbox {name}: SMTP {}:{} ok",
                    mailbox.smtp.host, mailbox.smtp.port
                ),
                Ok(false) => {
                    failed += 1;
                    println!(
                        "mailbox {name}: SMTP {}:{} did not answer",
                        mailbox.smtp.host, mailbox.smtp.port
                    );
                }
                Err(e) => {
                    failed += 1;
                    println!(
                        "mailbox {name}: SMTP {}:{} failed: {e}",
                        mailbox.smtp.host, mailbox.smtp.port
                    );
                }
            },
            Err(e) => {
                failed += 1;
                println!(
                    "mailbox {name}: SMTP {}:{} failed: {e:#}",
                    mailbox.smtp.host, mailbox.smtp.port
                );
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} connection check(s) failed");
    }
    Ok(())
}

fn ingest(file: &std::path::Path, json: bool) -> Result<()> {
    let bytes = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
        buf
    } else {
        std::fs::read(file)
            .with_context(|| format!("cannot read {}", file.display()))
            .map_err(UsageError)?
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stdin".into());
    let reading =
        clerk::understanding::read_file(&name, &bytes, &clerk::document::Limits::default());
    if json {
        println!("{}", serde_json::to_string_pretty(&ingest_json(&reading))?);
    } else {
        print!("{}", clerk::receipt::summary(&reading));
    }
    if reading.documents.is_empty() {
        let reasons: Vec<String> = reading
            .refused
            .iter()
            .map(|r| format!("{}: {}", r.name, r.reason))
            .collect();
        anyhow::bail!("nothing could be read: {}", reasons.join("; "));
    }
    Ok(())
}

/// The primary document's meeting as the corpus JSON, plus what else the input held.
fn ingest_json(reading: &clerk::understanding::Reading) -> serde_json::Value {
    let mut value = match reading.primary() {
        Some(doc) => {
            let mut v = serde_json::to_value(&doc.meeting).unwrap_or_default();
            v["source"] =
                serde_json::json!({"name": doc.name, "format": doc.format, "note": doc.note});
            v
        }
        None => serde_json::json!({}),
    };
    let primary = reading.primary().map(|d| d.name.clone());
    value["other_documents"] = reading
        .documents
        .iter()
        .filter(|d| Some(&d.name) != primary.as_ref())
        .map(|d| serde_json::json!({"name": d.name, "format": d.format, "meeting": d.meeting}))
        .collect();
    value["refused"] = serde_json::to_value(&reading.refused).unwrap_or_default();
    value
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
