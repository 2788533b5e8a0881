//! Promise 10: TLS verified, no silent plaintext. `clerk check-config --connect` runs the code
//! the daemon connects with (`imap::connect`, `outbox::transport`) against real servers that
//! each get one thing wrong: a Dovecot whose certificate names another host (STARTTLS and
//! implicit TLS), the shared Dovecot and Postfix with a CA Clerk was not told to trust, a Dovecot
//! without TLS at all (it would take a plaintext login), and Postfix's `smtp-sink`, which offers
//! no STARTTLS. Each is refused with a reason naming the server, and no password reaches a
//! server whose TLS failed (its log shows no login). The same configuration against the shared
//! stack with its CA logs in, so each refusal is the fault's doing.

use std::path::Path;

use crate::support::*;

/// Runs `clerk check-config --connect` on a configuration of one mailbox with these IMAP and
/// SMTP keys; returns whether it passed, and what it printed.
fn check(dir: &Path, account: &Account, imap: &str, smtp: &str) -> (bool, String) {
    let config = format!(
        "[store]\nurl = \"sqlite:{}\"\n{}",
        dir.join("clerk.db").display(),
        custom_mailbox(account, "main", imap, smtp, dir)
    );
    let path = dir.join("clerk.toml");
    std::fs::write(&path, config).unwrap();
    run_clerk(&path, &["check-config", "--connect"], &[])
}

fn imap_keys(
    host: &str,
    port: u16,
    security: &str,
    account: &Account,
    ca: Option<&Path>,
) -> String {
    let ca = ca.map_or(String::new(), |ca| {
        format!("ca_file = \"{}\"\n", ca.display())
    });
    format!(
        "host = \"{host}\"\nport = {port}\nsecurity = \"{security}\"\nusername = \"{}\"\n\
         password_file = \"{{password_file}}\"\ncommand_timeout_secs = 10\n{ca}",
        account.address
    )
}

fn smtp_keys(port: u16, account: &Account, ca: Option<&Path>) -> String {
    let ca = ca.map_or(String::new(), |ca| {
        format!("ca_file = \"{}\"\n", ca.display())
    });
    format!(
        "host = \"localhost\"\nport = {port}\nsecurity = \"starttls\"\nusername = \"{}\"\n\
         password_file = \"{{password_file}}\"\ntimeout_secs = 10\n{ca}",
        account.address
    )
}

/// The line `check-config` printed about one server ("IMAP" or "SMTP").
fn line<'a>(text: &'a str, server: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(&format!(": {server} ")))
        .unwrap_or_else(|| panic!("no {server} line in:\n{text}"))
}

fn logged_in(dovecot: &PrivateDovecot, account: &Account) -> bool {
    std::fs::read_to_string(dovecot.dir.path().join("dovecot.log"))
        .unwrap_or_default()
        .contains(&format!("Login: user=<{}>", account.address))
}

#[test]
fn wrong_hosts_unknown_cas_and_missing_tls_are_refused_before_any_password() {
    let stack = mail_stack();
    let account = new_account("clerk", "example.test");
    let dir = tempfile::tempdir().unwrap();
    let submission = smtp_keys(stack.submission_port, &account, Some(&stack.ca));

    // The control: the shared stack with its CA.
    let (ok, text) = check(
        dir.path(),
        &account,
        &imap_keys(
            "localhost",
            stack.imap_port,
            "starttls",
            &account,
            Some(&stack.ca),
        ),
        &submission,
    );
    assert!(ok, "the shared stack with its CA logs in:\n{text}");

    // A certificate from the trusted CA, for another host name.
    let elsewhere = PrivateDovecot::start(&[("CLERK_STACK_TLS_NAME", "mail.elsewhere.test")]);
    elsewhere.add_user(&account);
    let ca = elsewhere.dir.path().join("ca.pem");
    for (security, port) in [
        ("starttls", elsewhere.stack.imap_port),
        ("tls", elsewhere.imaps_port),
    ] {
        let (ok, text) = check(
            dir.path(),
            &account,
            &imap_keys("localhost", port, security, &account, Some(&ca)),
            &submission,
        );
        let imap = line(&text, "IMAP");
        assert!(!ok && imap.contains("failed"), "{security}: {text}");
        assert!(
            imap.contains("NotValidForName") || imap.contains("not valid for"),
            "{security}: the reason names the certificate's host: {imap}"
        );
        println!("wrong host, {security}: {imap}");
    }
    // An address the certificate does not name is refused the same way.
    let (ok, text) = check(
        dir.path(),
        &account,
        &imap_keys(
            "127.0.0.1",
            elsewhere.stack.imap_port,
            "starttls",
            &account,
            Some(&ca),
        ),
        &submission,
    );
    assert!(!ok, "127.0.0.1 is not mail.elsewhere.test either: {text}");
    assert!(
        !logged_in(&elsewhere, &account),
        "a password reached a server whose TLS failed"
    );
    drop(elsewhere);

    // The shared servers without their CA: only the web roots are trusted.
    let (ok, text) = check(
        dir.path(),
        &account,
        &imap_keys("localhost", stack.imap_port, "starttls", &account, None),
        &smtp_keys(stack.submission_port, &account, None),
    );
    assert!(!ok, "{text}");
    let (imap, smtp) = (line(&text, "IMAP"), line(&text, "SMTP"));
    assert!(
        imap.contains("failed") && imap.to_lowercase().contains("issuer"),
        "unknown CA: {imap}"
    );
    assert!(smtp.contains("failed"), "unknown CA: {smtp}");
    println!("unknown CA: {imap}\nunknown CA: {smtp}");

    // No TLS at all: Dovecot would take a plaintext login, Clerk does not offer one.
    let plain = PrivateDovecot::start(&[("CLERK_STACK_SSL", "no")]);
    plain.add_user(&account);
    let (ok, text) = check(
        dir.path(),
        &account,
        &imap_keys(
            "localhost",
            plain.stack.imap_port,
            "starttls",
            &account,
            Some(&stack.ca),
        ),
        &submission,
    );
    let imap = line(&text, "IMAP");
    assert!(!ok && imap.contains("STARTTLS"), "no STARTTLS: {text}");
    assert!(
        !logged_in(&plain, &account),
        "a password was sent in plaintext"
    );
    println!("no TLS: {imap}");
    // Only where the configuration says plain (allowed for a loopback host) does it log in:
    // the server would have taken the password, and its log would have shown it.
    let (ok, text) = check(
        dir.path(),
        &account,
        &imap_keys("127.0.0.1", plain.stack.imap_port, "plain", &account, None),
        &submission,
    );
    assert!(ok, "{text}");
    assert!(
        logged_in(&plain, &account),
        "the login shows in Dovecot's log"
    );
    drop(plain);

    // An SMTP server without STARTTLS (smtp-sink offers none).
    let mut sink = SmtpSink::new();
    sink.behave(&[]);
    let (ok, text) = check(
        dir.path(),
        &account,
        &imap_keys(
            "localhost",
            stack.imap_port,
            "starttls",
            &account,
            Some(&stack.ca),
        ),
        &smtp_keys(sink.port, &account, Some(&stack.ca)),
    );
    sink.stop();
    assert!(!ok, "{text}");
    assert!(line(&text, "IMAP").contains("login ok"), "{text}");
    let smtp = line(&text, "SMTP");
    assert!(smtp.contains("failed"), "no STARTTLS on SMTP: {smtp}");
    println!("no STARTTLS: {smtp}");
}
