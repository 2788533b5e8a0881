//! What `clerk people` and `clerk series` print: what Clerk knows and where it learned it.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::names;
use crate::series;
use crate::store::Store;
use crate::store::meetings::MeetingListing;
use crate::store::people::{self as stored, AddressChange, PersonListing, Source};
use crate::store::series::SeriesListing;

/// `clerk people`: one block per person.
pub fn people(people: &[PersonListing]) -> String {
    if people.is_empty() {
        return "No people known yet.\n".into();
    }
    let mut out = String::new();
    for p in people {
        out.push_str(&p.name);
        if let Some(org) = &p.organization {
            out.push_str(&format!(", {org}"));
        }
        out.push('\n');
        if let Some(from) = &p.learned_from {
            out.push_str(&format!("  first seen: {from}\n"));
        }
        if p.addresses.is_empty() {
            out.push_str("  address: none known\n");
        }
        for (address, source, from) in &p.addresses {
            let from = from
                .as_deref()
                .map(|f| format!(": {f}"))
                .unwrap_or_default();
            out.push_str(&format!("  address: {address} ({source}{from})\n"));
        }
        if !p.series.is_empty() {
            out.push_str(&format!("  series: {}\n", p.series.join(", ")));
        }
    }
    out
}

/// `clerk series`: each series with its settings, meetings and members.
pub fn series(all: &[SeriesListing], config: &Config) -> String {
    if all.is_empty() {
        return "No meeting series known yet.\n".into();
    }
    let mut out = String::new();
    for listing in all {
        let s = &listing.series;
        let configured = config
            .series
            .iter()
            .find(|c| names::key(&c.name) == names::key(&s.title));
        out.push_str(&format!(
            "{} ({}; mailbox {})\n",
            s.title,
            if s.configured {
                "configured"
            } else {
                "learned from document titles"
            },
            s.mailbox
        ));
        out.push_str(&format!(
            "  time zone: {}, language: {}\n",
            s.time_zone, s.language
        ));
        let times: Vec<_> = listing
            .meetings
            .iter()
            .map(|m| (m.start.clone(), None, m.place.clone()))
            .collect();
        let (start, _, place) = series::usual(&times);
        out.push_str(&format!(
            "  usual time: {}, usual place: {}\n",
            start.map_or("not known yet".into(), |t| t.format("%H:%M").to_string()),
            place.unwrap_or_else(|| "not known yet".into())
        ));
        let (approval, distribution, reminders) = configured.map_or(
            (
                "approvers".to_string(),
                "none".to_string(),
                config.reminders.days_before_meeting,
            ),
            |c| {
                (
                    c.approval.clone(),
                    c.distribution.clone(),
                    c.reminder_days_before
                        .unwrap_or(config.reminders.days_before_meeting),
                )
            },
        );
        out.push_str(&format!(
            "  approval: {approval}, distribution: {distribution}, reminders: {reminders} day(s) before\n"
        ));
        out.push_str("  meetings:\n");
        for m in &listing.meetings {
            let mut parts = vec![m.date.clone()];
            parts.extend(m.start.clone());
            parts.extend(m.place.clone());
            parts.push(m.status.clone());
            let from = m
                .learned_from
                .as_deref()
                .map(|f| format!(" — {f}"))
                .unwrap_or_default();
            out.push_str(&format!("    {}{from}\n", parts.join(", ")));
        }
        out.push_str(&format!("  members ({}):\n", listing.members.len()));
        for m in &listing.members {
            out.push_str(&format!(
                "    {} <{}> ({})\n",
                m.name,
                m.address.as_deref().unwrap_or("no address"),
                m.how
            ));
        }
    }
    out
}

/// `clerk meetings`: each meeting, its invitation's version, and every invitee's answer.
pub fn meetings(all: &[MeetingListing]) -> String {
    if all.is_empty() {
        return "No meetings known yet.\n".into();
    }
    let mut out = String::new();
    for listing in all {
        let m = &listing.meeting;
        let mut head = vec![
            m.date.map_or("(no date)".into(), |d| d.to_string()),
            listing.series.clone(),
        ];
        head.extend(m.start.map(|t| t.format("%H:%M").to_string()));
        head.extend(m.place.clone());
        head.push(m.status.clone());
        out.push_str(&head.join(", "));
        out.push('\n');
        if m.invited_fingerprint.is_some() {
            out.push_str(&format!(
                "  invitation: UID {}, SEQUENCE {}{}\n",
                m.uid,
                m.sequence,
                if m.cancel_sent { ", cancelled" } else { "" }
            ));
        }
        let count = |state: &str| {
            listing
                .invitees
                .iter()
                .filter(|(_, _, p)| p == state)
                .count()
        };
        if !listing.invitees.is_empty() {
            out.push_str(&format!(
                "  answers: {} accepted, {} declined, {} tentative, {} not answered\n",
                count("ACCEPTED"),
                count("DECLINED"),
                count("TENTATIVE"),
                count("NEEDS-ACTION")
            ));
        }
        if listing.approval_state != "none" {
            out.push_str(&format!(
                "  approval: {}{}\n",
                listing.approval_state,
                listing
                    .approval_due
                    .as_deref()
                    .map(|d| format!(", due {d}"))
                    .unwrap_or_default()
            ));
            for a in &listing.approval.approvers {
                out.push_str(&format!(
                    "    {} <{}>: {} (version {})\n",
                    a.name, a.address, a.state, a.version
                ));
            }
            for (at, what) in &listing.approval.history {
                out.push_str(&format!("    {at}: {what}\n"));
            }
        }
        for (name, address, partstat) in &listing.invitees {
            let answer = match partstat.as_str() {
                "ACCEPTED" => "accepted",
                "DECLINED" => "declined",
                "TENTATIVE" => "tentative",
                "NEEDS-ACTION" => "not answered",
                other => other,
            };
            out.push_str(&format!(
                "    {name} <{}>: {answer}\n",
                address.as_deref().unwrap_or("no address")
            ));
        }
    }
    out
}

/// `clerk people set`: an address given by ops, with the weight of a secretary's correction.
pub async fn set_address(
    store: &Store,
    name: &str,
    address: &str,
    organization: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String> {
    if !crate::people::is_personal_name(name) {
        anyhow::bail!("give the full name (first and last name), e.g. \"Anna Fransson\"");
    }
    let parsed: lettre::Address = address
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("not an email address: {address:?} ({e})"))?;
    let learned_from = "set on the command line";
    let mut tx = store.begin_write().await?;
    let id = stored::person(&mut tx, name, organization, learned_from, now).await?;
    let change = stored::add_address(
        &mut tx,
        id,
        parsed.as_ref(),
        Source::Correction,
        learned_from,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(match change {
        AddressChange::Added => format!("{name} = {parsed}: added"),
        AddressChange::Unchanged => format!("{name} = {parsed}: already known"),
        AddressChange::Moved { from_person } => {
            format!("{name} = {parsed}: added (it was {from_person}'s)")
        }
        AddressChange::Refused { owner } => format!("{name} = {parsed}: kept by {owner}"),
    })
}
