//! Identity and access: passwords, tokens, the authenticated [`Actor`] and the
//! one [`policy`] every handler asks.

pub mod accounts;
mod actor;
pub mod password;
pub mod policy;
pub mod sessions;
pub mod token;
pub mod totp;

pub use actor::Actor;
