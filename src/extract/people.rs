//! People as secretaries list them: "Organisation:<TAB>Name, Name" lines, name/organisation
//! tables with a header row, "Name, Organisation" lines, and run-on lines where name, role and
//! organisation follow each other with only commas between ("Anna Berg, Ale Bo Ek, sekreterare
//! Carl Dahl, Region X"). Organisations the document names elsewhere help cut run-on lines.

use std::collections::HashSet;

use super::Person;
use super::text::Line;

/// Words that may stand lowercase inside a name.
const PARTICLES: &[&str] = &[
    "von", "af", "de", "van", "der", "den", "la", "du", "di", "da", "el",
];

/// Header cells naming a role column.
const ROLE_HEADERS: &[&str] = &[
    "funktion",
    "roll",
    "role",
    "uppdrag",
    "befattning",
    "title",
    "position",
    "titel",
];

/// Courtesy titles written before names: "Cllr J. Turner", "Dr Eva Berg".
const HONORIFICS: &[&str] = &[
    "cllr",
    "cllr.",
    "councillor",
    "mr",
    "mr.",
    "mrs",
    "mrs.",
    "ms",
    "ms.",
    "miss",
    "dr",
    "dr.",
    "prof",
    "prof.",
    "sir",
    "dame",
    "rev",
    "rev.",
];

/// Roles written in brackets after a name, capitalised or not.
const ROLE_NOTES: &[&str] = &[
    "chair",
    "chairman",
    "chairwoman",
    "chairperson",
    "vice chair",
    "clerk",
    "secretary",
    "treasurer",
    "minutes",
    "ordförande",
    "vice ordförande",
    "sekreterare",
    "kassör",
    "ledamot",
    "ersättare",
    "justerare",
];

/// Header cells naming the name column, and the organisation column.
const NAME_HEADERS: &[&str] = &[
    "namn",
    "name",
    "deltagare",
    "ledamot",
    "participant",
    "person",
];
const ORG_HEADERS: &[&str] = &[
    "organisation",
    "organization",
    "kommun",
    "kommun/organisation",
    "org",
    "förvaltning",
    "representerar",
    "företag",
    "company",
    "affiliation",
    "myndighet",
    "parti",
    "party",
];

fn is_capitalised(token: &str) -> bool {
    token.chars().next().is_some_and(|c| c.is_uppercase())
}

fn is_particle(token: &str) -> bool {
    PARTICLES.contains(&token)
}

/// A person's name: one to five words, each capitalised (or a particle), no digits.
pub fn is_name(text: &str) -> bool {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    !tokens.is_empty()
        && tokens.len() <= 5
        && is_capitalised(tokens[0])
        && tokens.iter().all(|t| {
            (is_capitalised(t) || is_particle(t))
                && !t.chars().any(|c| c.is_ascii_digit())
                && t.chars()
                    .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '.' | '’'))
        })
        && super::text::label_of(text).is_none()
}

/// Removes "(...)" notes; says whether a note stood between two parts.
fn strip_notes(text: &str) -> (String, Option<usize>) {
    let mut out = String::new();
    let mut depth = 0;
    let mut split = None;
    for ch in text.chars() {
        match ch {
            '(' => depth += 1,
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    split = Some(out.trim_end().len());
                    out.push(' ');
                }
            }
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    let trimmed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let split = split.filter(|&p| p > 0 && p < out.trim_end().len());
    (trimmed, split.map(|p| out[..p].split_whitespace().count()))
}

/// Reads the people of a section (its lines, label line excluded).
pub fn parse_section(lines: &[&Line], known_orgs: &HashSet<String>) -> Vec<Person> {
    let mut people = Vec::new();
    let mut name_col: Option<usize> = None;
    let mut org_col: Option<usize> = None;
    let mut role_col: Option<usize> = None;
    let single: Vec<&&Line> = lines
        .iter()
        .filter(|l| !l.is_blank() && l.cells.len() == 1)
        .collect();
    let one_comma = single
        .iter()
        .filter(|l| l.text.matches(',').count() == 1)
        .count();
    let name_org = one_comma >= 2 && one_comma * 10 >= single.len() * 6;
    for line in lines {
        if line.is_blank() {
            continue;
        }
        if line.cells.len() >= 2 {
            let lower: Vec<String> = line.cells.iter().map(|c| c.to_lowercase()).collect();
            if let Some(n) = lower
                .iter()
                .position(|c| NAME_HEADERS.contains(&c.as_str()))
                .filter(|_| name_col.is_none())
            {
                name_col = Some(n);
                role_col = lower
                    .iter()
                    .position(|c| ROLE_HEADERS.contains(&c.trim_end_matches(':')));
                let fallback = if n == 0 { 1 } else { 0 };
                org_col = lower
                    .iter()
                    .position(|c| ORG_HEADERS.iter().any(|h| c.contains(h)))
                    .or((role_col != Some(fallback)).then_some(fallback));
                continue;
            }
            if let Some(n) = name_col {
                let (name, _) = strip_notes(line.cells.get(n).map(String::as_str).unwrap_or(""));
                if is_name(&name) {
                    let org = org_col
                        .and_then(|o| line.cells.get(o))
                        .filter(|o| !o.is_empty())
                        .cloned();
                    let role = role_col
                        .and_then(|r| line.cells.get(r))
                        .filter(|r| !r.is_empty())
                        .map(|r| r.to_lowercase());
                    people.push(person(name, org, role));
                }
                continue;
            }
            let first = line.cells[0].trim_end_matches(':').trim();
            let (first_clean, _) = strip_notes(first);
            if line.cells[0].ends_with(':') || (!is_name(&first_clean) && !first.is_empty()) {
                // "Organisation:<TAB>Name, Name"
                let org = Some(first.to_string()).filter(|o| !o.is_empty());
                let rest = line.cells[1..].join(", ");
                for mut p in parse_line(&rest, known_orgs, false) {
                    if p.organization.is_none() {
                        p.organization = org.clone();
                    }
                    people.push(p);
                }
            } else if is_name(&first_clean) {
                people.push(person(first_clean, Some(line.cells[1].clone()), None));
            }
            continue;
        }
        people.extend(parse_line(&line.text, known_orgs, name_org));
    }
    dedupe(people)
}

fn person(name: String, organization: Option<String>, role: Option<String>) -> Person {
    let mut name = name.trim();
    while let Some((first, rest)) = name.split_once(' ')
        && HONORIFICS.contains(&first.to_lowercase().as_str())
        && rest.contains(|c: char| c.is_alphabetic())
    {
        name = rest.trim();
    }
    Person {
        name: name.to_string(),
        organization: organization.filter(|o| !o.trim().is_empty()),
        role,
    }
}

fn dedupe(people: Vec<Person>) -> Vec<Person> {
    let mut seen = HashSet::new();
    people
        .into_iter()
        .filter(|p| seen.insert(p.name.to_lowercase()))
        .collect()
}

/// One line of people: a plain list ("A B, C D och E F"), "Name, Organisation", or a run-on
/// line where each comma is followed by the previous person's role or organisation and then
/// the next person's name.
pub fn parse_run(text: &str, known_orgs: &HashSet<String>) -> Vec<Person> {
    parse_line(text, known_orgs, false)
}

/// `name_org`: the section lists one "Name, Organisation" per line, so a single comma
/// separates a person from an organisation even when the organisation looks like a name.
fn parse_line(text: &str, known_orgs: &HashSet<String>, name_org: bool) -> Vec<Person> {
    let text = text.trim().trim_end_matches('.');
    if let Some(people) = dashed(text).or_else(|| parenthesised(text)) {
        return people;
    }
    let segments: Vec<&str> = text
        .split([',', ';'])
        .flat_map(|s| split_och(s.trim()))
        .filter(|s| !s.is_empty())
        .collect();
    if segments.is_empty() {
        return Vec::new();
    }
    let parts: Vec<Segment> = segments
        .iter()
        .map(|s| Segment::new(s, known_orgs))
        .collect();
    // In a "Name, Organisation" section the one comma separates the two.
    let run_on = (name_org
        && parts.len() == 2
        && is_name(&parts[0].tokens.join(" "))
        && parts[0].role.is_empty())
        || parts.len() >= 2
            && parts[1..].iter().any(|p| {
                !p.role.is_empty()
                    || p.tokens.len() >= 4
                    || p.tokens.len() == 1
                    || p.known_org_prefix.is_some()
                    || p.has_lowercase
                    || p.note_split.is_some()
            });
    let mut people: Vec<Person> = Vec::new();
    for (i, seg) in parts.iter().enumerate() {
        if !run_on || i == 0 {
            let name = seg.tokens.join(" ");
            if is_name(&name) && (seg.tokens.len() >= 2 || !run_on) {
                if let Some(prev) = people.last_mut().filter(|_| !seg.role.is_empty()) {
                    prev.role.get_or_insert(seg.role.join(" "));
                }
                people.push(person(name, None, None));
            }
            continue;
        }
        // Run-on: [role of previous] [organisation of previous] [next name]
        if let Some(prev) = people.last_mut()
            && !seg.role.is_empty()
        {
            prev.role.get_or_insert(seg.role.join(" "));
        }
        let last = i == parts.len() - 1;
        let n = seg.tokens.len();
        let (org, name): (Vec<&str>, Vec<&str>) = if seg.has_lowercase || n == 0 {
            (seg.tokens.clone(), Vec::new())
        } else if let Some(k) = seg.known_org_prefix {
            (seg.tokens[..k].to_vec(), seg.tokens[k..].to_vec())
        } else if let Some(k) = seg.note_split {
            (seg.tokens[..k].to_vec(), seg.tokens[k..].to_vec())
        } else if n == 1 || (last && n == 2) || seg.ends_with_note {
            (seg.tokens.clone(), Vec::new())
        } else if n == 2 {
            (Vec::new(), seg.tokens.clone())
        } else {
            (seg.tokens[..n - 2].to_vec(), seg.tokens[n - 2..].to_vec())
        };
        if let Some(prev) = people.last_mut()
            && !org.is_empty()
            && prev.organization.is_none()
        {
            prev.organization = Some(org.join(" "));
        }
        let name = name.join(" ");
        if is_name(&name) && name.split_whitespace().count() >= 2 {
            people.push(person(name, None, None));
        }
    }
    people
}

/// "Rachel Moore – City Library": one person and the organisation after a dash.
fn dashed(text: &str) -> Option<Vec<Person>> {
    let (name, org) = [" – ", " — ", " - "]
        .iter()
        .find_map(|d| text.split_once(d))?;
    let (name, org) = (name.trim(), org.trim());
    (is_name(name) && name.contains(' ') && !org.is_empty())
        .then(|| vec![person(name.to_string(), Some(org.to_string()), None)])
}

/// "Anna Ek (Ale kommun), Per Holm (S) och Lisa Berg": every part a name, with its
/// organisation (or, written in lowercase, its role) in brackets.
fn parenthesised(text: &str) -> Option<Vec<Person>> {
    if !text.contains('(') {
        return None;
    }
    let mut people = Vec::new();
    for seg in text.split([',', ';']).flat_map(|s| {
        let mut parts = vec![s];
        for sep in [" och ", " and ", " samt ", " & "] {
            parts = parts.into_iter().flat_map(|p| p.split(sep)).collect();
        }
        parts
    }) {
        let seg = seg.trim();
        // "3 members of the public", "m.fl.": not people.
        if seg.is_empty() || seg.starts_with(|c: char| c.is_ascii_digit() || c.is_lowercase()) {
            continue;
        }
        let (name, note) = match seg.split_once('(') {
            Some((n, rest))
                if rest.ends_with(')') && !rest[..rest.len() - 1].contains(['(', ')']) =>
            {
                (n.trim(), Some(rest[..rest.len() - 1].trim()))
            }
            Some(_) => return None,
            None => (seg, None),
        };
        if !is_name(name) || !name.contains(' ') {
            return None;
        }
        let (org, role) = match note {
            Some(n)
                if n.chars().next().is_some_and(char::is_lowercase)
                    || ROLE_NOTES.contains(&n.to_lowercase().as_str()) =>
            {
                (None, Some(n.to_lowercase()))
            }
            Some(n) => (Some(n.to_string()), None),
            None => (None, None),
        };
        people.push(person(name.to_string(), org, role));
    }
    (!people.is_empty()).then_some(people)
}

/// "Håkan och Lena" are two people; "Region och Länsstyrelse" stays as written (lowercase or
/// one-word sides are split only when both sides are names of two words or more).
fn split_och(segment: &str) -> Vec<&str> {
    for sep in [" och ", " and ", " samt ", " & "] {
        if let Some((a, b)) = segment.split_once(sep)
            && is_name(a.trim())
            && is_name(b.trim())
            && a.split_whitespace().count() >= 2
            && b.split_whitespace().count() >= 2
        {
            return vec![a.trim(), b.trim()];
        }
    }
    vec![segment]
}

struct Segment<'a> {
    role: Vec<&'a str>,
    tokens: Vec<&'a str>,
    has_lowercase: bool,
    known_org_prefix: Option<usize>,
    note_split: Option<usize>,
    ends_with_note: bool,
}

impl<'a> Segment<'a> {
    fn new(text: &'a str, known_orgs: &HashSet<String>) -> Segment<'a> {
        let ends_with_note = text.trim_end().ends_with(')');
        let (_, note_split) = strip_notes(text);
        // Tokens borrowed from the original text, notes skipped.
        let mut tokens: Vec<&str> = Vec::new();
        let mut depth = 0i32;
        for t in text.split_whitespace() {
            let opens = t.matches('(').count() as i32;
            let closes = t.matches(')').count() as i32;
            if depth == 0 && opens == 0 {
                tokens.push(t);
            }
            depth = (depth + opens - closes).max(0);
        }
        let role_len = tokens
            .iter()
            .take_while(|t| !is_capitalised(t) && !is_particle(t))
            .count();
        let role = tokens[..role_len].to_vec();
        let rest = tokens[role_len..].to_vec();
        let note_split = note_split
            .and_then(|k| k.checked_sub(role_len))
            .filter(|&k| k > 0 && k < rest.len());
        let has_lowercase = rest.iter().any(|t| {
            (!is_capitalised(t) && !is_particle(t))
                || t.chars().any(|c| c.is_ascii_digit() || c == '§')
        });
        let joined = rest.join(" ").to_lowercase();
        let known_org_prefix = known_orgs
            .iter()
            .filter(|o| {
                // Lowercasing goes character by character: the first one rules most out.
                let first = o.chars().next().and_then(|c| c.to_lowercase().next());
                if first.is_some_and(|f| !joined.starts_with(f)) {
                    return false;
                }
                let o = o.to_lowercase();
                joined.starts_with(&o)
                    && joined.len() > o.len()
                    && joined.as_bytes()[o.len()] == b' '
            })
            .map(|o| o.split_whitespace().count())
            .max();
        Segment {
            role,
            tokens: rest,
            has_lowercase,
            known_org_prefix,
            note_split,
            ends_with_note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(people: &[Person]) -> Vec<&str> {
        people.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn bracketed_organisations_and_dashes() {
        let none = HashSet::new();
        let p = parse_run(
            "Anna Ek (Ale kommun), Per Holm (S), Lisa Berg (ordförande) och Jonas Dahl",
            &none,
        );
        assert_eq!(
            names(&p),
            ["Anna Ek", "Per Holm", "Lisa Berg", "Jonas Dahl"]
        );
        assert_eq!(p[0].organization.as_deref(), Some("Ale kommun"));
        assert_eq!(p[2].role.as_deref(), Some("ordförande"));
        let p = parse_run("John Smith (Chair); Mary Jones; Peter Brown", &none);
        assert_eq!(names(&p), ["John Smith", "Mary Jones", "Peter Brown"]);
        let p = parse_run(
            "Mrs A. Cole (Clerk), Cllr P. Walsh, 3 members of the public",
            &none,
        );
        assert_eq!(names(&p), ["A. Cole", "P. Walsh"]);
        assert_eq!(p[0].role.as_deref(), Some("clerk"));
        let lines = super::super::text::lines(
            "Namn\tFunktion\nLinnea Ström\tOrdförande\nElias Fors\tLedamot",
        );
        let refs: Vec<&Line> = lines.iter().collect();
        let p = parse_section(&refs, &HashSet::new());
        assert_eq!(names(&p), ["Linnea Ström", "Elias Fors"]);
        assert_eq!(p[1].role.as_deref(), Some("ledamot"));
        assert_eq!(p[1].organization, None);
        let p = parse_run("Rachel Moore – City Library", &none);
        assert_eq!(names(&p), ["Rachel Moore"]);
        assert_eq!(p[0].organization.as_deref(), Some("City Library"));
    }

    #[test]
    fn plain_lists_and_name_org_lines() {
        let none = HashSet::new();
        assert_eq!(
            names(&parse_run("Anna Berg, Bo Ek, Carl Dahl", &none)),
            ["Anna Berg", "Bo Ek", "Carl Dahl"]
        );
        assert_eq!(
            names(&parse_run("Anna Berg och Bo Ek", &none)),
            ["Anna Berg", "Bo Ek"]
        );
        let p = parse_run("Maria Holm, Ale", &none);
        assert_eq!(names(&p), ["Maria Holm"]);
        assert_eq!(p[0].organization.as_deref(), Some("Ale"));
        assert_eq!(
            names(&parse_run("Eva Lind Ståhl, Per Ek Berg", &none)),
            ["Eva Lind Ståhl", "Per Ek Berg"]
        );
    }

    #[test]
    fn run_on_lines() {
        let none = HashSet::new();
        let p = parse_run(
            "Anna Berg, Östby Bo Ek, Region Norr Väst (från 9.30) Carl Dahl, Region Norr Väst Dan Falk, Länsstyrelsen",
            &none,
        );
        assert_eq!(names(&p), ["Anna Berg", "Bo Ek", "Carl Dahl", "Dan Falk"]);
        assert_eq!(p[0].organization.as_deref(), Some("Östby"));
        assert_eq!(p[1].organization.as_deref(), Some("Region Norr Väst"));
        assert_eq!(p[3].organization.as_deref(), Some("Länsstyrelsen"));
        let p = parse_run(
            "Mats Ek, ordförande/chef Eva Al, sekreterare Lo Berg, kommundirektör Norrby kommun § 5",
            &none,
        );
        assert_eq!(names(&p), ["Mats Ek", "Eva Al", "Lo Berg"]);
        assert_eq!(p[1].role.as_deref(), Some("sekreterare"));
        let known: HashSet<String> = ["Region Syd".to_string()].into();
        let p = parse_run("Ulla Berg Lind, Region Syd Jon Ek Ås, Region Syd", &known);
        assert_eq!(names(&p), ["Ulla Berg Lind", "Jon Ek Ås"]);
    }

    #[test]
    fn tables() {
        let lines = super::super::text::lines(
            "Namn\tKommun/Organisation\nAnna Berg\tÖstby\nTove Ek (<i>ersätter Per Al</i>)\tVästby",
        );
        let refs: Vec<&Line> = lines.iter().collect();
        let p = parse_section(&refs, &HashSet::new());
        assert_eq!(names(&p), ["Anna Berg", "Tove Ek"]);
        assert_eq!(p[1].organization.as_deref(), Some("Västby"));
        let lines = super::super::text::lines("Region Syd:\tAnna Berg, Bo Ek\nÖstby:\tCarl Dahl");
        let refs: Vec<&Line> = lines.iter().collect();
        let p = parse_section(&refs, &HashSet::new());
        assert_eq!(names(&p), ["Anna Berg", "Bo Ek", "Carl Dahl"]);
        assert_eq!(p[2].organization.as_deref(), Some("Östby"));
    }
}
