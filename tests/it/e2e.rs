//! The daemon end to end over the real mail stack: SMTP in, IDLE pick-up, store, move, receipt
//! out over SMTP submission, read back over IMAP; and no second processing after a restart.

use crate::support::*;

pub fn agenda_mail(from: &str, to: &str, message_id: &str) -> Vec<u8> {
    let attachment = "Kallelse till styrelsemöte\r\n\r\nDatum: 2026-12-03 kl. 13.00-15.00\r\n\
                      Plats: Rum Ängen\r\n\r\n1. Mötets öppnande\r\n2. Budget 2027\r\n";
    format!(
        "From: Sara Sekreterare <{from}>\r\nTo: <{to}>\r\nSubject: Kallelse styrelsen\r\n\
         Message-ID: <{message_id}>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Hej! Här kommer kallelsen.\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8; name=\"kallelse.txt\"\r\n\
         Content-Disposition: attachment; filename=\"kallelse.txt\"\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{attachment}\r\n--b1--\r\n"
    )
    .into_bytes()
}

pub fn is_reply_to(raw: &[u8], message_id: &str) -> bool {
    header(raw, "In-Reply-To").is_some_and(|v| v.contains(message_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_in_receipt_out_and_restart_does_not_reprocess() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let mut daemon = Daemon::start(&stack, &clerk);

    let first_id = format!("first-{}@example.org", rand::random::<u32>());
    let first = agenda_mail(&secretary.address, &clerk.address, &first_id);
    smtp_send(&stack, &secretary.address, &[&clerk.address], &first).await;

    let inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the receipt",
        |m| m.iter().any(|r| is_reply_to(r, &first_id)),
    )
    .await;
    let receipt = inbox.iter().find(|r| is_reply_to(r, &first_id)).unwrap();
    assert_eq!(
        header(receipt, "Subject").as_deref(),
        Some("Re: Kallelse styrelsen")
    );
    assert!(header(receipt, "From").unwrap().contains(&clerk.address));
    assert!(
        header(receipt, "Auto-Submitted").is_some(),
        "receipts are marked automatic"
    );
    let text = body_text(receipt);
    assert!(
        text.contains("kallelse.txt"),
        "the receipt names the attachment:\n{text}"
    );
    assert!(text.starts_with("Hej Sara"), "{text}");

    // Moved out of the watched folder once processed.
    wait_for(
        &stack,
        &clerk,
        "Clerk/Processed",
        30,
        &daemon,
        "the moved message",
        |m| m.len() == 1,
    )
    .await;
    wait_for(
        &stack,
        &clerk,
        "INBOX",
        30,
        &daemon,
        "an empty INBOX",
        |m| m.is_empty(),
    )
    .await;

    // The same message delivered again (a client copying it back) is recognised, and a restart
    // does not process anything a second time.
    daemon.stop();
    append(&stack, &clerk, "INBOX", &first).await;
    daemon.restart();
    let second_id = format!("second-{}@example.org", rand::random::<u32>());
    let second = agenda_mail(&secretary.address, &clerk.address, &second_id);
    smtp_send(&stack, &secretary.address, &[&clerk.address], &second).await;
    let inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the second receipt",
        |m| m.iter().any(|r| is_reply_to(r, &second_id)),
    )
    .await;
    wait_for(
        &stack,
        &clerk,
        "INBOX",
        30,
        &daemon,
        "an empty INBOX",
        |m| m.is_empty(),
    )
    .await;
    let receipts_for_first = inbox.iter().filter(|r| is_reply_to(r, &first_id)).count();
    assert_eq!(
        receipts_for_first, 1,
        "the first mail was answered exactly once"
    );

    let store = clerk::store::Store::open(&daemon.db_url()).await.unwrap();
    assert_eq!(store.count_messages_with_id(&first_id).await.unwrap(), 1);
    assert_eq!(store.count_messages_with_id(&second_id).await.unwrap(), 1);
    let status = daemon.status();
    assert_eq!(status["outbox"]["sent"], 2, "{status}");
    daemon.stop();
}
