//! Configuration: the TOML file ops write, validated once at start.
//!
//! Every key is documented in `config/clerk.example.toml`, which is embedded here so `clerk
//! config-example` can print it. Unknown keys and bad values are errors that name the key path.
//! Secrets never live inline: they come from a file, a systemd credential or an environment
//! variable, and [`Secret`] keeps them out of `Debug` output and logs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The documented example configuration, shipped inside the binary.
pub const EXAMPLE: &str = include_str!("../config/clerk.example.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub daemon: DaemonConfig,
    #[serde(default)]
    pub intake: IntakeConfig,
    /// One entry per watched mailbox (`[[mailbox]]`).
    #[serde(rename = "mailbox", default)]
    pub mailboxes: Vec<MailboxConfig>,
    #[serde(default)]
    pub directory: DirectoryConfig,
    /// Meeting series known by name (`[[series]]`); others are learned from document titles.
    #[serde(rename = "series", default)]
    pub series: Vec<SeriesConfig>,
    #[serde(default)]
    pub reminders: RemindersConfig,
    #[serde(default)]
    pub http: HttpConfig,
}

/// The optional HTTP listener for `/healthz` and `/metrics` (off unless `listen` is set).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// The address to listen on, e.g. "127.0.0.1:9187"; unset means no listener.
    pub listen: Option<String>,
    /// Whether `listen` may be an address other than loopback. The endpoints have no
    /// authentication: they tell anyone who can reach them what the mailboxes are doing.
    pub allow_non_loopback: bool,
}

impl HttpConfig {
    /// The socket address to listen on, when enabled and allowed.
    pub fn listen_addr(&self) -> Result<Option<std::net::SocketAddr>> {
        let Some(text) = &self.listen else {
            return Ok(None);
        };
        let addr: std::net::SocketAddr = text.parse().map_err(|_| {
            anyhow::anyhow!(
                "http.listen: expected an IP address and port such as \"127.0.0.1:9187\", found {text:?}"
            )
        })?;
        if !addr.ip().is_loopback() && !self.allow_non_loopback {
            bail!(
                "http.listen: {addr} is not a loopback address; the endpoints have no authentication \
                 (set http.allow_non_loopback = true to listen there anyway)"
            );
        }
        Ok(Some(addr))
    }
}

/// When owners of open actions are reminded and secretaries get their digest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersConfig {
    /// Whether reminders and digests are sent at all.
    pub enabled: bool,
    /// When reminders may go out: a cron expression with seconds, in each series' time zone.
    pub schedule: String,
    /// Days before the next meeting during which each firing of the schedule reminds owners.
    pub days_before_meeting: u32,
    /// Days before an action's due date during which each firing reminds its owner.
    pub days_before_due: u32,
    /// Whether the secretary gets a digest of the series' actions before each meeting.
    pub digest: bool,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        RemindersConfig {
            enabled: true,
            schedule: "0 0 8 * * Mon-Fri".into(),
            days_before_meeting: 3,
            days_before_due: 1,
            digest: true,
        }
    }
}

/// Where people's addresses come from besides mail headers and corrections.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    /// A vCard (.vcf) or CSV (name,email,organisation) file, re-read when it changes.
    pub path: Option<PathBuf>,
}

/// A meeting series configured by name, with its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesConfig {
    /// The series' name, as people call it ("Kommunalt forum").
    pub name: String,
    /// A document belongs to this series when its title contains one of these (case, accents
    /// other than å/ä/ö and spacing ignored). Empty: the name itself.
    #[serde(default)]
    pub match_titles: Vec<String>,
    /// Only documents arriving in this mailbox (its `name`).
    pub mailbox: Option<String>,
    /// Documents from these senders belong to the series whatever their title says.
    #[serde(default)]
    pub senders: Vec<String>,
    /// IANA time zone; default `daemon.time_zone`.
    pub time_zone: Option<String>,
    /// "sv" or "en"; default: the language of the series' documents.
    pub language: Option<String>,
    /// Members besides those named in the minutes: "Name <address>" or "Name".
    #[serde(default)]
    pub members: Vec<String>,
    /// Named groups used in minutes ("kommunerna") and the member names they stand for.
    #[serde(default)]
    pub groups: std::collections::BTreeMap<String, Vec<String>>,
    /// Who approves draft minutes: "approvers" (the justerare the minutes name) or "none".
    #[serde(default = "default_approval")]
    pub approval: String,
    /// Days after the meeting by which minutes must be approved, when they do not say.
    #[serde(default = "default_approval_days")]
    pub approval_days: u32,
    /// Days before the approval deadline when approvers who have not answered are reminded.
    #[serde(default = "default_approval_nudge_days")]
    pub approval_nudge_days: u32,
    /// Who gets approved minutes: "members", "attendees" or "none".
    #[serde(default = "default_distribution")]
    pub distribution: String,
    /// Days before a meeting during which owners of open actions are reminded; default
    /// `reminders.days_before_meeting`.
    pub reminder_days_before: Option<u32>,
    /// When reminders for this series may go out (cron with seconds); default
    /// `reminders.schedule`.
    pub reminder_schedule: Option<String>,
    /// Who gets the digest before each meeting; default: the sender of the latest minutes.
    pub secretary: Option<String>,
}

fn default_approval() -> String {
    "approvers".into()
}

fn default_distribution() -> String {
    "none".into()
}

fn default_approval_days() -> u32 {
    14
}

fn default_approval_nudge_days() -> u32 {
    2
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite:PATH` (the embedded default) or `postgres://...`.
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "sqlite:/var/lib/clerk/clerk.db".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// A fixed "now" (RFC 3339) for demos and tests; the environment variable `CLERK_NOW`
    /// overrides it. Unset means the real clock.
    pub fixed_now: Option<String>,
    /// Time zone used when a series has none of its own.
    pub time_zone: String,
    /// Seconds a worker gets to finish its current step at shutdown before it is aborted.
    pub shutdown_grace_secs: u64,
    /// Seconds between runs of the scheduled work (approval nudges, reminders).
    pub tick_secs: u64,
    /// This replica's name in logs, leases and `clerk status`; unset means `hostname:pid`.
    pub replica_id: Option<String>,
    /// Seconds a replica's lease on a mailbox lasts; it renews at a third of that, and another
    /// replica takes the mailbox over when it ran out (its holder died or lost the database).
    pub mailbox_lease_secs: u64,
    /// Seconds an outbox row stays claimed by the replica sending it; a send is cut off before
    /// then, and a row whose sender died is sent by another replica after.
    pub outbox_claim_secs: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            fixed_now: None,
            time_zone: "Europe/Stockholm".into(),
            shutdown_grace_secs: 20,
            tick_secs: 60,
            replica_id: None,
            mailbox_lease_secs: 30,
            outbox_claim_secs: 600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Largest message accepted, in bytes; larger ones are quarantined unread.
    pub max_message_bytes: usize,
    /// Seconds allowed for extracting and parsing one message's documents.
    pub parse_timeout_secs: u64,
    /// Whether each sender gets a receipt saying what Clerk understood.
    pub send_receipts: bool,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            max_message_bytes: 25 * 1024 * 1024,
            parse_timeout_secs: 30,
            send_receipts: true,
        }
    }
}

/// One mailbox Clerk lives in: where it reads (IMAP) and how it sends (SMTP).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// Short name used in logs, the store and `clerk status`.
    pub name: String,
    /// The assistant's own address: From of every mail it sends, ORGANIZER of invitations.
    pub address: String,
    /// Display name on outgoing mail.
    #[serde(default = "default_display_name")]
    pub display_name: String,
    pub imap: ImapConfig,
    pub smtp: SmtpConfig,
    /// Addresses allowed to correct Clerk's address book by reply, besides the secretaries who
    /// have sent it minutes or agendas.
    #[serde(default)]
    pub trusted_senders: Vec<String>,
    /// Senders ("sara@kommun.se") or domains ("kommun.se", "@kommun.se") whose documents are
    /// taken; empty takes everyone's. Others' mail is quarantined unanswered.
    #[serde(default)]
    pub accept_from: Vec<String>,
    /// When set, documents count only if the topmost Authentication-Results header from this
    /// authserv-id (the receiving server's) says dmarc=pass.
    pub require_dmarc: Option<String>,
}

fn default_display_name() -> String {
    "Clerk".into()
}

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connect, then STARTTLS, which must succeed.
    Starttls,
    /// No encryption. Only allowed to a loopback host.
    Plain,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    #[serde(default = "default_imap_port")]
    pub port: u16,
    #[serde(default = "default_security")]
    pub security: Security,
    pub username: String,
    #[serde(flatten)]
    pub password: PasswordSource,
    /// A PEM file of extra CA certificates to trust (a private CA); the system roots are always trusted.
    pub ca_file: Option<PathBuf>,
    /// Folder watched for new mail.
    #[serde(default = "default_inbox")]
    pub folder: String,
    /// Folder processed mail is moved to (created when missing).
    #[serde(default = "default_processed")]
    pub processed_folder: String,
    /// Folder refused mail is moved to.
    #[serde(default = "default_quarantine")]
    pub quarantine_folder: String,
    /// Seconds an IDLE waits before it is re-issued (servers drop idle clients after 30 minutes).
    #[serde(default = "default_idle_secs")]
    pub idle_secs: u64,
    /// Seconds between polls when the server has no IDLE.
    #[serde(default = "default_poll_secs")]
    pub poll_secs: u64,
    /// Seconds allowed for any single IMAP command.
    #[serde(default = "default_command_timeout_secs")]
    pub command_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default = "default_security")]
    pub security: Security,
    /// Login name; no AUTH when unset.
    pub username: Option<String>,
    #[serde(flatten)]
    pub password: PasswordSource,
    pub ca_file: Option<PathBuf>,
    /// Seconds allowed for one SMTP transaction.
    #[serde(default = "default_smtp_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_imap_port() -> u16 {
    993
}
fn default_smtp_port() -> u16 {
    587
}
fn default_security() -> Security {
    Security::Starttls
}
fn default_inbox() -> String {
    "INBOX".into()
}
fn default_processed() -> String {
    "Clerk/Processed".into()
}
fn default_quarantine() -> String {
    "Clerk/Quarantine".into()
}
fn default_idle_secs() -> u64 {
    300
}
fn default_poll_secs() -> u64 {
    60
}
fn default_command_timeout_secs() -> u64 {
    60
}
fn default_smtp_timeout_secs() -> u64 {
    60
}

/// Where a password comes from. Exactly one of the three may be set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSource {
    /// A file holding the password (trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// The name of a systemd credential (`LoadCredential=`), read from `$CREDENTIALS_DIRECTORY`.
    pub password_credential: Option<String>,
    /// The name of an environment variable holding the password.
    pub password_env: Option<String>,
}

/// A password or other secret: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PasswordSource {
    fn is_set(&self) -> bool {
        self.password_file.is_some()
            || self.password_credential.is_some()
            || self.password_env.is_some()
    }

    /// Reads the secret from wherever it is configured to live. `path` names the key for errors.
    pub fn load(&self, path: &str) -> Result<Option<Secret>> {
        let set = [
            self.password_file.is_some(),
            self.password_credential.is_some(),
            self.password_env.is_some(),
        ];
        if set.iter().filter(|s| **s).count() > 1 {
            bail!("{path}: set only one of password_file, password_credential and password_env");
        }
        let raw = if let Some(file) = &self.password_file {
            std::fs::read_to_string(file)
                .with_context(|| format!("{path}.password_file: cannot read {}", file.display()))?
        } else if let Some(name) = &self.password_credential {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY").with_context(|| {
                format!(
                    "{path}.password_credential: $CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit)"
                )
            })?;
            let file = Path::new(&dir).join(name);
            std::fs::read_to_string(&file).with_context(|| {
                format!("{path}.password_credential: cannot read {}", file.display())
            })?
        } else if let Some(var) = &self.password_env {
            std::env::var(var).with_context(|| {
                format!("{path}.password_env: environment variable {var} is not set")
            })?
        } else {
            return Ok(None);
        };
        let trimmed = raw.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            bail!("{path}: the password is empty");
        }
        Ok(Some(Secret(trimmed.to_string())))
    }
}

impl Config {
    /// Parses and validates a configuration text. `origin` names the file in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let de = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let message = inner.message().to_string();
            match inner.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].lines().count().max(1);
                    anyhow::anyhow!("{origin}:{line}: {path}: {message}")
                }
                None => anyhow::anyhow!("{origin}: {path}: {message}"),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads the file named by `--config`/`CLERK_CONFIG`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Checks what the types alone cannot: values that must make sense together.
    fn validate(&self) -> Result<()> {
        let url = &self.store.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            bail!("store.url: expected sqlite:PATH or postgres://..., found {url:?}");
        }
        if self.daemon.time_zone.parse::<chrono_tz::Tz>().is_err() {
            bail!(
                "daemon.time_zone: expected an IANA time zone such as Europe/Stockholm, found {:?}",
                self.daemon.time_zone
            );
        }
        if self.daemon.tick_secs == 0 {
            bail!("daemon.tick_secs: expected a number of seconds above 0");
        }
        if self.daemon.mailbox_lease_secs < 2 {
            bail!("daemon.mailbox_lease_secs: expected at least 2 seconds");
        }
        if self.daemon.outbox_claim_secs < 2 {
            bail!("daemon.outbox_claim_secs: expected at least 2 seconds");
        }
        if let Some(id) = &self.daemon.replica_id
            && (id.trim().is_empty() || id.len() > 200 || id.chars().any(char::is_control))
        {
            bail!(
                "daemon.replica_id: expected a short name without control characters, found {id:?}"
            );
        }
        if let Some(now) = &self.daemon.fixed_now {
            chrono::DateTime::parse_from_rfc3339(now).map_err(|e| {
                anyhow::anyhow!("daemon.fixed_now: expected an RFC 3339 time, {e}: {now:?}")
            })?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, mailbox) in self.mailboxes.iter().enumerate() {
            let at = format!("mailbox[{i}]");
            if mailbox.name.is_empty() || !names.insert(mailbox.name.as_str()) {
                bail!("{at}.name: expected a unique, non-empty name");
            }
            if mailbox.address.parse::<lettre::Address>().is_err() {
                bail!(
                    "{at}.address: expected an email address, found {:?}",
                    mailbox.address
                );
            }
            check_endpoint(
                &format!("{at}.imap"),
                &mailbox.imap.host,
                mailbox.imap.security,
            )?;
            check_endpoint(
                &format!("{at}.smtp"),
                &mailbox.smtp.host,
                mailbox.smtp.security,
            )?;
            if !mailbox.imap.password.is_set() {
                bail!(
                    "{at}.imap: a password is needed: set password_file, password_credential or password_env"
                );
            }
            if mailbox.smtp.username.is_some() && !mailbox.smtp.password.is_set() {
                bail!(
                    "{at}.smtp: username is set but no password: set password_file, password_credential or password_env"
                );
            }
            for (key, secs) in [
                ("imap.idle_secs", mailbox.imap.idle_secs),
                ("imap.poll_secs", mailbox.imap.poll_secs),
                (
                    "imap.command_timeout_secs",
                    mailbox.imap.command_timeout_secs,
                ),
                ("smtp.timeout_secs", mailbox.smtp.timeout_secs),
            ] {
                if secs == 0 {
                    bail!("{at}.{key}: expected a number of seconds above 0");
                }
            }
            if mailbox.imap.idle_secs > 29 * 60 {
                bail!(
                    "{at}.imap.idle_secs: expected at most 1740 (servers may drop an IDLE after 30 minutes)"
                );
            }
        }
        self.http.listen_addr()?;
        if let Err(e) = self.reminders.schedule.parse::<cron::Schedule>() {
            bail!(
                "reminders.schedule: expected a cron expression with seconds such as \"0 0 8 * * Mon-Fri\", {e}: {:?}",
                self.reminders.schedule
            );
        }
        let mut series_names = std::collections::HashSet::new();
        for (i, series) in self.series.iter().enumerate() {
            let at = format!("series[{i}]");
            if series.name.trim().is_empty()
                || !series_names.insert(crate::names::key(&series.name))
            {
                bail!("{at}.name: expected a unique, non-empty name");
            }
            if let Some(tz) = &series.time_zone
                && tz.parse::<chrono_tz::Tz>().is_err()
            {
                bail!("{at}.time_zone: expected an IANA time zone, found {tz:?}");
            }
            if let Some(language) = &series.language
                && !matches!(language.as_str(), "sv" | "en")
            {
                bail!("{at}.language: expected \"sv\" or \"en\", found {language:?}");
            }
            if let Some(mailbox) = &series.mailbox
                && !names.contains(mailbox.as_str())
            {
                bail!("{at}.mailbox: no [[mailbox]] is named {mailbox:?}");
            }
            if !matches!(series.approval.as_str(), "approvers" | "none") {
                bail!(
                    "{at}.approval: expected \"approvers\" or \"none\", found {:?}",
                    series.approval
                );
            }
            if !matches!(
                series.distribution.as_str(),
                "members" | "attendees" | "none"
            ) {
                bail!(
                    "{at}.distribution: expected \"members\", \"attendees\" or \"none\", found {:?}",
                    series.distribution
                );
            }
            if let Some(schedule) = &series.reminder_schedule
                && let Err(e) = schedule.parse::<cron::Schedule>()
            {
                bail!(
                    "{at}.reminder_schedule: expected a cron expression with seconds, {e}: {schedule:?}"
                );
            }
            if let Some(secretary) = &series.secretary
                && secretary.parse::<lettre::Address>().is_err()
            {
                bail!("{at}.secretary: expected an email address, found {secretary:?}");
            }
            for (j, member) in series.members.iter().enumerate() {
                if let Err(e) = crate::people::parse_member(member) {
                    bail!("{at}.members[{j}]: {e}");
                }
            }
        }
        Ok(())
    }

    /// The fixed time from the environment or the config, if any.
    pub fn fixed_now(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let text = match std::env::var("CLERK_NOW") {
            Ok(v) if !v.is_empty() => Some(v),
            _ => self.daemon.fixed_now.clone(),
        };
        text.map(|t| {
            chrono::DateTime::parse_from_rfc3339(&t)
                .map(|d| d.with_timezone(&chrono::Utc))
                .map_err(|e| anyhow::anyhow!("CLERK_NOW/daemon.fixed_now: {e}: {t:?}"))
        })
        .transpose()
    }
}

/// Plain connections are refused unless the host is loopback.
fn check_endpoint(at: &str, host: &str, security: Security) -> Result<()> {
    if host.is_empty() {
        bail!("{at}.host: expected a host name");
    }
    if security == Security::Plain && !is_loopback(host) {
        bail!(
            "{at}.security: \"plain\" is only allowed for a loopback host (localhost, 127.0.0.1, ::1), not {host:?}; use \"tls\" or \"starttls\""
        );
    }
    Ok(())
}

pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ImapConfig {
    pub fn command_timeout(&self) -> Duration {
        Duration::from_secs(self.command_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[store]
url = "sqlite:/tmp/x.db"

[[mailbox]]
name = "main"
address = "clerk@example.org"
[mailbox.imap]
host = "127.0.0.1"
port = 10143
security = "plain"
username = "clerk@example.org"
password_env = "CLERK_TEST_PW"
[mailbox.smtp]
host = "127.0.0.1"
port = 10025
security = "plain"
"#;

    #[test]
    fn example_config_is_valid() {
        let config = Config::parse(EXAMPLE, "clerk.example.toml").expect("example parses");
        assert_eq!(config.mailboxes.len(), 1);
        assert_eq!(config.mailboxes[0].imap.idle_secs, 300);
    }

    #[test]
    fn minimal_config_takes_defaults() {
        let config = Config::parse(MINIMAL, "t").expect("parses");
        let mailbox = &config.mailboxes[0];
        assert_eq!(mailbox.imap.folder, "INBOX");
        assert_eq!(mailbox.imap.processed_folder, "Clerk/Processed");
        assert_eq!(mailbox.display_name, "Clerk");
        assert_eq!(config.daemon.time_zone, "Europe/Stockholm");
    }

    #[test]
    fn unknown_key_names_its_path() {
        let text = MINIMAL.replace("port = 10143", "port = 10143\nhots = \"x\"");
        let err = Config::parse(&text, "t").unwrap_err().to_string();
        assert!(err.contains("mailbox[0].imap"), "{err}");
        assert!(err.contains("hots"), "{err}");
    }

    #[test]
    fn bad_value_names_its_path_and_expectation() {
        let text = MINIMAL.replace("port = 10025", "port = \"smtp\"");
        let err = Config::parse(&text, "t").unwrap_err().to_string();
        assert!(err.contains("mailbox[0].smtp.port"), "{err}");
    }

    #[test]
    fn plain_is_refused_off_loopback() {
        let text = MINIMAL.replace(
            "host = \"127.0.0.1\"\nport = 10143",
            "host = \"mail.example.org\"\nport = 10143",
        );
        let err = Config::parse(&text, "t").unwrap_err().to_string();
        assert!(err.contains("mailbox[0].imap.security"), "{err}");
    }

    #[test]
    fn password_is_required_and_never_debug_printed() {
        let text = MINIMAL.replace("password_env = \"CLERK_TEST_PW\"\n", "");
        let err = Config::parse(&text, "t").unwrap_err().to_string();
        assert!(err.contains("password"), "{err}");

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "hunter2-secret\n").expect("write");
        let source = PasswordSource {
            password_file: Some(file),
            ..Default::default()
        };
        let secret = source.load("x").expect("loads").expect("some");
        assert_eq!(secret.expose(), "hunter2-secret");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn two_password_sources_are_an_error() {
        let source = PasswordSource {
            password_file: Some("/nonexistent".into()),
            password_env: Some("X".into()),
            ..Default::default()
        };
        let err = source.load("mailbox[0].imap").unwrap_err().to_string();
        assert!(err.contains("only one"), "{err}");
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("mail.example.org"));
    }
}
