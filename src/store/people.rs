//! People and their addresses in the store. One person per normalised name
//! ([`crate::names::key`]); an address belongs to one person, and where it came from decides
//! whether a later source may move it: a secretary's correction outranks the configuration,
//! which outranks the directory, which outranks a display name seen in a mail header.

use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, Tx, ts};
use crate::names;

/// Where an address was learned, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Header,
    Directory,
    Config,
    Correction,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Header => "header",
            Source::Directory => "directory",
            Source::Config => "config",
            Source::Correction => "correction",
        }
    }

    fn parse(text: &str) -> Source {
        match text {
            "correction" => Source::Correction,
            "config" => Source::Config,
            "directory" => Source::Directory,
            _ => Source::Header,
        }
    }
}

/// A person Clerk knows, with the address it would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub id: i64,
    pub name: String,
    pub organization: Option<String>,
    pub address: Option<String>,
    pub address_source: Option<Source>,
    pub learned_from: Option<String>,
    pub address_learned_from: Option<String>,
}

/// The id of the person called `name`, created when new. An organisation fills in a missing one.
pub async fn person(
    tx: &mut Tx,
    name: &str,
    organization: Option<&str>,
    learned_from: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let key = names::key(name);
    if let Some(row) = sqlx::query("SELECT id, organization FROM people WHERE normalized_name = $1")
        .bind(&key)
        .fetch_optional(&mut **tx)
        .await?
    {
        let id: i64 = row.get(0);
        let known: Option<String> = row.get(1);
        if known.is_none()
            && let Some(org) = organization
        {
            sqlx::query("UPDATE people SET organization = $1 WHERE id = $2")
                .bind(org)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(id);
    }
    let row = sqlx::query(
        "INSERT INTO people (name, normalized_name, organization, learned_from, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(name.trim())
    .bind(&key)
    .bind(organization)
    .bind(learned_from)
    .bind(ts(now))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.get(0))
}

/// What became of an address offered for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressChange {
    Added,
    /// Already this person's, from a source at least as strong.
    Unchanged,
    /// Taken from another person (a stronger source moved it).
    Moved {
        from_person: String,
    },
    /// Kept by another person whose source is stronger.
    Refused {
        owner: String,
    },
}

/// Records that `person_id` has `address`. Addresses are compared in lower case.
pub async fn add_address(
    tx: &mut Tx,
    person_id: i64,
    address: &str,
    source: Source,
    learned_from: &str,
    now: DateTime<Utc>,
) -> Result<AddressChange> {
    let address = address.trim().to_lowercase();
    let existing = sqlx::query(
        "SELECT a.person_id, a.source, p.name FROM addresses a JOIN people p ON p.id = a.person_id \
         WHERE a.address = $1",
    )
    .bind(&address)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = existing else {
        sqlx::query(
            "INSERT INTO addresses (person_id, address, source, learned_from, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(person_id)
        .bind(&address)
        .bind(source.as_str())
        .bind(learned_from)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        return Ok(AddressChange::Added);
    };
    let owner: i64 = row.get(0);
    let old_source = Source::parse(&row.get::<String, _>(1));
    let owner_name: String = row.get(2);
    if owner == person_id && old_source >= source {
        return Ok(AddressChange::Unchanged);
    }
    if owner != person_id && old_source > source {
        return Ok(AddressChange::Refused { owner: owner_name });
    }
    sqlx::query(
        "UPDATE addresses SET person_id = $1, source = $2, learned_from = $3, updated_at = $4 \
         WHERE address = $5",
    )
    .bind(person_id)
    .bind(source.as_str())
    .bind(learned_from)
    .bind(ts(now))
    .bind(&address)
    .execute(&mut **tx)
    .await?;
    Ok(if owner == person_id {
        AddressChange::Unchanged
    } else {
        AddressChange::Moved {
            from_person: owner_name,
        }
    })
}

/// Removes the directory addresses that are no longer in the directory.
pub async fn forget_directory_addresses_except(tx: &mut Tx, keep: &[String]) -> Result<u64> {
    let rows = sqlx::query("SELECT address FROM addresses WHERE source = 'directory'")
        .fetch_all(&mut **tx)
        .await?;
    let mut removed = 0;
    for row in rows {
        let address: String = row.get(0);
        if !keep.contains(&address) {
            sqlx::query("DELETE FROM addresses WHERE address = $1")
                .bind(&address)
                .execute(&mut **tx)
                .await?;
            removed += 1;
        }
    }
    Ok(removed)
}

const KNOWN: &str = "SELECT p.id, p.name, p.organization, p.learned_from, a.address, a.source, \
     a.learned_from FROM people p LEFT JOIN addresses a ON a.person_id = p.id";

/// Everyone Clerk knows, each with their best address (strongest source, then newest).
pub async fn everyone(tx: &mut Tx) -> Result<Vec<Known>> {
    let rows = sqlx::query(&format!("{KNOWN} ORDER BY p.id, a.updated_at DESC"))
        .fetch_all(&mut **tx)
        .await?;
    Ok(best_addresses(rows))
}

/// The members of a series, each with their best address.
pub async fn members(tx: &mut Tx, series_id: i64) -> Result<Vec<Known>> {
    let rows = sqlx::query(&format!(
        "{KNOWN} JOIN series_members m ON m.person_id = p.id WHERE m.series_id = $1 \
         ORDER BY p.id, a.updated_at DESC"
    ))
    .bind(series_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(best_addresses(rows))
}

fn best_addresses(rows: Vec<sqlx::any::AnyRow>) -> Vec<Known> {
    let mut people: Vec<Known> = Vec::new();
    for row in rows {
        let id: i64 = row.get(0);
        let address: Option<String> = row.get(4);
        let source = row.get::<Option<String>, _>(5).map(|s| Source::parse(&s));
        let address_learned_from: Option<String> = row.get(6);
        if let Some(last) = people.last_mut().filter(|p| p.id == id) {
            if source > last.address_source {
                last.address = address;
                last.address_source = source;
                last.address_learned_from = address_learned_from;
            }
            continue;
        }
        people.push(Known {
            id,
            name: row.get(1),
            organization: row.get(2),
            learned_from: row.get(3),
            address,
            address_source: source,
            address_learned_from,
        });
    }
    people
}

/// A setting's value (see the `settings` table).
pub async fn setting(tx: &mut Tx, key: &str) -> Result<Option<String>> {
    Ok(sqlx::query("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.get(0)))
}

pub async fn set_setting(tx: &mut Tx, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One line of `clerk people`: a person, every address with its source, and their series.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PersonListing {
    pub name: String,
    pub organization: Option<String>,
    pub learned_from: Option<String>,
    pub addresses: Vec<(String, String, Option<String>)>,
    pub series: Vec<String>,
}

impl Store {
    /// Everyone Clerk knows, for `clerk people`.
    pub async fn people_listing(&self) -> Result<Vec<PersonListing>> {
        let people = sqlx::query(
            "SELECT id, name, organization, learned_from FROM people ORDER BY normalized_name",
        )
        .fetch_all(&self.pool)
        .await?;
        let addresses = sqlx::query(
            "SELECT person_id, address, source, learned_from FROM addresses ORDER BY address",
        )
        .fetch_all(&self.pool)
        .await?;
        let series = sqlx::query(
            "SELECT m.person_id, s.title FROM series_members m JOIN series s ON s.id = m.series_id \
             ORDER BY s.title",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(people
            .into_iter()
            .map(|p| {
                let id: i64 = p.get(0);
                PersonListing {
                    name: p.get(1),
                    organization: p.get(2),
                    learned_from: p.get(3),
                    addresses: addresses
                        .iter()
                        .filter(|a| a.get::<i64, _>(0) == id)
                        .map(|a| (a.get(1), a.get(2), a.get(3)))
                        .collect(),
                    series: series
                        .iter()
                        .filter(|s| s.get::<i64, _>(0) == id)
                        .map(|s| s.get(1))
                        .collect(),
                }
            })
            .collect())
    }
}
