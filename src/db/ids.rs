//! Deterministic ids (UUID v5, RFC 9562) for data that must have the same id
//! on every installation: shipped geography and the demo clinic.

use uuid::Uuid;

/// Namespace of all Carebook name-based ids (UUID v5 of `https://carebook.dev/ids` in the URL namespace).
pub fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://carebook.dev/ids")
}

/// Id of a shipped Bangladesh location: `kind` is division, district or upazila, `code` the bd-geo id.
pub fn bd_geo(kind: &str, code: &str) -> Uuid {
    Uuid::new_v5(&namespace(), format!("bd-geo/{kind}/{code}").as_bytes())
}

/// Id of a demo-clinic object, e.g. `demo("doctor", 7)`.
pub fn demo(kind: &str, n: impl std::fmt::Display) -> Uuid {
    Uuid::new_v5(&namespace(), format!("demo/{kind}/{n}").as_bytes())
}
