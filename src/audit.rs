//! The audit trail (HIPAA 45 CFR 164.312(b)): who did or tried what, to
//! which object, when, from where, with what outcome — never the data itself.
//!
//! The access check ([`crate::api::access`]) runs every request inside
//! [`scope`] and, once the response is known, appends one event for every
//! write, every read of patient data and every denied attempt. The policy
//! ([`crate::auth::policy::authorize_object`]) notes the patient an object
//! belongs to and whether it refused, so events name the patient whose data
//! was touched and hidden objects (404) count as denials.

use std::cell::RefCell;
use std::future::Future;

use uuid::Uuid;

/// What the policy learnt while the request ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Note {
    /// The patient whose data an object decision was about (the last one).
    pub patient_id: Option<Uuid>,
    /// Whether an object decision refused (403, or 404 for a hidden object).
    pub denied: bool,
}

tokio::task_local! {
    static NOTE: RefCell<Note>;
}

/// Run `future` collecting a [`Note`].
pub async fn scope<F: Future>(future: F) -> (F::Output, Note) {
    NOTE.scope(RefCell::new(Note::default()), async {
        let output = future.await;
        let note = NOTE.with(|n| *n.borrow());
        (output, note)
    })
    .await
}

/// Note an object decision (no-op outside [`scope`]).
pub fn note(patient_id: Option<Uuid>, denied: bool) {
    let _ = NOTE.try_with(|n| {
        let mut n = n.borrow_mut();
        if patient_id.is_some() {
            n.patient_id = patient_id;
        }
        n.denied |= denied;
    });
}

/// The type of object a route is about, singular snake case:
/// `appointments` → `appointment`, `working-hours` → `working_hours`.
pub fn singular(segment: &str) -> String {
    let s = segment.replace('-', "_");
    match s.as_str() {
        "working_hours" | "time_off" | "availability" | "history" | "login_activity" | "access" => s,
        x if x.ends_with("ies") => format!("{}y", &x[..x.len() - 3]),
        x if x.ends_with('s') => x[..x.len() - 1].to_owned(),
        _ => s,
    }
}

/// The object of a request: its type and id, from the route template
/// (`/api/v1/appointments/{id}/cancel`), the concrete path and, for
/// creations, the `Location` of the response.
pub fn object_of(route: &str, path: &str, location: Option<&str>) -> (Option<String>, Option<String>) {
    let template: Vec<&str> = route.trim_matches('/').split('/').collect();
    let concrete: Vec<&str> = path.trim_matches('/').split('/').collect();
    let last_static = template.iter().rev().find(|s| !s.starts_with('{') && !s.is_empty());
    if let Some(location) = location {
        let id = location.rsplit('/').next().filter(|s| !s.is_empty()).map(str::to_owned);
        return (last_static.map(|s| singular(s)), id);
    }
    let last_param = template.iter().rposition(|s| s.starts_with('{'));
    match last_param {
        Some(i) if i > 0 && concrete.len() == template.len() => {
            let id = concrete[i];
            // Identifiers are UUIDs or setting keys; anything else is not an object id.
            let id = (id.len() <= 100).then(|| id.to_owned());
            (Some(singular(template[i - 1])), id)
        }
        _ => (last_static.map(|s| singular(s)), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_come_from_the_route() {
        let id = "0b7a4c2e-0000-4000-8000-000000000001";
        assert_eq!(
            object_of(
                "/api/v1/appointments/{id}/cancel",
                &format!("/api/v1/appointments/{id}/cancel"),
                None
            ),
            (Some("appointment".into()), Some(id.into()))
        );
        assert_eq!(
            object_of(
                "/api/v1/doctors/{doctor_id}/working-hours/{id}",
                &format!("/api/v1/doctors/x/working-hours/{id}"),
                None
            ),
            (Some("working_hours".into()), Some(id.into()))
        );
        assert_eq!(
            object_of(
                "/api/v1/patients",
                "/api/v1/patients",
                Some(&format!("/api/v1/patients/{id}"))
            ),
            (Some("patient".into()), Some(id.into()))
        );
        assert_eq!(
            object_of("/api/v1/patients", "/api/v1/patients", None),
            (Some("patient".into()), None)
        );
        assert_eq!(
            object_of("/api/v1/settings/{key}", "/api/v1/settings/booking.horizon_days", None),
            (Some("setting".into()), Some("booking.horizon_days".into()))
        );
        assert_eq!(singular("specialties"), "specialty");
        assert_eq!(singular("role-change-requests"), "role_change_request");
    }

    #[tokio::test]
    async fn notes_are_collected_per_scope() {
        let patient = Uuid::from_u128(7);
        let ((), noted) = scope(async move {
            note(Some(patient), false);
            note(None, true);
        })
        .await;
        assert_eq!(
            noted,
            Note {
                patient_id: Some(patient),
                denied: true
            }
        );
        note(Some(patient), true); // outside a scope: ignored
    }
}
