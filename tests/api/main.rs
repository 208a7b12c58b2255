//! The one integration test binary: every test drives the HTTP API of a real
//! server on a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL).

mod helpers;

mod admin;
mod appointments;
mod audit;
mod auth;
mod availability;
mod billing;
mod clinical;
mod concurrency;
mod conditional;
mod contract;
mod directory;
mod fhir;
mod health;
mod input_rules;
mod leaks;
mod lockout;
mod nodes;
mod notifications;
mod pharmacy;
mod policy_matrix;
mod profile;
mod query_limits;
mod reports;
mod schedules;
mod seed;
mod sessions;
mod settings;
mod totp;
mod transport;
