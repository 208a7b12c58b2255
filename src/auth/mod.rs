//! Identity and access: passwords, tokens, the authenticated [`Actor`] and
//! the one [`policy`] every decision is asked of. Managing accounts is
//! [`crate::accounts`]'s.

mod actor;
pub mod password;
pub mod policy;
pub mod token;

pub use actor::Actor;
