//! Errors as FHIR `OperationOutcome`s (FHIR R4 §2.36): under `/fhir` every
//! problem document the rest of the server produces is rewritten into one,
//! with the same HTTP status, the issue code of that status, the detail as
//! `diagnostics`, the rule as a `details` coding and the fields named as
//! `expression`.

use serde_json::{Value, json};

use crate::error::Problem;

/// The `IssueType` code (http://hl7.org/fhir/issue-type) of an HTTP status.
pub fn issue_code(status: u16) -> &'static str {
    match status {
        400 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 | 410 => "not-found",
        405 | 406 | 415 => "not-supported",
        408 => "timeout",
        409 | 412 => "conflict",
        413 => "too-long",
        422 => "business-rule",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    }
}

/// The `OperationOutcome` of a problem document: one `error` issue (`fatal`
/// for server errors), naming the rule (`urn:carebook:problem`) and the
/// fields, never anything the problem did not already say.
pub fn from_problem(problem: &Problem) -> Value {
    let severity = if problem.status >= 500 { "fatal" } else { "error" };
    let mut issue = json!({
        "severity": severity,
        "code": issue_code(problem.status),
    });
    // The rule, or the problem type's own name (`urn:carebook:problem:<name>`).
    let rule = problem.rule.clone().or_else(|| {
        problem
            .type_uri
            .strip_prefix("urn:carebook:problem:")
            .map(str::to_owned)
    });
    issue["details"] = match rule {
        Some(rule) => json!({"coding": [{"system": "urn:carebook:problem", "code": rule}], "text": problem.title}),
        None => json!({"text": problem.title}),
    };
    let mut diagnostics = problem.detail.clone().unwrap_or_default();
    for (field, messages) in &problem.errors {
        for message in messages {
            if diagnostics.contains(message.as_str()) {
                continue;
            }
            if !diagnostics.is_empty() {
                diagnostics.push_str("; ");
            }
            diagnostics.push_str(&format!("{field}: {message}"));
        }
    }
    if !diagnostics.is_empty() {
        issue["diagnostics"] = Value::String(diagnostics);
    }
    let fields: Vec<&String> = problem.errors.keys().collect();
    if !fields.is_empty() {
        issue["expression"] = json!(fields);
    }
    json!({"resourceType": "OperationOutcome", "issue": [issue]})
}

/// An `OperationOutcome` of one issue.
pub fn issue(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn a_problem_keeps_its_status_meaning_rule_and_fields() {
        let problem = AppError::bad_field("birthdate", "not a date").to_problem();
        let outcome = from_problem(&problem);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["code"], "invalid");
        assert_eq!(outcome["issue"][0]["expression"][0], "birthdate");
        assert!(
            outcome["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("not a date")
        );
        let conflict = AppError::conflict("doctor_unavailable", "taken").to_problem();
        let outcome = from_problem(&conflict);
        assert_eq!(outcome["issue"][0]["code"], "conflict");
        assert_eq!(
            outcome["issue"][0]["details"]["coding"][0]["code"],
            "doctor_unavailable"
        );
        assert_eq!(issue_code(500), "exception");
        // A plain 404 says so once, with no made-up rule.
        let missing = from_problem(&AppError::NotFound("appointment").to_problem());
        assert_eq!(missing["issue"][0]["diagnostics"], "appointment not found");
        assert!(missing["issue"][0]["details"].get("coding").is_none());
        // A field's message is not said twice.
        let once = from_problem(&AppError::bad_field("colour", "not supported").to_problem());
        let text = once["issue"][0]["diagnostics"].as_str().unwrap();
        assert_eq!(text.matches("not supported").count(), 1, "{text}");
    }
}
