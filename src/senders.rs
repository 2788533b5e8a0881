//! Who may make Clerk act: checks on a message's sender before its documents count.
//!
//! A message with no From, more than one, or a header line that only resembles From ("Fr om:",
//! which the mail parser that builds here reads as the sender) is forged or broken: it is
//! quarantined unanswered. Documents (minutes, agendas, corrections) are then taken only from
//! the mailbox's `accept_from` senders or domains, and, when `require_dmarc` names the
//! receiving server's authserv-id, only when that server's topmost Authentication-Results says
//! dmarc=pass. Replies to Clerk's own mail (RSVPs, approvals) are checked against the person
//! they answer for, in their own modules.

use crate::config::MailboxConfig;

/// Why a message's headers make it unusable, if they do.
pub fn forged_from(raw: &[u8]) -> Option<String> {
    let end = header_end(raw);
    let headers = String::from_utf8_lossy(&raw[..end]);
    let mut from = 0;
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            continue;
        };
        let squeezed: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        if squeezed.eq_ignore_ascii_case("from") {
            if name != squeezed {
                return Some(format!(
                    "a header line only resembles From ({name:?}); the message looks forged"
                ));
            }
            from += 1;
        }
    }
    match from {
        0 => Some("the message has no From".into()),
        1 => None,
        n => Some(format!("the message has {n} From headers; it looks forged")),
    }
}

fn header_end(raw: &[u8]) -> usize {
    let limit = raw.len().min(256 * 1024);
    raw[..limit]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw[..limit].windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(limit)
}

/// Whether `sender` may send this mailbox documents, and if not, why.
pub fn may_send_documents(mailbox: &MailboxConfig, sender: &str, raw: &[u8]) -> Result<(), String> {
    let sender = sender.trim().to_lowercase();
    if !mailbox.accept_from.is_empty() {
        let domain = sender.rsplit_once('@').map_or("", |(_, d)| d);
        let allowed = mailbox.accept_from.iter().any(|entry| {
            let entry = entry.trim().to_lowercase();
            match entry.strip_prefix('@') {
                Some(d) => d == domain,
                None if entry.contains('@') => entry == sender,
                None => entry == domain,
            }
        });
        if !allowed {
            return Err(format!(
                "{sender} is not among the senders this mailbox accepts documents from"
            ));
        }
    }
    if let Some(authserv) = &mailbox.require_dmarc {
        let verdict = topmost_results(raw, authserv)
            .ok_or_else(|| format!("no Authentication-Results from {authserv}"))?;
        if !verdict.contains("dmarc=pass") {
            return Err(format!(
                "{authserv} did not find DMARC passing for {sender}"
            ));
        }
    }
    Ok(())
}

/// The topmost (added last, on receipt) Authentication-Results header whose authserv-id is
/// `authserv`, lower-cased. Those further down could have been written by the sender.
fn topmost_results(raw: &[u8], authserv: &str) -> Option<String> {
    let end = header_end(raw);
    let headers = String::from_utf8_lossy(&raw[..end]);
    let mut current: Option<String> = None;
    let mut fields = Vec::new();
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                c.push(' ');
                c.push_str(line.trim());
            }
            continue;
        }
        fields.extend(current.take());
        current = Some(line.to_string());
    }
    fields.extend(current);
    let authserv = authserv.to_lowercase();
    fields
        .iter()
        .filter_map(|f| f.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| value.trim().to_lowercase())
        .find(|value| value.split([';', ' ']).next() == Some(authserv.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(accept: &[&str], dmarc: Option<&str>) -> MailboxConfig {
        let text = format!(
            "name = \"main\"\naddress = \"clerk@example.org\"\naccept_from = {accept:?}\n{}\
             [imap]\nhost = \"localhost\"\nusername = \"c\"\npassword_env = \"X\"\n\
             [smtp]\nhost = \"localhost\"\n",
            dmarc
                .map(|d| format!("require_dmarc = \"{d}\"\n"))
                .unwrap_or_default()
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn forged_or_broken_from_lines() {
        assert_eq!(
            forged_from(b"From: a@x.org\r\nSubject: s\r\n\r\nbody\r\nFrom: b"),
            None
        );
        assert!(forged_from(b"From: a@x.org\r\nFrom: b@y.org\r\n\r\n").is_some());
        assert!(forged_from(b"Fr om: boss@x.org\r\nFrom: a@x.org\r\n\r\n").is_some());
        assert!(forged_from(b"Subject: none\r\n\r\n").is_some());
    }

    #[test]
    fn accepted_senders_and_domains() {
        let m = mailbox(&["@kommun.se", "sara@region.se", "example.org"], None);
        assert!(may_send_documents(&m, "Anna@Kommun.se", b"").is_ok());
        assert!(may_send_documents(&m, "sara@region.se", b"").is_ok());
        assert!(may_send_documents(&m, "bo@example.org", b"").is_ok());
        assert!(may_send_documents(&m, "eve@region.se", b"").is_err());
        assert!(may_send_documents(&mailbox(&[], None), "anyone@any.where", b"").is_ok());
    }

    #[test]
    fn dmarc_from_our_own_server_only() {
        let m = mailbox(&[], Some("mx.example.org"));
        let pass = b"Authentication-Results: mx.example.org; dkim=pass;\r\n dmarc=pass header.from=kommun.se\r\n\
Authentication-Results: mx.example.org; dmarc=fail\r\nFrom: a@kommun.se\r\n\r\n";
        assert!(may_send_documents(&m, "a@kommun.se", pass).is_ok());
        let forged =
            b"Authentication-Results: evil.example; dmarc=pass\r\nFrom: a@kommun.se\r\n\r\n";
        // Only our server's verdict counts, and only its topmost one.
        assert!(may_send_documents(&m, "a@kommun.se", forged).is_err());
        let fail = b"Authentication-Results: mx.example.org; dmarc=fail\r\n\
Authentication-Results: mx.example.org; dmarc=pass\r\nFrom: a@kommun.se\r\n\r\n";
        assert!(may_send_documents(&m, "a@kommun.se", fail).is_err());
    }
}
