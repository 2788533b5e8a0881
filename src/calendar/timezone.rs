//! A `VTIMEZONE` (RFC 5545 §3.6.5) for any zone chrono-tz knows.
//!
//! A `DTSTART;TZID=...` is only portable with the zone's definition beside it: Outlook in
//! particular does not know IANA names. The icalendar crate writes no `VTIMEZONE`, and its
//! generic components gain a `DTSTAMP` and `UID` they must not have, so the definition is written
//! here, line by line through the crate's property formatting.
//!
//! The definition is derived from chrono-tz rather than a table: the offsets are sampled across
//! the year before, of and after the event, each change is pinned to the second by bisection,
//! and changes that recur on the same weekday rule in consecutive years become one observance
//! with a yearly `RRULE` (Europe/Stockholm comes out as the classic CET/CEST pair). Anything
//! irregular is written out change by change.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use icalendar::Property;

/// How far apart the offsets are sampled; two changes closer than this would be missed.
const STEP_HOURS: i64 = 6;

/// The zone's state at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    /// Total offset from UTC, in seconds.
    offset: i32,
    /// The daylight-saving part of the offset, in seconds: negative in winter for zones that
    /// define summer time as their standard (Europe/Dublin).
    dst: i32,
    name: Option<String>,
}

fn state_at(tz: Tz, at: NaiveDateTime) -> State {
    use chrono::TimeZone;
    let off = tz.offset_from_utc_datetime(&at);
    let total = off.base_utc_offset() + off.dst_offset();
    State {
        offset: i32::try_from(total.num_seconds()).unwrap_or(0),
        dst: i32::try_from(off.dst_offset().num_seconds()).unwrap_or(0),
        name: off.abbreviation().map(str::to_string),
    }
}

/// A change of the zone's state, at an instant (UTC).
#[derive(Debug, Clone)]
struct Transition {
    at: NaiveDateTime,
    from: State,
    to: State,
}

impl Transition {
    /// The wall-clock time of the change in the old offset: what `DTSTART` of an observance is.
    fn local(&self) -> NaiveDateTime {
        self.at + Duration::seconds(i64::from(self.from.offset))
    }
}

fn transitions(tz: Tz, start: NaiveDateTime, end: NaiveDateTime) -> (State, Vec<Transition>) {
    let first = state_at(tz, start);
    let mut out = Vec::new();
    let mut t = start;
    let mut current = first.clone();
    while t < end {
        let next = t + Duration::hours(STEP_HOURS);
        let state = state_at(tz, next);
        if state != current {
            // Bisect to the first second in the new state.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if state_at(tz, mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let to = state_at(tz, hi);
            out.push(Transition {
                at: hi,
                from: current,
                to: to.clone(),
            });
            current = to;
        }
        t = next;
    }
    (first, out)
}

/// What makes two changes in different years "the same rule".
#[derive(Debug, Clone, PartialEq, Eq)]
struct RuleKey {
    from: i32,
    to: State,
    month: u32,
    weekday: Weekday,
    time: (u32, u32, u32),
}

fn rule_key(t: &Transition) -> RuleKey {
    let local = t.local();
    RuleKey {
        from: t.from.offset,
        to: t.to.clone(),
        month: local.month(),
        weekday: local.weekday(),
        time: (local.hour(), local.minute(), local.second()),
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.day())
        .unwrap_or(28)
}

/// The `RRULE` that yields exactly these changes, one per consecutive year, if there is one.
fn yearly_rule(group: &[&Transition], last_year: i32) -> Option<String> {
    if group.len() < 2 {
        return None;
    }
    let locals: Vec<NaiveDateTime> = group.iter().map(|t| t.local()).collect();
    if locals.windows(2).any(|w| w[1].year() != w[0].year() + 1) {
        return None;
    }
    let first = locals[0];
    let weekday = match first.weekday() {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    };
    let is_last = |d: &NaiveDateTime| d.day() + 7 > days_in_month(d.year(), d.month());
    let nth = |d: &NaiveDateTime| (d.day() - 1) / 7 + 1;
    let by = if locals.iter().all(is_last) {
        format!("BYDAY=-1{weekday}")
    } else if locals.iter().all(|d| nth(d) == nth(&first)) {
        format!("BYDAY={}{weekday}", nth(&first))
    } else if locals.iter().all(|d| d.day() == first.day()) {
        format!("BYMONTHDAY={}", first.day())
    } else {
        return None;
    };
    let mut rule = format!("FREQ=YEARLY;BYMONTH={};{by}", first.month());
    let last = group[group.len() - 1];
    if last.local().year() < last_year {
        // The rule stopped within what was looked at: say so rather than claim it forever.
        rule.push_str(&format!(";UNTIL={}", last.at.format("%Y%m%dT%H%M%SZ")));
    }
    Some(rule)
}

/// One `STANDARD` or `DAYLIGHT` sub-component.
struct Observance {
    dtstart: NaiveDateTime,
    from: i32,
    to: State,
    rrule: Option<String>,
}

/// `+HHMM`, or `+HHMMSS` when the offset has seconds (RFC 5545 §3.3.14).
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

fn line(key: &str, value: &str) -> String {
    let property = Property::new(key, value);
    // Formatting into a String cannot fail; the fallback keeps this total without a panic.
    TryInto::<String>::try_into(property).unwrap_or_else(|_| format!("{key}:{value}\r\n"))
}

/// `DAYLIGHT` for summer time as clients understand it: the offset with daylight saving added,
/// or, in a zone whose winter is the negative exception, the offset that is not that exception.
fn write_observance(out: &mut String, o: &Observance, negative_dst: bool) {
    let daylight = o.to.dst > 0 || (negative_dst && o.to.dst == 0 && o.to.offset > o.from);
    let kind = if daylight { "DAYLIGHT" } else { "STANDARD" };
    out.push_str(&line("BEGIN", kind));
    out.push_str(&line(
        "DTSTART",
        &o.dtstart.format("%Y%m%dT%H%M%S").to_string(),
    ));
    out.push_str(&line("TZOFFSETFROM", &utc_offset(o.from)));
    out.push_str(&line("TZOFFSETTO", &utc_offset(o.to.offset)));
    if let Some(name) = &o.to.name {
        out.push_str(&line("TZNAME", name));
    }
    if let Some(rule) = &o.rrule {
        out.push_str(&line("RRULE", rule));
    }
    out.push_str(&line("END", kind));
}

/// The `VTIMEZONE` block (CRLF line ends, `TZID` = the IANA name) that defines `tz` for events
/// in `year`, covering the year before and after as well.
pub fn vtimezone(tz: Tz, year: i32) -> String {
    let year = year.clamp(1900, 2200);
    let at = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH.naive_utc())
    };
    let (start, end) = (at(year - 1), at(year + 2));
    let (first, changes) = transitions(tz, start, end);

    let mut observances = Vec::new();
    if changes.is_empty() {
        observances.push(Observance {
            dtstart: DateTime::<Utc>::UNIX_EPOCH.naive_utc(),
            from: first.offset,
            to: first,
            rrule: None,
        });
    } else {
        let mut groups: Vec<(RuleKey, Vec<&Transition>)> = Vec::new();
        for t in &changes {
            let key = rule_key(t);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, group)) => group.push(t),
                None => groups.push((key, vec![t])),
            }
        }
        let mut irregular = false;
        for (_, group) in &groups {
            match yearly_rule(group, year + 1) {
                Some(rule) => observances.push(Observance {
                    dtstart: group[0].local(),
                    from: group[0].from.offset,
                    to: group[0].to.clone(),
                    rrule: Some(rule),
                }),
                None => {
                    irregular = true;
                    observances.extend(group.iter().map(|t| Observance {
                        dtstart: t.local(),
                        from: t.from.offset,
                        to: t.to.clone(),
                        rrule: None,
                    }));
                }
            }
        }
        if irregular {
            // Changes written one by one leave the time before the first undefined.
            observances.push(Observance {
                dtstart: start + Duration::seconds(i64::from(first.offset)),
                from: first.offset,
                to: first,
                rrule: None,
            });
        }
        observances.sort_by_key(|o| o.dtstart);
    }

    let mut out = String::new();
    out.push_str(&line("BEGIN", "VTIMEZONE"));
    out.push_str(&line("TZID", tz.name()));
    let negative_dst = observances.iter().any(|o| o.to.dst < 0);
    for o in &observances {
        write_observance(&mut out, o, negative_dst);
    }
    out.push_str(&line("END", "VTIMEZONE"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stockholm_is_cet_cest_with_yearly_rules() {
        let text = vtimezone(chrono_tz::Europe::Stockholm, 2026);
        let expected = "BEGIN:VTIMEZONE\r\n\
            TZID:Europe/Stockholm\r\n\
            BEGIN:DAYLIGHT\r\n\
            DTSTART:20250330T020000\r\n\
            TZOFFSETFROM:+0100\r\n\
            TZOFFSETTO:+0200\r\n\
            TZNAME:CEST\r\n\
            RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
            END:DAYLIGHT\r\n\
            BEGIN:STANDARD\r\n\
            DTSTART:20251026T030000\r\n\
            TZOFFSETFROM:+0200\r\n\
            TZOFFSETTO:+0100\r\n\
            TZNAME:CET\r\n\
            RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
            END:STANDARD\r\n\
            END:VTIMEZONE\r\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn zone_without_dst_is_one_standard() {
        let text = vtimezone(chrono_tz::Asia::Tokyo, 2026);
        assert_eq!(
            text,
            "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
             TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST\r\nEND:STANDARD\r\n\
             END:VTIMEZONE\r\n"
        );
        let utc = vtimezone(chrono_tz::UTC, 2026);
        assert!(utc.contains("TZOFFSETTO:+0000\r\n"), "{utc}");
        assert_eq!(utc.matches("BEGIN:STANDARD").count(), 1, "{utc}");
    }

    #[test]
    fn other_rules_come_out_as_rules() {
        // Second Sunday of March, first Sunday of November.
        let ny = vtimezone(chrono_tz::America::New_York, 2026);
        assert!(
            ny.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"),
            "{ny}"
        );
        assert!(
            ny.contains("RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"),
            "{ny}"
        );
        assert!(ny.contains("TZOFFSETTO:-0400\r\n"), "{ny}");
        // Southern hemisphere: daylight saving spans the new year.
        let syd = vtimezone(chrono_tz::Australia::Sydney, 2026);
        assert!(
            syd.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU\r\n"),
            "{syd}"
        );
        assert!(
            syd.contains("RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\r\n"),
            "{syd}"
        );
        assert_eq!(syd.matches("BEGIN:DAYLIGHT").count(), 1, "{syd}");
        // Dublin's tz data calls winter the (negative) exception; clients expect summer.
        let dublin = vtimezone(chrono_tz::Europe::Dublin, 2026);
        let daylight = dublin.find("BEGIN:DAYLIGHT").expect("a DAYLIGHT");
        assert!(dublin[daylight..].contains("TZNAME:IST"), "{dublin}");
        assert_eq!(dublin.matches("BEGIN:STANDARD").count(), 1, "{dublin}");
    }

    #[test]
    fn a_zone_that_stopped_changing_ends_its_rules() {
        // Mexico City dropped daylight saving after October 2022.
        let text = vtimezone(chrono_tz::America::Mexico_City, 2022);
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20220403T080000Z\r\n"),
            "{text}"
        );
        assert!(text.contains(";UNTIL=20221030T070000Z\r\n"), "{text}");
        // The year after: two one-off changes, and the time before them defined too.
        let after = vtimezone(chrono_tz::America::Mexico_City, 2023);
        assert!(!after.contains("RRULE"), "{after}");
        assert!(
            after.contains("BEGIN:STANDARD\r\nDTSTART:20211231T180000\r\nTZOFFSETFROM:-0600\r\n"),
            "{after}"
        );
        assert_eq!(after.matches("BEGIN:DAYLIGHT").count(), 1, "{after}");
        // After the window the zone is constant: no rule claims daylight saving forever.
        let later = vtimezone(chrono_tz::America::Mexico_City, 2026);
        assert!(!later.contains("DAYLIGHT"), "{later}");
    }

    #[test]
    fn far_future_years_still_have_rules() {
        let text = vtimezone(chrono_tz::Europe::Stockholm, 2060);
        assert!(
            text.contains("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
            "{text}"
        );
    }
}
