//! Promise 4's last part: a mail refused for good (5xx) is not retried, and the secretary it was
//! sent for is told. The shared Postfix refuses `refused@example.org` with 550 (see
//! `scripts/mailstack.sh`); minutes name one member with that address and one with a working
//! one. The working member gets the invitation, the refused one is given up after one attempt,
//! and the secretary gets the receipt and exactly one notice naming the address, the server's
//! reason and how to correct it.

use std::time::Duration;

use crate::support::*;

const MINUTES: &str = "Protokoll Arbetsgruppen för arkiv\r\nDatum: 2030-03-05\r\n\
Tid: 09.00-10.00\r\nPlats: Rum Eken\r\n\r\nNärvarande:\r\nAlice Andersson, Region Kronoberg\r\n\
Rolf Stängd, Växjö kommun\r\n\r\n1. Mötets öppnande\r\nMötet öppnades.\r\n\r\n2. Nästa möte\r\n\
Nästa möte är den 9 april 2030 kl. 09.00-10.00.\r\n";

fn notices(mails: &[Vec<u8>]) -> Vec<&Vec<u8>> {
    mails
        .iter()
        .filter(|m| subject(m).starts_with("Kunde inte levereras"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_invitation_is_given_up_once_and_the_secretary_is_told() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let alice = new_account("alice", "example.org");
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("people.csv");
    std::fs::write(
        &directory,
        format!(
            "name,email,organisation\nAlice Andersson,{},Region Kronoberg\n\
             Rolf Stängd,refused@example.org,Växjö kommun\n",
            alice.address
        ),
    )
    .unwrap();
    let daemon = Daemon::start_with(
        &stack,
        &clerk,
        &format!("[directory]\npath = \"{}\"\n", directory.display()),
        &[("CLERK_NOW", "2030-03-06T08:00:00Z")],
    );
    let id = format!("minutes-{}@example.org", rand::random::<u32>());
    let raw = format!(
        "From: Sara Sekreterare <{from}>\r\nTo: <{to}>\r\nSubject: Protokoll arkivgruppen\r\n\
         Message-ID: <{id}>\r\nDate: Wed, 06 Mar 2030 09:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{MINUTES}",
        from = secretary.address,
        to = clerk.address
    );
    smtp_send(
        &stack,
        &secretary.address,
        &[&clerk.address],
        raw.as_bytes(),
    )
    .await;

    wait_for(
        &stack,
        &alice,
        "INBOX",
        60,
        &daemon,
        "Alice's invitation",
        |m| {
            m.iter()
                .any(|m| subject(m).contains("Arbetsgruppen för arkiv"))
        },
    )
    .await;
    let inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the notice of the refused invitation",
        |m| !notices(m).is_empty(),
    )
    .await;
    let notice = notices(&inbox)[0];
    assert!(
        subject(notice).contains("Arbetsgruppen för arkiv"),
        "the notice names the mail: {}",
        subject(notice)
    );
    let text = body_text(notice);
    for expected in [
        "refused@example.org",
        "550",
        "mailbox closed",
        "Rolf Stängd = fornamn.efternamn@organisation.se",
        "Clerk försöker inte igen",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }

    // Given up after one attempt, shown in clerk status, and told once only.
    let store = clerk::store::Store::open(&daemon.db_url()).await.unwrap();
    let refused: Vec<_> = store
        .outbox_attempts()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.recipients == "refused@example.org")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (refused[0].state.as_str(), refused[0].attempts),
        ("failed", 1)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let inbox = fetch_all(&stack, &secretary, "INBOX").await;
    assert_eq!(notices(&inbox).len(), 1, "one notice, not one per pass");
    assert_eq!(daemon.status()["outbox"]["failed"], 1);
}
