//! Shared helpers: where the test servers are, test users, driving the real `clerk` binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures::TryStreamExt;

/// The loopback mail stack started by `scripts/mailstack.sh up`.
pub struct MailStack {
    pub host: String,
    pub imap_port: u16,
    pub smtp_port: u16,
    pub submission_port: u16,
    pub ca: PathBuf,
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need the local servers; run scripts/test.sh \
             (or `eval \"$(scripts/mailstack.sh env)\"; eval \"$(scripts/pgstack.sh env)\"`)"
        )
    })
}

pub fn mail_stack() -> MailStack {
    let port = |name: &str| required_env(name).parse().expect("a port number");
    MailStack {
        host: required_env("CLERK_TEST_IMAP_HOST"),
        imap_port: port("CLERK_TEST_IMAP_PORT"),
        smtp_port: port("CLERK_TEST_SMTP_PORT"),
        submission_port: port("CLERK_TEST_SUBMISSION_PORT"),
        ca: PathBuf::from(required_env("CLERK_TEST_CA")),
    }
}

pub fn pg_url() -> String {
    required_env("CLERK_TEST_PG_URL")
}

/// The URL of a fresh, empty database on the test PostgreSQL server.
pub async fn fresh_postgres_url() -> String {
    use sqlx::Connection;
    let base = pg_url();
    let name = format!("clerk_test_{}", rand::random::<u32>());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

/// A mail account on the test stack.
#[derive(Clone, Debug)]
pub struct Account {
    pub address: String,
    pub password: String,
}

static NEXT_USER: AtomicU32 = AtomicU32::new(0);

/// Creates a fresh account, so tests running side by side never share a mailbox.
pub fn new_account(prefix: &str, domain: &str) -> Account {
    let n = NEXT_USER.fetch_add(1, Ordering::SeqCst);
    let address = format!(
        "{prefix}-{}-{}-{n}@{domain}",
        std::process::id(),
        rand::random::<u16>()
    );
    let password = format!("pw-{}", rand::random::<u32>());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack.sh");
    let status = Command::new(script)
        .args(["adduser", &address, &password])
        .stdout(Stdio::null())
        .status()
        .expect("run scripts/mailstack.sh adduser");
    assert!(status.success(), "mailstack.sh adduser {address} failed");
    Account { address, password }
}

/// A running `clerk run` process with its own config and SQLite database.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    child: Option<Child>,
    /// Extra environment for `clerk run`, e.g. CLERK_NOW.
    env: Vec<(String, String)>,
}

impl Daemon {
    /// Writes a config for `clerk` (IMAP STARTTLS and SMTP submission with AUTH, both checked
    /// against the test CA) and starts the daemon.
    pub fn start(stack: &MailStack, clerk: &Account) -> Daemon {
        Daemon::start_with(stack, clerk, "", &[])
    }

    /// As [`Daemon::start`], with more configuration appended (e.g. `[directory]` or
    /// `[[series]]`, placed before the mailbox) and extra environment.
    pub fn start_with(
        stack: &MailStack,
        clerk: &Account,
        extra_config: &str,
        env: &[(&str, &str)],
    ) -> Daemon {
        Daemon::start_custom(
            clerk,
            &imap_section(stack, clerk, 120, 20),
            &submission_section(stack, clerk),
            extra_config,
            env,
        )
    }

    /// Starts the daemon with the given `[mailbox.imap]` and `[mailbox.smtp]` sections (see
    /// [`imap_section`], [`submission_section`]); `{password_file}` in them names a file holding
    /// the account's password.
    pub fn start_custom(
        clerk: &Account,
        imap: &str,
        smtp: &str,
        extra_config: &str,
        env: &[(&str, &str)],
    ) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "\n[store]\nurl = \"sqlite:{db}\"\n\n{extra_config}\n\n{mailbox}",
            db = dir.path().join("clerk.db").display(),
            mailbox = custom_mailbox(clerk, "main", imap, smtp, dir.path()),
        );
        Daemon::start_config(dir, &config, env)
    }

    /// Starts the daemon on a whole configuration written into `dir`.
    pub fn start_config(dir: tempfile::TempDir, config: &str, env: &[(&str, &str)]) -> Daemon {
        let config_path = dir.path().join("clerk.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut daemon = Daemon {
            dir,
            config_path,
            child: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        daemon.restart();
        daemon
    }

    /// Kills the daemon with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sets an environment variable for the next (re)start, e.g. a later CLERK_NOW.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Waits up to `limit` for the daemon to exit on its own (a failure point aborting it);
    /// true when it did.
    pub fn exited_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().unwrap().is_some()
            {
                self.child = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The running daemon's process id (for benches/service.rs, which includes this file).
    #[allow(dead_code)]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn db_url(&self) -> String {
        format!("sqlite:{}", self.dir.path().join("clerk.db").display())
    }

    /// Stops the daemon if running (SIGTERM, as systemd does) and starts it again.
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("clerk.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_clerk"))
            .arg("--config")
            .arg(&self.config_path)
            .arg("run")
            .env("CLERK_LOG", "clerk=debug,info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start clerk run");
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("clerk did not stop within 30 s of SIGTERM\n{}", self.log());
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("clerk.log")).unwrap_or_default()
    }

    /// Runs `clerk status --json` against this daemon's database.
    pub fn status(&self) -> serde_json::Value {
        self.json(&["status", "--json"])
    }

    /// Runs a `clerk` command that prints JSON against this daemon's configuration.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_clerk"))
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "clerk {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `[[mailbox]]` section named `name` for `account` (IMAP STARTTLS and SMTP submission with
/// AUTH, both checked against the test CA); its password file goes into `dir`.
pub fn mailbox_config(stack: &MailStack, account: &Account, name: &str, dir: &Path) -> String {
    custom_mailbox(
        account,
        name,
        &imap_section(stack, account, 120, 20),
        &submission_section(stack, account),
        dir,
    )
}

/// A `[[mailbox]]` section with the given `[mailbox.imap]` and `[mailbox.smtp]` keys;
/// `{password_file}` in them names a file in `dir` holding the account's password.
pub fn custom_mailbox(account: &Account, name: &str, imap: &str, smtp: &str, dir: &Path) -> String {
    let pw = match name {
        "main" => dir.join("password"),
        _ => dir.join(format!("password-{name}")),
    };
    std::fs::write(&pw, format!("{}\n", account.password)).unwrap();
    format!(
        "\n[[mailbox]]\nname = \"{name}\"\naddress = \"{addr}\"\ndisplay_name = \"Clerk\"\n\n\
         [mailbox.imap]\n{imap}\n[mailbox.smtp]\n{smtp}",
        addr = account.address,
    )
    .replace("{password_file}", &pw.display().to_string())
}

/// The `[mailbox.imap]` keys for `account` on `stack` (STARTTLS checked against its CA).
pub fn imap_section(
    stack: &MailStack,
    account: &Account,
    idle_secs: u64,
    timeout_secs: u64,
) -> String {
    format!(
        "host = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nusername = \"{}\"\n\
         password_file = \"{{password_file}}\"\nca_file = \"{}\"\nidle_secs = {idle_secs}\n\
         poll_secs = 600\ncommand_timeout_secs = {timeout_secs}\n",
        stack.imap_port,
        account.address,
        stack.ca.display()
    )
}

/// The `[mailbox.smtp]` keys for sending as `account` through the stack's submission port.
pub fn submission_section(stack: &MailStack, account: &Account) -> String {
    format!(
        "host = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nusername = \"{}\"\n\
         password_file = \"{{password_file}}\"\nca_file = \"{}\"\ntimeout_secs = 20\n",
        stack.submission_port,
        account.address,
        stack.ca.display()
    )
}

/// Sends a raw message through the stack's SMTP port (no auth: it accepts local domains).
pub async fn smtp_send(stack: &MailStack, from: &str, to: &[&str], raw: &[u8]) {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, address::Envelope};
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&stack.host)
        .port(stack.smtp_port)
        .build();
    let envelope = Envelope::new(
        Some(from.parse().unwrap()),
        to.iter().map(|t| t.parse().unwrap()).collect(),
    )
    .unwrap();
    transport.send_raw(&envelope, raw).await.expect("SMTP send");
}

pub fn imap_config(
    stack: &MailStack,
    account: &Account,
    pw_file: &Path,
) -> clerk::config::ImapConfig {
    let text = format!(
        "host = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nusername = \"{}\"\n\
         password_file = \"{}\"\nca_file = \"{}\"\ncommand_timeout_secs = 20\n",
        stack.imap_port,
        account.address,
        pw_file.display(),
        stack.ca.display()
    );
    toml::from_str(&text).unwrap()
}

/// Every message in `folder` of `account`, as raw bytes, in UID order.
pub async fn fetch_all(stack: &MailStack, account: &Account, folder: &str) -> Vec<Vec<u8>> {
    let (mut session, exists) = open_folder(stack, account, folder).await;
    if exists.is_none() {
        let _ = session.logout().await;
        return Vec::new();
    }
    let mut uids: Vec<u32> = session
        .uid_search("ALL")
        .await
        .unwrap()
        .into_iter()
        .collect();
    uids.sort();
    let mut out = Vec::new();
    for uid in uids {
        let fetches: Vec<_> = session
            .uid_fetch(uid.to_string(), "BODY.PEEK[]")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        for f in fetches {
            if let Some(body) = f.body() {
                out.push(body.to_vec());
            }
        }
    }
    let _ = session.logout().await;
    out
}

/// Appends a raw message to a folder, as another client (or a re-delivery) would.
pub async fn append(stack: &MailStack, account: &Account, folder: &str, raw: &[u8]) {
    let mut session = login(stack, account).await;
    session
        .append(folder, None, None, raw)
        .await
        .expect("IMAP APPEND");
    let _ = session.logout().await;
}

/// Polls `folder` until `pred` holds for its messages, or fails after `secs` with the log.
pub async fn wait_for(
    stack: &MailStack,
    account: &Account,
    folder: &str,
    secs: u64,
    daemon: &Daemon,
    what: &str,
    pred: impl Fn(&[Vec<u8>]) -> bool,
) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let messages = fetch_all(stack, account, folder).await;
        if pred(&messages) {
            return messages;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what} in {}/{folder} ({} messages)\n--- clerk log ---\n{}",
                account.address,
                messages.len(),
                daemon.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Runs `clerk --config CONFIG ARGS...` with `env`; whether it succeeded, and its stdout and
/// stderr together.
pub fn run_clerk(config: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clerk"))
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run clerk");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The decoded Subject of a raw message ("" when it has none).
pub fn subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

/// A header value of a raw message, unfolded.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    msg.header_raw(name).map(|v| v.trim().replace("\r\n", ""))
}

/// The decoded text body of a raw message.
pub fn body_text(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
}

/// Logs `account` in to the stack's IMAP server.
async fn login(stack: &MailStack, account: &Account) -> clerk::imap::ImapSession {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, &account.password).unwrap();
    clerk::imap::connect(&imap_config(stack, account, &pw))
        .await
        .expect("IMAP login")
}

/// Logs `account` in to the stack's IMAP server and selects `folder`; its message count, or
/// None when the folder does not exist.
async fn open_folder(
    stack: &MailStack,
    account: &Account,
    folder: &str,
) -> (clerk::imap::ImapSession, Option<u32>) {
    let mut session = login(stack, account).await;
    let exists = session.select(folder).await.ok().map(|m| m.exists);
    (session, exists)
}

/// The Message-ID and In-Reply-To of every message in `folder`, in one FETCH (cheap to poll even
/// for hundreds of messages).
pub async fn fetch_reply_ids(
    stack: &MailStack,
    account: &Account,
    folder: &str,
) -> Vec<(Option<String>, Option<String>)> {
    let (mut session, exists) = open_folder(stack, account, folder).await;
    let mut out = Vec::new();
    if exists.unwrap_or(0) > 0 {
        let fetches: Vec<_> = session
            .fetch("1:*", "BODY.PEEK[HEADER]")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        for f in fetches {
            let raw = f.header().unwrap_or_default();
            out.push((header(raw, "Message-ID"), header(raw, "In-Reply-To")));
        }
    }
    let _ = session.logout().await;
    out
}

/// How many messages `folder` holds (0 when it does not exist).
pub async fn count_messages(stack: &MailStack, account: &Account, folder: &str) -> u32 {
    let (mut session, exists) = open_folder(stack, account, folder).await;
    let _ = session.logout().await;
    exists.unwrap_or(0)
}

/// The last `lines` lines of the daemon's log, for failure messages.
pub fn log_tail(daemon: &Daemon, lines: usize) -> String {
    let log = daemon.log();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A Dovecot of one test's own, started by `scripts/mailstack.sh up-dovecot` in a temporary
/// state directory on free ports, with `env` (`CLERK_STACK_TLS_NAME`, `CLERK_STACK_SSL`) for
/// every call; stopped when dropped.
pub struct PrivateDovecot {
    pub dir: tempfile::TempDir,
    port_base: u16,
    env: Vec<(String, String)>,
    pub stack: MailStack,
    pub imaps_port: u16,
    pub lmtp_port: u16,
}

fn mailstack(dir: &Path, port_base: u16, env: &[(String, String)], args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack.sh");
    // Into a file, not a pipe: Dovecot inherits the script's output and keeps it open, so
    // reading a pipe to its end would wait for Dovecot to exit.
    let log_path = dir.with_extension("mailstack.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let status = Command::new(script)
        .args(args)
        .env("CLERK_STACK_DIR", dir)
        .env("CLERK_STACK_PORT_BASE", port_base.to_string())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .expect("run scripts/mailstack.sh");
    assert!(
        status.success(),
        "mailstack.sh {args:?}: {}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
}

/// A port base whose IMAP, IMAPS, LMTP and auth ports are free, below the ephemeral range and
/// clear of the shared servers (14xxx, 15232, 15432).
fn free_port_base() -> u16 {
    for _ in 0..50 {
        let base = 16_000 + rand::random::<u16>() % 150 * 100;
        if [12, 24, 143, 993]
            .iter()
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", base + p)).is_ok())
        {
            return base;
        }
    }
    panic!("no free port base for a private Dovecot");
}

impl PrivateDovecot {
    pub fn start(env: &[(&str, &str)]) -> PrivateDovecot {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        // Dovecot's mail user must reach the state directory inside the temporary one.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port_base = free_port_base();
        mailstack(dir.path(), port_base, &env, &["up-dovecot"]);
        let stack = MailStack {
            host: "127.0.0.1".into(),
            imap_port: port_base + 143,
            smtp_port: 0,
            submission_port: 0,
            ca: dir.path().join("ca.pem"),
        };
        PrivateDovecot {
            imaps_port: port_base + 993,
            lmtp_port: port_base + 24,
            dir,
            port_base,
            env,
            stack,
        }
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("dovecot/dovecot.conf")
    }

    pub fn add_user(&self, account: &Account) {
        mailstack(
            self.dir.path(),
            self.port_base,
            &self.env,
            &["adduser", &account.address, &account.password],
        );
    }

    pub fn stop(&self) {
        mailstack(self.dir.path(), self.port_base, &self.env, &["down"]);
    }

    pub fn start_again(&self) {
        mailstack(self.dir.path(), self.port_base, &self.env, &["up-dovecot"]);
    }

    pub fn kick(&self, user: &str) {
        let out = Command::new("doveadm")
            .arg("-c")
            .arg(self.conf())
            .args(["kick", user])
            .output()
            .expect("run doveadm kick");
        assert!(
            out.status.success(),
            "doveadm kick: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateDovecot {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailstack.sh");
        let _ = Command::new(script)
            .arg("down")
            .env("CLERK_STACK_DIR", self.dir.path())
            .env("CLERK_STACK_PORT_BASE", self.port_base.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_file(self.dir.path().with_extension("mailstack.log"));
    }
}

/// `smtp-sink` from the postfix package on a spare loopback port, our own child process,
/// dumping what it accepts into a directory of its own. It offers no STARTTLS.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    pub fn new() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        // The sink drops root for the postfix user; it must reach and write its dumps.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = Command::new("chown")
            .args(["postfix", &dir.path().display().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        SmtpSink {
            port,
            dir,
            child: None,
        }
    }

    /// Where each accepted transaction is dumped, a file each.
    pub fn dumps(&self) -> &Path {
        self.dir.path()
    }

    /// (Re)starts the sink with `behaviour` (smtp-sink options) and waits until it listens.
    pub fn behave(&mut self, behaviour: &[&str]) {
        self.stop();
        let child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "postfix", "-d"])
            .arg(self.dumps().join("%Y%m%d%H%M%S."))
            .args(behaviour)
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("16")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start /usr/sbin/smtp-sink (from the postfix package)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "smtp-sink did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
