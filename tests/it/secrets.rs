//! Promise 11: secrets never reach logs, argv, the environment or command output. The daemon
//! runs at the most verbose log level (`CLERK_LOG=trace`, every crate's trace events too: the
//! IMAP, SMTP and database libraries') through a whole exchange: login over STARTTLS, a document
//! in, a receipt out through SMTP submission with AUTH. Its log, its command line and
//! environment (`/proc`), `clerk status` and `clerk check-config --connect` (with the right and
//! with a wrong password) are then searched for the password and for the forms it travels in on
//! the wire (base64 in AUTH PLAIN and AUTH LOGIN).

use base64::Engine;

use crate::e2e::{agenda_mail, is_reply_to};
use crate::support::*;

/// Every form of `account`'s password an honest log could leak.
fn password_forms(account: &Account) -> Vec<String> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    vec![
        account.password.clone(),
        b64(account.password.as_bytes()),
        b64(format!("\0{}\0{}", account.address, account.password).as_bytes()),
    ]
}

/// Each line of `text` holding one of `forms`, that form masked, cut to 300 characters.
fn leaks(what: &str, text: &str, forms: &[String]) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let form = forms.iter().find(|f| line.contains(f.as_str()))?;
            let masked: String = line
                .replace(form.as_str(), "<SECRET>")
                .chars()
                .take(300)
                .collect();
            Some(format!("{what}: {masked}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_run_shows_no_password_anywhere() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let daemon = Daemon::start_with(&stack, &clerk, "", &[("CLERK_LOG", "trace")]);
    let forms = password_forms(&clerk);

    let id = format!("secrets-{}@example.org", rand::random::<u32>());
    let raw = agenda_mail(&secretary.address, &clerk.address, &id);
    smtp_send(&stack, &secretary.address, &[&clerk.address], &raw).await;
    wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the receipt",
        |m| m.iter().any(|r| is_reply_to(r, &id)),
    )
    .await;

    let mut found = Vec::new();
    let pid = daemon.pid().expect("the daemon runs");
    for file in ["cmdline", "environ"] {
        let bytes = std::fs::read(format!("/proc/{pid}/{file}")).unwrap();
        found.extend(leaks(file, &String::from_utf8_lossy(&bytes), &forms));
    }
    found.extend(leaks("clerk status", &daemon.status().to_string(), &forms));
    let check = |config: &std::path::Path| {
        run_clerk(
            config,
            &["check-config", "--connect"],
            &[("CLERK_LOG", "trace")],
        )
        .1
    };
    let checked = check(&daemon.config_path);
    assert!(checked.contains("login ok"), "{checked}");
    found.extend(leaks("check-config", &checked, &forms));
    // A wrong password is not echoed either.
    let wrong = Account {
        address: clerk.address.clone(),
        password: format!("wrong-{}", rand::random::<u32>()),
    };
    std::fs::write(
        daemon.dir.path().join("password"),
        format!("{}\n", wrong.password),
    )
    .unwrap();
    let refused = check(&daemon.config_path);
    let forms_of_wrong = password_forms(&wrong);
    assert!(refused.contains("failed"), "{refused}");
    found.extend(leaks(
        "check-config, wrong password",
        &refused,
        &forms_of_wrong,
    ));

    let log = daemon.log();
    assert!(
        log.lines().count() > 100 && log.contains("TRACE"),
        "the run was traced: {} lines",
        log.lines().count()
    );
    found.extend(leaks("the daemon's log", &log, &forms));
    println!(
        "secrets: {} log lines ({} KB) at trace, /proc cmdline and environ, status, \
         check-config twice searched for {} forms of the password: {} found",
        log.lines().count(),
        log.len() / 1024,
        forms.len(),
        found.len()
    );
    assert!(found.is_empty(), "{found:#?}");
}
