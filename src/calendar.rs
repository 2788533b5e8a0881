//! Meeting invitations as iCalendar (RFC 5545) scheduling messages (iTIP, RFC 5546), and the
//! replies that come back.
//!
//! Everything here is pure: it builds and reads text, and takes the time stamp (`dtstamp`) from
//! the caller rather than the clock, so the same event always renders to the same bytes.
//!
//! - [`itip`]: `METHOD:REQUEST` and `METHOD:CANCEL` objects for one [`Event`].
//! - [`timezone`]: a `VTIMEZONE` for any zone, derived from chrono-tz (the icalendar crate writes
//!   none).
//! - [`reply`]: an attendee's `METHOD:REPLY` read back into a [`Reply`].
//! - [`parts`]: the iCalendar objects inside a received mail.
//!
//! **Invariant:** every string taken from a document is cleaned before it is written (no control
//! characters, no `"` in parameter values), so a name or summary cannot add a line or property.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

pub mod itip;
pub mod parts;
pub mod reply;
pub mod timezone;

pub use itip::{cancel, request};
pub use parts::calendar_parts;
pub use reply::{Reply, parse_reply};
pub use timezone::vtimezone;

/// One meeting, as the organizer sends it to the members of its series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable across updates and the cancellation: clients match on it.
    pub uid: String,
    /// Raised by the caller on every change that attendees must see (RFC 5546 §2.1.4).
    pub sequence: u32,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub url: Option<String>,
    pub when: When,
    /// The zone a timed event's local times are in.
    pub tz: chrono_tz::Tz,
    pub organizer: Person,
    pub attendees: Vec<Attendee>,
    /// When this version of the event was made; written as `DTSTAMP` in UTC.
    pub dtstamp: DateTime<Utc>,
}

/// When the meeting happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Local start and end times in the event's zone.
    Timed {
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
    /// A whole day; `DTEND` is the next day, as RFC 5545 counts it (exclusive).
    AllDay(NaiveDate),
}

/// Someone with a mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub email: String,
    pub name: Option<String>,
}

impl Person {
    pub fn new(email: impl Into<String>, name: Option<&str>) -> Person {
        Person {
            email: email.into(),
            name: name.map(str::to_string),
        }
    }
}

/// A member invited to the meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub person: Person,
    pub role: Role,
    pub partstat: PartStat,
}

impl Attendee {
    /// A required participant whose answer is still awaited: what a series member is.
    pub fn new(person: Person) -> Attendee {
        Attendee {
            person,
            role: Role::default(),
            partstat: PartStat::default(),
        }
    }
}

/// `ROLE` of an attendee (RFC 5545 §3.2.16).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    #[default]
    Required,
    Chair,
    Optional,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Required => "REQ-PARTICIPANT",
            Role::Chair => "CHAIR",
            Role::Optional => "OPT-PARTICIPANT",
        }
    }
}

/// `PARTSTAT` of an attendee (RFC 5545 §3.2.12): what is asked for in a request, and what a
/// reply answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PartStat {
    #[default]
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
    Delegated,
    /// Any other value, upper-cased (e.g. an `X-` extension).
    Other(String),
}

impl PartStat {
    pub fn as_str(&self) -> &str {
        match self {
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Accepted => "ACCEPTED",
            PartStat::Declined => "DECLINED",
            PartStat::Tentative => "TENTATIVE",
            PartStat::Delegated => "DELEGATED",
            PartStat::Other(other) => other,
        }
    }

    /// Reads a `PARTSTAT` value, case-insensitively.
    pub fn parse(value: &str) -> PartStat {
        let value = value.trim().to_ascii_uppercase();
        match value.as_str() {
            "NEEDS-ACTION" => PartStat::NeedsAction,
            "ACCEPTED" => PartStat::Accepted,
            "DECLINED" => PartStat::Declined,
            "TENTATIVE" => PartStat::Tentative,
            "DELEGATED" => PartStat::Delegated,
            _ => PartStat::Other(value),
        }
    }
}
