//! Carebook: a self-hostable backend for booking and running medical
//! appointments. One binary, SQLite by default, PostgreSQL in production.
//!
//! Data flows one way: [`api`] → the services ([`accounts`], [`directory`],
//! [`patients`], [`booking`], [`audit`], [`settings`]) → ([`auth`] policy,
//! [`scheduling`]) → [`db`]. [`scheduling`] is pure; [`db`] knows nothing of
//! HTTP. `ARCHITECTURE.md` says where a new area's files go.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod booking;
pub mod clock;
pub mod config;
pub mod db;
pub mod directory;
pub mod domain;
pub mod error;
pub mod input;
pub mod patients;
pub mod profile_image;
pub mod request_id;
pub mod scheduling;
pub mod seed;
pub mod server;
pub mod settings;
pub mod state;

pub use api::app;
pub use state::AppState;
