//! Password hashing (argon2id, m = 19 MiB, t = 2, p = 1: the OWASP minimum)
//! and the password rules (NIST SP 800-63B: length, no composition rules).
//!
//! Hashing is CPU-bound for tens of milliseconds; callers run it on the
//! blocking pool (`tokio::task::spawn_blocking`), never on a request thread.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest accepted password, in characters.
pub const MIN_LENGTH: usize = 8;
/// Longest accepted password, in characters.
pub const MAX_LENGTH: usize = 128;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Whether `password` matches the PHC string `stored`. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Spend the same time as a real verification, for logins of unknown users,
/// so response time does not reveal whether an account exists.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("carebook-timing-equaliser").expect("hashing works"));
    let _ = verify(password, stored);
}

/// The 10,000 most common passwords (`data/common-passwords.txt`), lower-case.
fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static LIST: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| include_str!("../../data/common-passwords.txt").lines().collect())
}

/// Check a new password against the rules (NIST SP 800-63B §5.1.1.2): 8 to
/// 128 characters of any kind, not one of the 10,000 most common passwords,
/// not equal to `personal` values (username, email, phone); no composition
/// rules. Errors: the message for the `password` field.
pub fn check_rules(password: &str, personal: &[&str]) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!("must be at least {MIN_LENGTH} characters"));
    }
    if length > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} characters"));
    }
    let lowered = password.to_lowercase();
    if personal.iter().any(|p| !p.is_empty() && lowered == p.to_lowercase()) {
        return Err("must not be the same as the username, email or phone".into());
    }
    if common_passwords().contains(lowered.as_str()) {
        return Err("is one of the most commonly used passwords; choose another".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_carry_their_parameters() {
        let stored = hash("correct horse battery staple").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery staple", &stored));
        assert!(!verify("wrong", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn rules_are_about_length_and_personal_data_only() {
        assert!(check_rules("short", &[]).is_err());
        assert!(check_rules(&"x".repeat(129), &[]).is_err());
        assert!(check_rules("rahim.uddin", &["rahim.uddin"]).is_err());
        assert!(check_rules("no digits or symbols", &["rahim"]).is_ok());
        assert!(check_rules("পাসওয়ার্ড১২৩৪", &[]).is_ok(), "any characters");
        assert_eq!(common_passwords().len(), 10_000);
        for common in ["password1", "PASSWORD1", "qwertyuiop", "iloveyou"] {
            assert!(check_rules(common, &[]).is_err(), "{common} is common");
        }
    }
}
