//! Approval of minutes end to end over the real mail stack, with a fixed clock: requests to
//! each approver with the minutes attached, a reply from the wrong address, a change request
//! passed to the secretary, a corrected version sent again, approval by both, the secretary
//! told and the approved minutes sent to every member; then a nudge before the deadline and a
//! notice when it has passed.

use crate::support::*;

fn minutes(date: &str, due: &str, approvers: &str, extra: &str) -> String {
    format!(
        "Protokoll Styrelsen för Föreningen Exempel\r\nDatum: {date}\r\nTid: 18.00-20.00\r\n\
         Plats: Föreningslokalen\r\n\r\nNärvarande:\r\nAnna Andersson, ordförande\r\n\
         Bo Berg, kassör\r\n\r\n§ 1 Mötets öppnande\r\nOrdföranden öppnade mötet.\r\n\r\n\
         § 2 Budget\r\nBeslut: Styrelsen antar budgeten.{extra}\r\n\r\n\
         Justeras av: {approvers}\r\nJusteringens tid: {due}\r\n"
    )
}

fn mail_with(
    from: &str,
    to: &str,
    id: &str,
    in_reply_to: Option<&str>,
    body: &str,
    doc: Option<&str>,
) -> Vec<u8> {
    let reply = in_reply_to
        .map(|r| format!("In-Reply-To: {r}\r\nReferences: {r}\r\n"))
        .unwrap_or_default();
    let mut raw = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Protokoll\r\nMessage-ID: <{id}>\r\n{reply}\
         Date: Sat, 02 Mar 2030 09:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {body}\r\n"
    );
    if let Some(text) = doc {
        raw.push_str(&format!(
            "--b1\r\nContent-Type: text/plain; charset=utf-8; name=\"protokoll.txt\"\r\n\
             Content-Disposition: attachment; filename=\"protokoll.txt\"\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
        ));
    }
    raw.push_str("--b1--\r\n");
    raw.into_bytes()
}

fn with_subject<'a>(mails: &'a [Vec<u8>], start: &str) -> Vec<&'a Vec<u8>> {
    mails
        .iter()
        .filter(|m| subject(m).starts_with(start))
        .collect()
}

fn new_id() -> String {
    format!("m-{}@example.org", rand::random::<u64>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_by_reply_with_changes_versions_and_deadlines() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let anna = new_account("anna", "example.org");
    let bo = new_account("bo", "example.org");
    let mallory = new_account("mallory", "example.org");
    let carl = new_account("carl", "example.org");
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("people.csv");
    std::fs::write(
        &directory,
        format!(
            "name;email\nAnna Andersson;{}\nBo Berg;{}\n",
            anna.address, bo.address
        ),
    )
    .unwrap();
    // The series sends approved minutes to all its members: Carl is one by configuration only.
    let config = format!(
        "[daemon]\ntick_secs = 1\n[directory]\npath = \"{}\"\n\n[[series]]\n\
         name = \"Styrelsen för Föreningen Exempel\"\ndistribution = \"members\"\n\
         members = [\"Carl Carlsson <{}>\"]\n",
        directory.display(),
        carl.address
    );
    let mut daemon = Daemon::start_with(
        &stack,
        &clerk,
        &config,
        &[("CLERK_NOW", "2030-03-02T08:00:00Z")],
    );

    // Minutes of 1 March, to be approved by Anna and Bo by 10 March; and minutes of 5 March
    // that only Anna approves, by 8 March.
    let first = minutes("2030-03-01", "2030-03-10", "Anna Andersson och Bo Berg", "");
    let send = |from: &Account, raw: Vec<u8>| {
        let stack = &stack;
        let from = from.address.clone();
        let to = clerk.address.clone();
        async move { smtp_send(stack, &from, &[&to], &raw).await }
    };
    send(
        &secretary,
        mail_with(
            &secretary.address,
            &clerk.address,
            &new_id(),
            None,
            "Protokollet bifogas.",
            Some(&first),
        ),
    )
    .await;
    let second = minutes("2030-03-05", "2030-03-08", "Anna Andersson", "");
    send(
        &secretary,
        mail_with(
            &secretary.address,
            &clerk.address,
            &new_id(),
            None,
            "Ett till.",
            Some(&second),
        ),
    )
    .await;

    let request = "Justering: protokoll Styrelsen för Föreningen Exempel fredag 1 mars 2030";
    let anna_inbox = wait_for(
        &stack,
        &anna,
        "INBOX",
        60,
        &daemon,
        "Anna's requests",
        |m| with_subject(m, "Justering: protokoll").len() == 2,
    )
    .await;
    let to_anna = with_subject(&anna_inbox, request)[0].clone();
    let text = body_text(&to_anna);
    assert!(text.starts_with("Hej Anna,"), "{text}");
    assert!(
        text.contains("Justera senast söndag 10 mars 2030."),
        "{text}"
    );
    assert!(
        text.contains("Styrelsen antar budgeten."),
        "the summary has the decisions:\n{text}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(to_anna.as_slice())
        .unwrap();
    assert!(
        parsed
            .attachments()
            .any(|a| mail_parser::MimeHeaders::attachment_name(a) == Some("protokoll.txt")),
        "the minutes are attached"
    );
    let anna_request_id = header(&to_anna, "Message-ID").unwrap();
    let bo_inbox = wait_for(&stack, &bo, "INBOX", 60, &daemon, "Bo's request", |m| {
        !with_subject(m, request).is_empty()
    })
    .await;
    let bo_request_id = header(with_subject(&bo_inbox, request)[0], "Message-ID").unwrap();

    // Mallory answers Anna's request: not used, and Mallory is told.
    send(
        &mallory,
        mail_with(
            &mallory.address,
            &clerk.address,
            &new_id(),
            Some(&anna_request_id),
            "Justerat",
            None,
        ),
    )
    .await;
    let told = wait_for(&stack, &mallory, "INBOX", 60, &daemon, "the refusal", |m| {
        !m.is_empty()
    })
    .await;
    assert!(
        body_text(&told[0]).contains("kunde inte användas"),
        "{}",
        body_text(&told[0])
    );

    // Bo asks for a change: the secretary gets it, Bo is thanked.
    send(
        &bo,
        mail_with(
            &bo.address,
            &clerk.address,
            &new_id(),
            Some(&bo_request_id),
            "Kan vi lägga till att budgeten gäller 2030?\r\n\r\nBo",
            None,
        ),
    )
    .await;
    let sec_inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the change request",
        |m| !with_subject(m, "Ändringsönskemål").is_empty(),
    )
    .await;
    let change = body_text(with_subject(&sec_inbox, "Ändringsönskemål")[0]);
    assert!(
        change.contains("Bo Berg vill ha ändringar") && change.contains("budgeten gäller 2030"),
        "{change}"
    );

    // The secretary sends the corrected minutes: version 2 goes to both.
    let corrected = minutes(
        "2030-03-01",
        "2030-03-10",
        "Anna Andersson och Bo Berg",
        " Budgeten gäller 2030.",
    );
    send(
        &secretary,
        mail_with(
            &secretary.address,
            &clerk.address,
            &new_id(),
            None,
            "Rättat protokoll.",
            Some(&corrected),
        ),
    )
    .await;
    let mut v2_ids = Vec::new();
    for member in [&anna, &bo] {
        let inbox = wait_for(&stack, member, "INBOX", 60, &daemon, "version 2", |m| {
            with_subject(m, request)
                .iter()
                .any(|r| body_text(r).contains("version 2"))
        })
        .await;
        let v2 = with_subject(&inbox, request)
            .into_iter()
            .find(|r| body_text(r).contains("version 2"))
            .unwrap()
            .clone();
        v2_ids.push(header(&v2, "Message-ID").unwrap());
    }

    // Both approve version 2: the secretary is told.
    send(
        &anna,
        mail_with(
            &anna.address,
            &clerk.address,
            &new_id(),
            Some(&v2_ids[0]),
            "Justerat!\r\n\r\nAnna",
            None,
        ),
    )
    .await;
    send(
        &bo,
        mail_with(
            &bo.address,
            &clerk.address,
            &new_id(),
            Some(&v2_ids[1]),
            "OK",
            None,
        ),
    )
    .await;
    let sec_inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the approval",
        |m| !with_subject(m, "Justerat: protokoll").is_empty(),
    )
    .await;
    let done = body_text(with_subject(&sec_inbox, "Justerat: protokoll")[0]);
    assert!(
        done.contains("är justerat av Anna Andersson, Bo Berg"),
        "{done}"
    );
    // The approved minutes, version 2 attached, go to every member, Carl included.
    for member in [&anna, &bo, &carl] {
        let inbox = wait_for(
            &stack,
            member,
            "INBOX",
            60,
            &daemon,
            "the approved minutes",
            |m| !with_subject(m, "Justerat: protokoll").is_empty(),
        )
        .await;
        let approved = with_subject(&inbox, "Justerat: protokoll");
        assert_eq!(approved.len(), 1, "{}", member.address);
        let text = body_text(approved[0]);
        assert!(text.contains("Här är det justerade protokollet"), "{text}");
        let parsed = mail_parser::MessageParser::default()
            .parse(approved[0].as_slice())
            .unwrap();
        let attached: Vec<String> = parsed
            .attachments()
            .filter_map(|a| a.text_contents().map(str::to_string))
            .collect();
        assert!(
            attached.iter().any(|t| t.contains("Budgeten gäller 2030.")),
            "version 2 is attached: {attached:?}"
        );
    }
    let meetings = daemon.json(&["meetings", "--json"]);
    let first_meeting = meetings
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["meeting"]["date"] == "2030-03-01")
        .unwrap();
    assert_eq!(
        first_meeting["approval_state"], "approved",
        "{first_meeting}"
    );
    let history: Vec<&str> = first_meeting["approval"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[1].as_str().unwrap())
        .collect();
    assert!(
        history.iter().any(|h| h.contains("was not used")),
        "{history:?}"
    );
    assert!(
        history
            .iter()
            .any(|h| h.starts_with("changes requested by Bo Berg")),
        "{history:?}"
    );
    assert!(
        history.iter().any(|h| h.starts_with("version 2 sent")),
        "{history:?}"
    );

    // Two days before the second deadline Anna is nudged; after it the secretary is told.
    daemon.set_env("CLERK_NOW", "2030-03-06T08:00:00Z");
    daemon.restart();
    let nudge =
        "Påminnelse om justering: protokoll Styrelsen för Föreningen Exempel tisdag 5 mars 2030";
    wait_for(&stack, &anna, "INBOX", 60, &daemon, "the nudge", |m| {
        with_subject(m, nudge).len() == 1
    })
    .await;
    daemon.set_env("CLERK_NOW", "2030-03-09T08:00:00Z");
    daemon.restart();
    let sec_inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the overdue notice",
        |m| !with_subject(m, "Justeringen är försenad").is_empty(),
    )
    .await;
    let overdue = body_text(with_subject(&sec_inbox, "Justeringen är försenad")[0]);
    assert!(
        overdue.contains("Ännu inte justerat av: Anna Andersson."),
        "{overdue}"
    );
    // Ticks go on; nothing is sent twice.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let anna_inbox = fetch_all(&stack, &anna, "INBOX").await;
    assert_eq!(with_subject(&anna_inbox, nudge).len(), 1);
    let sec_inbox = fetch_all(&stack, &secretary, "INBOX").await;
    assert_eq!(with_subject(&sec_inbox, "Justeringen är försenad").len(), 1);
    daemon.stop();
}

/// Through the intake: minutes that record their own approval are stored as approved and no
/// request goes out; minutes whose deadline has passed are not sent either.
#[tokio::test]
async fn minutes_already_approved_or_too_late_send_no_request() {
    use crate::people::{SENDER, deliver, mail, setup};
    let (store, _dir) = crate::store::sqlite_store().await;
    let setup = setup(store, "");
    // The harness clock is 2018-01-10; its directory knows Anna Fransson and Johan Jarl.
    let approved = "Protokoll Arbetsgruppen\r\nDatum: 2018-01-08\r\n\r\nNärvarande:\r\n\
                    Anna Fransson\r\nJohan Jarl\r\n\r\n§ 1 Öppnande\r\n\r\n\
                    Justeras av: Anna Fransson\r\n\r\nJusterat 2018-01-09\r\nAnna Fransson\r\n";
    let receipt = deliver(
        &setup,
        1,
        &mail("a", SENDER, "", "Protokoll.", Some(("p.txt", approved))),
    )
    .await;
    assert!(
        receipt.contains("protokollet anger att det redan är justerat"),
        "{receipt}"
    );
    let late = "Protokoll Arbetsgruppen\r\nDatum: 2017-12-01\r\n\r\nNärvarande:\r\nAnna Fransson\r\n\r\n\
                § 1 Öppnande\r\n\r\nJusteras av: Anna Fransson\r\nJusteringens tid: 2017-12-15\r\n";
    let receipt = deliver(
        &setup,
        2,
        &mail("b", SENDER, "", "Protokoll.", Some(("q.txt", late))),
    )
    .await;
    assert!(
        receipt.contains("justeringstiden fredag 15 december 2017 har passerat"),
        "{receipt}"
    );
    let rows = setup.store.outbox_rows().await.unwrap();
    assert!(rows.iter().all(|r| r.0 != "approval"), "{rows:?}");
    let meetings = setup.store.meetings_listing().await.unwrap();
    let first = meetings
        .iter()
        .find(|m| m.meeting.date.map(|d| d.to_string()).as_deref() == Some("2018-01-08"))
        .unwrap();
    assert_eq!(first.approval_state, "approved");
}
