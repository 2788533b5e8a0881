//! Who is who: turning the names a document mentions into people with addresses.
//!
//! A full name ("Sara Herrman") is looked up among everyone Clerk knows. A first name alone
//! ("Sara") only means someone within the meeting: the one Sara present (or, failing that, the
//! one Sara among the series' members). A mention of several people ("Håkan och Lena") is
//! split. A group ("kommunerna", "Region och Länsstyrelse", "varje representant") is a
//! configured group, everyone, or the members whose organisation it names; failing all that it
//! goes to the secretary. A match that needed å/ä/ö folded is a guess and is reported as one.
//! What cannot be resolved is reported, never guessed at: nothing is sent to a guessed address.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::directory;
use crate::names;
use crate::store::people::{self as stored, AddressChange, Known, Source};
use crate::store::{Store, Tx};

/// A configured member: "Name <address>" or "Name".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub address: Option<String>,
}

/// Reads "Anna Fransson <anna@example.org>" or "Anna Fransson".
pub fn parse_member(text: &str) -> Result<Member, String> {
    let text = text.trim();
    if let Some((name, rest)) = text.split_once('<') {
        let address = rest.trim_end().strip_suffix('>').unwrap_or(rest).trim();
        if !address.contains('@') || address.contains(char::is_whitespace) {
            return Err(format!("expected \"Name <address>\", found {text:?}"));
        }
        let name = name.trim().trim_matches('"').trim();
        if name.is_empty() {
            return Err(format!("a name is needed before <{address}>"));
        }
        return Ok(Member {
            name: name.to_string(),
            address: Some(address.to_string()),
        });
    }
    if text.is_empty() || text.contains('@') {
        return Err(format!(
            "expected \"Name <address>\" or \"Name\", found {text:?}"
        ));
    }
    Ok(Member {
        name: text.to_string(),
        address: None,
    })
}

/// Reads the directory file into the store when its contents changed since the last time;
/// returns how many entries were read, or None when it was unchanged.
pub async fn sync_directory(
    store: &Store,
    path: &Path,
    now: DateTime<Utc>,
) -> Result<Option<usize>> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("reading the directory {}: {e}", path.display()))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    let setting = format!("directory:{}", path.display());
    let mut tx = store.begin_write().await?;
    if stored::setting(&mut tx, &setting).await?.as_deref() == Some(hash.as_str()) {
        tx.rollback().await?;
        return Ok(None);
    }
    let entries = directory::read(path)?;
    let learned_from = format!("directory {}", path.display());
    let mut kept = Vec::new();
    for entry in &entries {
        let id = stored::person(
            &mut tx,
            &entry.name,
            entry.organization.as_deref(),
            &learned_from,
            now,
        )
        .await?;
        stored::add_address(
            &mut tx,
            id,
            &entry.email,
            Source::Directory,
            &learned_from,
            now,
        )
        .await?;
        kept.push(entry.email.trim().to_lowercase());
    }
    stored::forget_directory_addresses_except(&mut tx, &kept).await?;
    stored::set_setting(&mut tx, &setting, &hash).await?;
    tx.commit().await?;
    tracing::info!(path = %path.display(), entries = entries.len(), "directory read");
    Ok(Some(entries.len()))
}

/// Whether a display name looks like a person's full name (two or more words of letters), so
/// that "Anna Fransson <anna@...>" teaches an address but "Kansliet <info@...>" does not.
pub fn is_personal_name(name: &str) -> bool {
    let words: Vec<&str> = name.split_whitespace().collect();
    words.len() >= 2
        && words.len() <= 5
        && words.iter().all(|w| {
            w.chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '.' || c == '\'')
        })
}

/// A display name as people are called: Outlook's "Fransson, Anna" becomes "Anna Fransson".
pub fn display_name_as_name(name: &str) -> String {
    let name = name.trim().trim_matches('"').trim();
    match name.split_once(',') {
        Some((family, given)) if !given.trim().is_empty() && !family.contains(' ') => {
            format!("{} {}", given.trim(), family.trim())
        }
        _ => name.to_string(),
    }
}

/// Learns addresses from the display names of a mail's From/To/Cc; returns how many were new.
pub async fn learn_from_headers(
    tx: &mut Tx,
    people: &[(String, String)],
    learned_from: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut added = 0;
    for (name, address) in people {
        let name = display_name_as_name(name);
        if !is_personal_name(&name) || !address.contains('@') {
            continue;
        }
        let id = stored::person(tx, &name, None, learned_from, now).await?;
        if stored::add_address(tx, id, address, Source::Header, learned_from, now).await?
            == AddressChange::Added
        {
            added += 1;
        }
    }
    Ok(added)
}

/// Where names are looked up for one document.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The people the document names as present, absent, secretary, chair or approver.
    pub meeting: Vec<Known>,
    /// The series' members (configured and from earlier documents).
    pub members: Vec<Known>,
    /// Everyone Clerk knows.
    pub everyone: Vec<Known>,
    /// Configured groups of the series: group name -> member names.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Who gets what no one else can be found for.
    pub secretary: Option<Known>,
}

/// What a mention turned out to mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// One person, certainly.
    Person(Known),
    /// One person, but only after å/ä/ö were folded: to be confirmed.
    Guess(Known),
    /// A group: these people.
    Group(Vec<Known>),
    /// A group no one could be found for: the secretary takes it.
    ToSecretary(Known),
    /// Several people fit.
    Ambiguous(Vec<Known>),
    /// No one fits.
    Unknown,
}

/// Words that make a mention a group of people rather than a person.
const EVERYONE: &[&str] = &[
    "alla",
    "samtliga",
    "varje representant",
    "respektive representant",
    "var och en",
    "samtliga ledamöter",
    "alla ledamöter",
    "everyone",
    "all",
    "all members",
    "each representative",
    "each member",
];

/// Resolves one mention (possibly naming several people) within `scope`.
pub fn resolve(mention: &str, scope: &Scope) -> Vec<(String, Resolution)> {
    let people = meeting_and_members(scope);
    let whole = names::key(mention);
    if let Some(group) = named_group(&whole, &people, scope) {
        return vec![(mention.trim().to_string(), group)];
    }
    names::split_mention(mention)
        .into_iter()
        .map(|part| {
            let key = names::key(&part);
            let resolution = named_group(&key, &people, scope)
                .or_else(|| match person(&part, scope) {
                    Resolution::Unknown => None,
                    found => Some(found),
                })
                .or_else(|| organisation_group(&key, &people).map(Resolution::Group))
                .unwrap_or_else(|| {
                    if looks_like_group(&key) {
                        group_or_secretary(Vec::new(), scope)
                    } else {
                        Resolution::Unknown
                    }
                });
            (part, resolution)
        })
        .collect()
}

fn person(mention: &str, scope: &Scope) -> Resolution {
    let key = names::key(mention);
    if key.is_empty() {
        return Resolution::Unknown;
    }
    if names::is_single_word(mention) {
        // A first name means someone in the meeting, else someone in the series.
        for pool in [&scope.meeting, &scope.members] {
            match by(pool, |k| names::first_name_key(&k.name) == key) {
                Found::One(k) => return Resolution::Person(k),
                Found::Many(ks) => return Resolution::Ambiguous(ks),
                Found::None => {}
            }
        }
        for pool in [&scope.meeting, &scope.members] {
            let loose = names::loose_key(mention);
            if let Found::One(k) = by(pool, |k| {
                names::loose_key(&k.name).split(' ').next() == Some(&loose)
            }) {
                return Resolution::Guess(k);
            }
        }
        return Resolution::Unknown;
    }
    for pool in [&scope.meeting, &scope.members, &scope.everyone] {
        match by(pool, |k| names::key(&k.name) == key) {
            Found::One(k) if k.address.is_none() => {
                // "Åke Carlsson" named, "Ake Carlsson" with an address in the directory: likely
                // the same person, typed without the Swedish letters. Worth asking.
                let loose = names::loose_key(mention);
                if let Found::One(other) = by(&scope.everyone, |o| {
                    o.id != k.id && o.address.is_some() && names::loose_key(&o.name) == loose
                }) {
                    return Resolution::Guess(other);
                }
                return Resolution::Person(k);
            }
            Found::One(k) => return Resolution::Person(k),
            Found::Many(ks) => return Resolution::Ambiguous(ks),
            Found::None => {}
        }
    }
    let loose = names::loose_key(mention);
    for pool in [&scope.meeting, &scope.members, &scope.everyone] {
        match by(pool, |k| names::loose_key(&k.name) == loose) {
            Found::One(k) => return Resolution::Guess(k),
            Found::Many(ks) => return Resolution::Ambiguous(ks),
            Found::None => {}
        }
    }
    Resolution::Unknown
}

enum Found {
    None,
    One(Known),
    Many(Vec<Known>),
}

fn by(pool: &[Known], test: impl Fn(&Known) -> bool) -> Found {
    let mut found: Vec<Known> = Vec::new();
    for k in pool.iter().filter(|k| test(k)) {
        if !found.iter().any(|f| f.id == k.id) {
            found.push(k.clone());
        }
    }
    match found.len() {
        0 => Found::None,
        1 => Found::One(found.remove(0)),
        _ => Found::Many(found),
    }
}

/// The people of the meeting and the series, each once.
fn meeting_and_members(scope: &Scope) -> Vec<Known> {
    let mut all: Vec<Known> = Vec::new();
    for k in scope.meeting.iter().chain(&scope.members) {
        if !all.iter().any(|a| a.id == k.id) {
            all.push(k.clone());
        }
    }
    all
}

/// A group named as such: a configured group, everyone, or an organisation's full name.
fn named_group(key: &str, people: &[Known], scope: &Scope) -> Option<Resolution> {
    if let Some((_, members)) = scope
        .groups
        .iter()
        .find(|(name, _)| names::key(name) == key)
    {
        let found: Vec<Known> = members
            .iter()
            .filter_map(|m| {
                let mk = names::key(m);
                people
                    .iter()
                    .chain(&scope.everyone)
                    .find(|k| names::key(&k.name) == mk)
                    .cloned()
            })
            .collect();
        return Some(group_or_secretary(found, scope));
    }
    if EVERYONE.contains(&key) {
        return Some(group_or_secretary(people.to_vec(), scope));
    }
    let of_organisation: Vec<Known> = people
        .iter()
        .filter(|k| {
            k.organization
                .as_deref()
                .is_some_and(|o| names::key(o) == key)
        })
        .cloned()
        .collect();
    (!of_organisation.is_empty()).then_some(Resolution::Group(of_organisation))
}

/// "kommunerna", "Regionen", "Länsstyrelse": an organisation named by a common noun, meaning
/// the people whose organisation has a word of that stem.
fn organisation_group(key: &str, people: &[Known]) -> Option<Vec<Known>> {
    let stem = org_stem(key)?;
    let found: Vec<Known> = people
        .iter()
        .filter(|k| {
            k.organization
                .as_deref()
                .is_some_and(|o| names::key(o).split(' ').any(|w| w.starts_with(&stem)))
        })
        .cloned()
        .collect();
    (!found.is_empty()).then_some(found)
}

/// Whether an unresolved mention reads as a group rather than a person: a Swedish noun in the
/// definite form ("kommunerna", "nätverket", "regionen") or an English "the ...".
fn looks_like_group(key: &str) -> bool {
    if key.starts_with("the ") || key.starts_with("alla ") || key.starts_with("samtliga ") {
        return true;
    }
    if key.contains(' ') {
        return false;
    }
    let len = key.chars().count();
    (len >= 7 && ["erna", "arna", "orna"].iter().any(|s| key.ends_with(s)))
        || (len >= 8 && ["en", "et", "na"].iter().any(|s| key.ends_with(s)))
}

/// The stem of an organisation word ("kommunerna" -> "kommun", "länsstyrelse" ->
/// "länsstyrelse"); None for more than one word (then it is a name, not an organisation).
fn org_stem(word: &str) -> Option<String> {
    if word.contains(' ') || word.chars().count() < 4 {
        return None;
    }
    let stem = ["erna", "arna", "orna", "na", "en", "er", "ar", "or", "s"]
        .iter()
        .find_map(|suffix| word.strip_suffix(suffix).filter(|s| s.chars().count() >= 4))
        .unwrap_or(word);
    Some(stem.to_string())
}

fn group_or_secretary(found: Vec<Known>, scope: &Scope) -> Resolution {
    if !found.is_empty() {
        Resolution::Group(found)
    } else if let Some(secretary) = &scope.secretary {
        Resolution::ToSecretary(secretary.clone())
    } else {
        Resolution::Unknown
    }
}

/// Something about the people of a document that a person must look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No one Clerk knows has this name.
    Unknown { mention: String },
    /// Several people fit a name.
    Ambiguous {
        mention: String,
        candidates: Vec<String>,
    },
    /// The person is known but has no address.
    NoAddress { name: String },
    /// Matched only with å/ä/ö folded.
    Guessed { mention: String, taken_as: String },
    /// A group that no one could be found for was given to the secretary.
    GroupToSecretary { mention: String, secretary: String },
}

/// The problems among a set of resolutions, each person or mention once.
pub fn problems(resolutions: &[(String, Resolution)]) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let mut push = |p: Problem| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for (mention, resolution) in resolutions {
        match resolution {
            Resolution::Person(k) | Resolution::ToSecretary(k) if k.address.is_none() => {
                push(Problem::NoAddress {
                    name: k.name.clone(),
                })
            }
            Resolution::Guess(k) => push(Problem::Guessed {
                mention: mention.clone(),
                taken_as: k.name.clone(),
            }),
            Resolution::Group(ks) => {
                for k in ks.iter().filter(|k| k.address.is_none()) {
                    push(Problem::NoAddress {
                        name: k.name.clone(),
                    });
                }
            }
            Resolution::Ambiguous(ks) => push(Problem::Ambiguous {
                mention: mention.clone(),
                candidates: ks.iter().map(|k| k.name.clone()).collect(),
            }),
            Resolution::Unknown => push(Problem::Unknown {
                mention: mention.clone(),
            }),
            _ => {}
        }
        if let Resolution::ToSecretary(k) = resolution {
            push(Problem::GroupToSecretary {
                mention: mention.clone(),
                secretary: k.name.clone(),
            });
        }
    }
    out
}

/// The addresses a resolution may be sent to: only certain people with a known address.
pub fn addresses(resolution: &Resolution) -> Vec<(String, String)> {
    let of = |k: &Known| k.address.clone().map(|a| (k.name.clone(), a));
    match resolution {
        Resolution::Person(k) | Resolution::ToSecretary(k) => of(k).into_iter().collect(),
        Resolution::Group(ks) => ks.iter().filter_map(of).collect(),
        Resolution::Guess(_) | Resolution::Ambiguous(_) | Resolution::Unknown => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(id: i64, name: &str, org: Option<&str>, address: Option<&str>) -> Known {
        Known {
            id,
            name: name.into(),
            organization: org.map(str::to_string),
            address: address.map(str::to_string),
            address_source: address.map(|_| Source::Directory),
            learned_from: None,
            address_learned_from: None,
        }
    }

    fn scope() -> Scope {
        let sara = known(
            1,
            "Sara Herrman",
            Some("Region Kronoberg"),
            Some("sara@example.org"),
        );
        let hakan = known(
            2,
            "Håkan Lind",
            Some("Växjö kommun"),
            Some("hakan@example.org"),
        );
        let lena = known(3, "Lena Nilsson", Some("Ljungby kommun"), None);
        let anna = known(
            4,
            "Anna Berg",
            Some("Länsstyrelsen Kronoberg"),
            Some("anna@example.org"),
        );
        let anna2 = known(
            5,
            "Anna Ek",
            Some("Region Kronoberg"),
            Some("anna.ek@example.org"),
        );
        let ake = known(6, "Åke Öberg", None, Some("ake@example.org"));
        let secretary = known(7, "Maria Sekreterare", None, Some("maria@example.org"));
        Scope {
            meeting: vec![
                sara.clone(),
                hakan.clone(),
                lena.clone(),
                anna.clone(),
                anna2.clone(),
            ],
            members: vec![sara, hakan, lena, anna, anna2, ake.clone()],
            everyone: vec![ake],
            groups: BTreeMap::from([("styrgruppen".into(), vec!["Sara Herrman".into()])]),
            secretary: Some(secretary),
        }
    }

    fn one(mention: &str) -> Resolution {
        let mut r = resolve(mention, &scope());
        assert_eq!(r.len(), 1, "{mention}: {r:?}");
        r.remove(0).1
    }

    #[test]
    fn a_first_name_is_the_one_person_of_that_name_in_the_meeting() {
        assert!(matches!(one("Sara"), Resolution::Person(k) if k.name == "Sara Herrman"));
        assert!(matches!(one("sara herrman"), Resolution::Person(k) if k.id == 1));
        assert!(matches!(one("Anna"), Resolution::Ambiguous(ks) if ks.len() == 2));
        assert_eq!(one("Kalle"), Resolution::Unknown);
    }

    #[test]
    fn two_people_in_one_mention() {
        let r = resolve("Håkan och Lena", &scope());
        assert_eq!(r.len(), 2);
        assert!(matches!(&r[0].1, Resolution::Person(k) if k.name == "Håkan Lind"));
        assert!(matches!(&r[1].1, Resolution::Person(k) if k.name == "Lena Nilsson"));
        assert_eq!(
            problems(&r),
            vec![Problem::NoAddress {
                name: "Lena Nilsson".into()
            }]
        );
    }

    #[test]
    fn swedish_letters_match_only_as_a_flagged_guess() {
        assert!(matches!(one("Åke Öberg"), Resolution::Person(_)));
        let guess = one("Ake Oberg");
        assert!(matches!(&guess, Resolution::Guess(k) if k.name == "Åke Öberg"));
        assert!(addresses(&guess).is_empty(), "nothing goes to a guess");
        assert!(matches!(one("Hakan"), Resolution::Guess(k) if k.name == "Håkan Lind"));
    }

    #[test]
    fn groups_resolve_to_members_or_the_secretary() {
        assert!(matches!(one("kommunerna"), Resolution::Group(ks) if ks.len() == 2));
        let r = resolve("Region och Länsstyrelse", &scope());
        assert!(
            matches!(&r[0].1, Resolution::Group(ks) if ks.len() == 2),
            "{r:?}"
        );
        assert!(
            matches!(&r[1].1, Resolution::Group(ks) if ks.len() == 1),
            "{r:?}"
        );
        assert!(matches!(one("Region Kronoberg"), Resolution::Group(ks) if ks.len() == 2));
        // A group no one belongs to goes to the secretary, and the receipt says so.
        let network = one("Kommunchefsnätverket");
        assert!(matches!(&network, Resolution::ToSecretary(k) if k.name == "Maria Sekreterare"));
        assert_eq!(
            addresses(&network),
            vec![(
                "Maria Sekreterare".to_string(),
                "maria@example.org".to_string()
            )]
        );
        assert!(matches!(one("varje representant"), Resolution::Group(ks) if ks.len() == 6));
        assert!(matches!(one("Styrgruppen"), Resolution::Group(ks) if ks.len() == 1));
        let mut empty = scope();
        empty.members.clear();
        empty.meeting.clear();
        assert!(matches!(
            resolve("kommunerna", &empty)[0].1,
            Resolution::ToSecretary(_)
        ));
        assert!(matches!(resolve("Kalle", &empty)[0].1, Resolution::Unknown));
        assert!(matches!(
            resolve("varje representant", &empty)[0].1,
            Resolution::ToSecretary(_)
        ));
    }

    #[test]
    fn members_and_display_names() {
        assert_eq!(
            parse_member("Anna Fransson <anna@example.org>").unwrap(),
            Member {
                name: "Anna Fransson".into(),
                address: Some("anna@example.org".into())
            }
        );
        assert!(parse_member("anna@example.org").is_err());
        assert_eq!(display_name_as_name("Fransson, Anna"), "Anna Fransson");
        assert!(is_personal_name("Anna Fransson"));
        assert!(!is_personal_name("Kansliet"));
        assert!(!is_personal_name("Team 42 support"));
    }
}
