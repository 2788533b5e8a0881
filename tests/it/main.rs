//! Integration tests. The ones that need servers use the real mail stack and PostgreSQL that
//! `scripts/mailstack.sh up` and `scripts/pgstack.sh up` start (`scripts/test.sh` does both and
//! exports their addresses); they fail with that hint when the servers are not there.

mod actions;
mod approval;
mod calendar;
mod daylight_saving;
mod documents;
mod e2e;
mod failure_notice;
mod faults;
mod formats;
mod fuzz_inputs;
mod hostile_mime;
mod invitations;
mod mail_building;
mod monitoring;
mod package;
mod people;
mod replicas;
mod secrets;
mod senders;
mod service;
mod store;
mod support;
mod swedish_mail;
mod tls;
