//! The receipt: the reply every sender gets, saying what Clerk found in their mail and what it
//! understood, so that a mistake is caught by a person early. Pure text; no I/O.

/// The name the mail body goes by in a receipt.
pub const BODY_NAME: &str = "message body";

/// One file (or the body) found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub name: String,
    pub description: String,
}

/// What was read from one message.
#[derive(Debug, Clone, Default)]
pub struct MessageReport {
    /// The sender: display name and address.
    pub from: Option<(Option<String>, String)>,
    pub subject: Option<String>,
    /// Sent by a robot (auto-reply, bounce, list): no receipt.
    pub auto_submitted: bool,
    pub files: Vec<FileReport>,
    /// Why the whole message was refused, if it was.
    pub refusal: Option<String>,
}

impl MessageReport {
    pub fn refused(reason: String) -> MessageReport {
        MessageReport {
            refusal: Some(reason),
            ..Default::default()
        }
    }
}

/// "Re: <subject>", or a plain subject when the mail had none.
pub fn subject(original: Option<&str>) -> String {
    match original.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.to_ascii_lowercase().starts_with("re:") => s.to_string(),
        Some(s) => format!("Re: {s}"),
        None => "Mottaget av Clerk / Received by Clerk".to_string(),
    }
}

/// The receipt's text.
pub fn body(report: &MessageReport) -> String {
    let mut out = String::new();
    let greeting = match report.from.as_ref().and_then(|(name, _)| name.as_deref()) {
        Some(name) => format!("Hej {},\n\n", first_name(name)),
        None => "Hej,\n\n".to_string(),
    };
    out.push_str(&greeting);
    if report.files.is_empty() {
        out.push_str("Tack för ditt meddelande. Jag hittade inget dokument i det.\n");
    } else {
        out.push_str("Tack, jag har tagit emot ditt meddelande. Det innehöll:\n\n");
        for file in &report.files {
            let name = if file.name == BODY_NAME {
                "Meddelandets text"
            } else {
                &file.name
            };
            out.push_str(&format!("- {name} ({})\n", file.description));
        }
    }
    out.push_str(
        "\nStämmer något inte, svara på det här mejlet så rättar vi det.\n\nVänliga hälsningar\nClerk\n",
    );
    out
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_gets_one_re() {
        assert_eq!(subject(Some("Protokoll")), "Re: Protokoll");
        assert_eq!(subject(Some("RE: Protokoll")), "RE: Protokoll");
        assert!(subject(None).contains("Clerk"));
    }

    #[test]
    fn body_lists_every_file_and_greets_by_first_name() {
        let report = MessageReport {
            from: Some((Some("Anna Fransson".into()), "anna@example.org".into())),
            files: vec![
                FileReport {
                    name: BODY_NAME.into(),
                    description: "12 characters of text".into(),
                },
                FileReport {
                    name: "protokoll.docx".into(),
                    description: "a Word document".into(),
                },
            ],
            ..Default::default()
        };
        let text = body(&report);
        assert!(text.starts_with("Hej Anna,"), "{text}");
        assert!(
            text.contains("- protokoll.docx (a Word document)"),
            "{text}"
        );
        assert!(text.contains("Meddelandets text"), "{text}");
    }
}
