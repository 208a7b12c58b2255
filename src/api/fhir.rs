//! The FHIR R4 face over HTTP (`/fhir/R4`, `application/fhir+json`): each
//! route is in the OpenAPI document with its access declaration, like every
//! other, and the CapabilityStatement at `/fhir/R4/metadata` is written from
//! those same routes (resources, interactions, search parameters). Errors
//! are `OperationOutcome`s ([`outcomes`]), never problem documents.

use axum::Extension;
use axum::body::{Body, to_bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::IntoResponses;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::ParameterIn;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::access::PUBLIC;
use super::extract::ApiPath;
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::Paged;
use crate::error::{AppResult, Problem};
use crate::fhir::resources::{self, APPOINTMENT_SEARCH, PATIENT_SEARCH, PRACTITIONER_SEARCH};
use crate::fhir::scheduling::{self, FIND_PARAMETERS, SCHEDULE_SEARCH, SLOT_SEARCH};
use crate::fhir::search::{self, Params};
use crate::fhir::{BASE, FHIR_JSON, FHIR_VERSION, outcome};
use crate::fhir::{clinical, directory};
use crate::state::AppState;

/// A FHIR resource or Bundle (FHIR R4 JSON).
type Resource = Value;

/// The body of `$hold` and `$book`: a FHIR `Parameters` resource
/// (`appointment-reference`, `appt-resource`, `patient-reference`), or an
/// `Appointment`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_snake_case)]
pub struct OperationIn {
    /// `Parameters` or `Appointment`.
    #[schema(pattern = "^(Parameters|Appointment)$")]
    resourceType: String,
    /// The parameters, each with its `name` and `valueReference` or `resource`.
    parameter: Option<Vec<serde_json::Map<String, Value>>>,
}

/// Errors of the FHIR face, each an `OperationOutcome` (`application/fhir+json`).
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum FhirErrors {
    /// A malformed or unsupported search parameter (`issue.expression` names it).
    #[response(status = 400, content_type = "application/fhir+json")]
    BadRequest(Resource),
    /// No valid access token.
    #[response(status = 401, content_type = "application/fhir+json")]
    Unauthorized(Resource),
    /// The role may not do this.
    #[response(status = 403, content_type = "application/fhir+json")]
    Forbidden(Resource),
    /// No such resource (or type), or one the caller may not see.
    #[response(status = 404, content_type = "application/fhir+json")]
    NotFound(Resource),
    /// The request was not received and answered in time.
    #[response(status = 408, content_type = "application/fhir+json")]
    RequestTimeout(Resource),
    /// A value breaks a rule.
    #[response(status = 422, content_type = "application/fhir+json")]
    Unprocessable(Resource),
    /// Too many requests from this client address.
    #[response(status = 429, content_type = "application/fhir+json")]
    TooManyRequests(Resource),
    /// The database is not available.
    #[response(status = 503, content_type = "application/fhir+json")]
    Unavailable(Resource),
}

/// Routes of the FHIR face.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(metadata))
        .routes(routes!(search_patient))
        .routes(routes!(read_patient))
        .routes(routes!(search_practitioner))
        .routes(routes!(read_practitioner))
        .routes(routes!(search_appointment))
        .routes(routes!(read_appointment))
        .routes(routes!(search_schedule))
        .routes(routes!(read_schedule))
        .routes(routes!(search_slot))
        .routes(routes!(find))
        .routes(routes!(hold))
        .routes(routes!(book))
        .routes(routes!(search_location))
        .routes(routes!(read_location))
        .routes(routes!(search_organization))
        .routes(routes!(read_organization))
        .routes(routes!(search_healthcare_service))
        .routes(routes!(read_healthcare_service))
        .routes(routes!(search_practitioner_role))
        .routes(routes!(read_practitioner_role))
        .routes(routes!(search_encounter))
        .routes(routes!(read_encounter))
        .routes(routes!(search_observation))
        .routes(routes!(read_observation))
        .routes(routes!(search_condition))
        .routes(routes!(read_condition))
        .routes(routes!(search_medication_request))
        .routes(routes!(read_medication_request))
}

/// A FHIR JSON answer.
pub fn fhir(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))], bytes).into_response()
}

fn bundle_of(state: &AppState, kind: &str, params: &Params, found: Paged<Value>) -> Response {
    let base = base_url(state);
    fhir(
        StatusCode::OK,
        &search::searchset(&base, kind, params, found.count, found.rows),
    )
}

/// The absolute (with `CAREBOOK_PUBLIC_URL`) or root-relative FHIR base.
fn base_url(state: &AppState) -> String {
    let origin = state.config.public_url.as_deref().unwrap_or("").trim_end_matches('/');
    format!("{origin}{BASE}")
}

/// Rewrite every problem document answered under `/fhir` into an
/// `OperationOutcome` with the same status (FHIR R4 §3.1.0.4): the access
/// check's 401/403, unknown resource types' 404, 405, 413, 429 and 503
/// included.
pub async fn outcomes(request: Request, next: Next) -> Response {
    let under_fhir = request.uri().path().starts_with("/fhir/") || request.uri().path() == "/fhir";
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !under_fhir || !is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let outcome = match serde_json::from_slice::<Problem>(&bytes) {
        Ok(problem) => outcome::from_problem(&problem),
        Err(_) => outcome::issue(
            "error",
            outcome::issue_code(parts.status.as_u16()),
            "the request failed",
        ),
    };
    let body = serde_json::to_vec(&outcome).unwrap_or_default();
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// The server's CapabilityStatement (FHIR R4), written from the routes.
#[utoipa::path(get, path = "/fhir/R4/metadata", tag = "fhir",
    responses((status = 200, description = "The CapabilityStatement: every resource, interaction, search parameter and operation served", body = Resource, content_type = "application/fhir+json"), FhirErrors),
    extensions(("x-access" = json!(PUBLIC))))]
pub async fn metadata(
    Extension(capability): Extension<std::sync::Arc<Capability>>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    Params::parse(query.as_deref(), &[])?;
    Ok((
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        capability.0.clone(),
    )
        .into_response())
}

/// The CapabilityStatement, serialised once when the application is built
/// (from the same OpenAPI document the node serves), dated that day.
pub struct Capability(axum::body::Bytes);

impl Capability {
    /// The CapabilityStatement of `api`'s FHIR routes, for `state`'s public URL.
    pub fn of(api: &OpenApi, state: &AppState) -> Capability {
        let today = state.clock.now().format("%Y-%m-%d").to_string();
        let statement = capability_statement(api, &base_url(state), &today);
        Capability(axum::body::Bytes::from(
            serde_json::to_vec(&statement).unwrap_or_default(),
        ))
    }
}

/// The CapabilityStatement of the FHIR routes in `api`: a resource per
/// `/fhir/R4/{Type}` path, `read` for `/{id}`, `search-type` with the
/// documented query parameters for the type's path, an operation per `$name`.
pub fn capability_statement(api: &OpenApi, base: &str, date: &str) -> Value {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Kind {
        read: bool,
        search: Vec<(String, String)>,
        operations: Vec<String>,
    }
    let prefix = format!("{BASE}/");
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    for (path, item) in &api.paths.paths {
        let Some(rest) = path.strip_prefix(&prefix) else {
            continue;
        };
        let mut segments = rest.split('/');
        let kind = segments.next().unwrap_or_default();
        if kind == "metadata" || !kind.starts_with(|c: char| c.is_ascii_uppercase()) {
            continue;
        }
        let entry = kinds.entry(kind.to_owned()).or_default();
        match segments.next() {
            Some("{id}") => entry.read = true,
            Some(op) if op.starts_with('$') => entry.operations.push(op.trim_start_matches('$').to_owned()),
            Some(_) => {}
            None => {
                let Some(get) = &item.get else { continue };
                for parameter in get.parameters.iter().flatten() {
                    let utoipa::openapi::RefOr::T(parameter) = parameter else {
                        continue;
                    };
                    if parameter.parameter_in == ParameterIn::Query
                        && !search::COMMON.contains(&parameter.name.as_str())
                    {
                        let kind = if ["date", "birthdate", "start"].contains(&parameter.name.as_str()) {
                            "date"
                        } else if ["patient", "practitioner", "location", "schedule", "actor"]
                            .contains(&parameter.name.as_str())
                        {
                            "reference"
                        } else if ["_id", "identifier", "status", "active"].contains(&parameter.name.as_str()) {
                            "token"
                        } else {
                            "string"
                        };
                        entry.search.push((parameter.name.clone(), kind.to_owned()));
                    }
                }
            }
        }
    }
    let resources: Vec<Value> = kinds
        .into_iter()
        .map(|(kind, found)| {
            let mut interactions = Vec::new();
            if found.read {
                interactions.push(json!({"code": "read"}));
            }
            if !found.search.is_empty() {
                interactions.push(json!({"code": "search-type"}));
            }
            let mut resource = json!({"type": kind, "interaction": interactions});
            if !found.search.is_empty() {
                resource["searchParam"] = found
                    .search
                    .iter()
                    .map(|(name, kind)| json!({"name": name, "type": kind}))
                    .collect();
            }
            if !found.operations.is_empty() {
                resource["operation"] = found
                    .operations
                    .iter()
                    .map(|op| json!({"name": op, "definition": format!("{base}/OperationDefinition/Appointment-{op}")}))
                    .collect();
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": "Carebook", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Carebook FHIR R4 face", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "OAuth"}]}],
                "description": "Bearer tokens from POST /api/v1/auth/login; the same policy as the REST API decides every read.",
            },
            "resource": resources,
        }],
    })
}

/// A read and a search handler of one resource type, documented alike: the
/// search's parameters from `$params` (which the CapabilityStatement reads),
/// both guarded by `$action`.
macro_rules! read_and_search {
    (
        $kind:literal, $search_path:literal, $read_path:literal, $action:expr, $params:ty, $id:ty,
        $search_fn:ident => |$state:ident, $actor:ident, $query:ident| $search:expr,
        $read_fn:ident => |$rstate:ident, $ractor:ident, $rid:ident| $read:expr $(,)?
    ) => {
        #[doc = concat!("Search ", $kind, " resources (searchset Bundle).")]
        #[utoipa::path(get, path = $search_path, tag = "fhir", params($params),
            responses((status = 200, description = concat!("A searchset Bundle of ", $kind), body = Resource, content_type = "application/fhir+json"), FhirErrors),
            security(("bearer" = [])), extensions(("x-access" = json!($action))))]
        pub async fn $search_fn(State($state): State<AppState>, $actor: Actor, RawQuery(query): RawQuery) -> AppResult<Response> {
            let $query = Params::parse(query.as_deref(), <$params>::SUPPORTED)?;
            let found = $search;
            Ok(bundle_of(&$state, $kind, &$query, found.await?))
        }

        #[doc = concat!("Read a ", $kind, "; 404 also for one the caller may not see.")]
        #[utoipa::path(get, path = $read_path, tag = "fhir", params(("id" = $id, Path, description = concat!("The ", $kind, " id"))),
            responses((status = 200, description = concat!("The ", $kind), body = Resource, content_type = "application/fhir+json"), FhirErrors),
            security(("bearer" = [])), extensions(("x-access" = json!($action))))]
        pub async fn $read_fn(State($rstate): State<AppState>, $ractor: Actor, ApiPath($rid): ApiPath<$id>) -> AppResult<Response> {
            let found = $read;
            Ok(fhir(StatusCode::OK, &found.await?))
        }
    };
}

/// Documentation of search parameters: a struct per resource type, its
/// `SUPPORTED` names the parser accepts, and the common paging parameters.
macro_rules! search_params {
    ($name:ident, $supported:expr, { $($(#[$meta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        #[doc = "Search parameters, for the document."]
        #[derive(utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        #[allow(dead_code)]
        pub struct $name {
            $($(#[$meta])* $field: $ty,)*
            /// Results per page, 1–100 (default 20).
            #[param(minimum = 1, maximum = 100)]
            _count: Option<u32>,
            /// Page, from 1.
            #[param(minimum = 1, maximum = 100000)]
            _page: Option<u32>,
            /// `lenient` ignores unsupported parameters instead of answering 400.
            #[param(pattern = "^(strict|lenient)$")]
            handling: Option<String>,
        }

        impl $name {
            /// The parameters the search accepts.
            pub const SUPPORTED: &'static [&'static str] = $supported;
        }
    };
}

search_params!(PatientSearch, PATIENT_SEARCH, {
    /// A Patient id.
    #[param(pattern = "^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// A medical record number: `value`, or `urn:carebook:medical-record-number|value`.
    identifier: Option<String>,
    /// Text in the given or family name.
    name: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    birthdate: Option<chrono::NaiveDate>,
    /// Text in the phone number.
    phone: Option<String>,
});

read_and_search!("Patient", "/fhir/R4/Patient", "/fhir/R4/Patient/{id}", Action::PatientRead, PatientSearch, Uuid,
    search_patient => |state, actor, params| resources::search_patients(&state, &actor, &params),
    read_patient => |state, actor, id| resources::read_patient(&state, &actor, id),
);

search_params!(PractitionerSearch, PRACTITIONER_SEARCH, {
    /// A Practitioner id (the REST doctor id).
    #[param(pattern = "^(Practitioner/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// A licence number: `value`, or `urn:carebook:licence-number|value`.
    identifier: Option<String>,
    /// Text in the name (also matches specialty and facility).
    name: Option<String>,
    /// `true` or `false`.
    active: Option<bool>,
});

read_and_search!("Practitioner", "/fhir/R4/Practitioner", "/fhir/R4/Practitioner/{id}", Action::DirectoryRead, PractitionerSearch, Uuid,
    search_practitioner => |state, _actor, params| resources::search_practitioners(&state, &params),
    read_practitioner => |state, _actor, id| resources::read_practitioner(&state, id),
);

search_params!(AppointmentSearch, APPOINTMENT_SEARCH, {
    /// An Appointment id.
    #[param(pattern = "^(Appointment/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// `Patient/{id}` or an id.
    #[param(pattern = "^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    patient: Option<String>,
    /// `Practitioner/{id}` or an id.
    #[param(pattern = "^(Practitioner/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    practitioner: Option<String>,
    /// `[eq|ge|gt|le|lt]` then `YYYY-MM-DD` or an RFC 3339 instant; repeat for a range.
    #[param(pattern = "^(eq|ge|gt|le|lt)?[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$")]
    date: Option<String>,
    /// pending, booked, checked-in, arrived, fulfilled, cancelled or noshow (comma-separated for several).
    #[param(pattern = "^(pending|booked|checked-in|arrived|fulfilled|cancelled|noshow)(,(pending|booked|checked-in|arrived|fulfilled|cancelled|noshow))*$")]
    status: Option<String>,
    /// `Location/{id}` (a facility) or an id.
    #[param(pattern = "^(Location/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    location: Option<String>,
});

read_and_search!("Appointment", "/fhir/R4/Appointment", "/fhir/R4/Appointment/{id}", Action::AppointmentRead, AppointmentSearch, Uuid,
    search_appointment => |state, actor, params| resources::search_appointments(&state, &actor, &params),
    read_appointment => |state, actor, id| resources::read_appointment(&state, &actor, id),
);

/// A FHIR JSON request body (`application/fhir+json` or `application/json`).
pub struct FhirBody(pub Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for FhirBody {
    type Rejection = crate::error::AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        use crate::error::AppError;
        let json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .is_some_and(|v| v == FHIR_JSON || v == "application/json");
        if !json {
            return Err(AppError::UnsupportedMediaType("send application/fhir+json".into()));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| AppError::bad_field("body", "could not be read"))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| AppError::bad_field("body", "is not JSON"))?;
        if !value.is_object() {
            return Err(AppError::bad_field("body", "must be a JSON object (a FHIR resource)"));
        }
        Ok(FhirBody(value))
    }
}

/// A Bundle of one operation's result (ITI-116/117 answer with a searchset
/// Bundle), with `outcome` as an extra entry when given.
fn operation_bundle(state: &AppState, resource: Value, outcome: Option<Value>) -> Response {
    let base = base_url(state);
    let mut bundle = search::bundle(&base, 1, Vec::new(), vec![resource]);
    if let Some(outcome) = outcome
        && let Some(entries) = bundle["entry"].as_array_mut()
    {
        entries.push(json!({"resource": outcome, "search": {"mode": "outcome"}}));
    }
    fhir(StatusCode::OK, &bundle)
}

search_params!(ScheduleSearch, SCHEDULE_SEARCH, {
    /// A Schedule id (`{doctor}.{facility}`, base 62).
    _id: Option<String>,
    /// `Practitioner/{id}` or `Location/{id}` (repeat for both).
    #[param(pattern = "^(Practitioner|Location)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    actor: Option<String>,
    /// A service the doctor offers: `urn:carebook:service|{id}` or the id.
    #[param(rename = "service-type", pattern = "^(urn:carebook:service\\|)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    service_type: Option<String>,
    /// A specialty code (`urn:carebook:specialty|CARD` or `CARD`), id or name.
    specialty: Option<String>,
    /// `true`: doctors taking bookings.
    active: Option<bool>,
});

read_and_search!("Schedule", "/fhir/R4/Schedule", "/fhir/R4/Schedule/{id}", Action::AvailabilityRead, ScheduleSearch, String,
    search_schedule => |state, _actor, params| scheduling::search_schedules(&state, &params),
    read_schedule => |state, _actor, id| scheduling::read_schedule(&state, &id),
);

search_params!(SlotSearch, SLOT_SEARCH, {
    /// `Schedule/{id}` (required).
    schedule: String,
    /// `ge{instant}` and `lt{instant}` (or dates), at most 31 days apart; a missing side is 7 days from the other, both missing the next 7 days.
    #[param(
        pattern = "^(ge|lt)[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    start: Option<Vec<String>>,
    /// `free`, `busy` or `free,busy` (default both).
    #[param(pattern = "^(free|busy)(,(free|busy))?$")]
    status: Option<String>,
    /// `Slot:schedule` adds the Schedule to the Bundle.
    #[param(pattern = "^Slot:schedule$")]
    _include: Option<String>,
});

/// Search Slots of a Schedule, computed from working hours, time off and
/// appointments (never stored; the ids are stable: schedule and start).
#[utoipa::path(get, path = "/fhir/R4/Slot", tag = "fhir", params(SlotSearch),
    responses((status = 200, description = "A searchset Bundle of Slots (and the Schedule with _include)", body = Resource, content_type = "application/fhir+json"), FhirErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AvailabilityRead))))]
pub async fn search_slot(State(state): State<AppState>, RawQuery(query): RawQuery) -> AppResult<Response> {
    let params = Params::parse(query.as_deref(), SlotSearch::SUPPORTED)?;
    let (found, included) = scheduling::search_slots(&state, &params).await?;
    let base = base_url(&state);
    let mut bundle = search::searchset(&base, "Slot", &params, found.count, found.rows);
    if !included.is_empty() {
        let extra = included.into_iter().map(|resource| {
            let url = format!("{base}/Schedule/{}", resource["id"].as_str().unwrap_or_default());
            json!({"fullUrl": url, "resource": resource, "search": {"mode": "include"}})
        });
        match bundle["entry"].as_array_mut() {
            Some(entries) => entries.extend(extra),
            None => bundle["entry"] = Value::Array(extra.collect()),
        }
    }
    Ok(fhir(StatusCode::OK, &bundle))
}

search_params!(FindParameters, FIND_PARAMETERS, {
    /// From: a date or an RFC 3339 instant.
    #[param(
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    start: String,
    /// Until (a date includes its whole day), at most 31 days after `start`.
    #[param(
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"
    )]
    end: String,
    /// A specialty code, id or name.
    specialty: Option<String>,
    /// `Practitioner/{id}`.
    #[param(pattern = "^(Practitioner/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    practitioner: Option<String>,
    /// `Location/{id}` (a facility).
    #[param(
        rename = "location-reference",
        pattern = "^(Location/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    location_reference: Option<String>,
    /// A service id (`urn:carebook:service|{id}`): proposals long enough for it, with doctors who offer it.
    #[param(
        rename = "visit-type",
        pattern = "^(urn:carebook:service\\|)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    visit_type: Option<String>,
    /// `Patient/{id}`: named as a participant of each proposal.
    #[param(
        rename = "patient-reference",
        pattern = "^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    patient_reference: Option<String>,
});

/// `$find` (IHE ITI-115): free appointments as proposed Appointments (ids
/// to `$hold` or `$book`), in a searchset Bundle.
#[utoipa::path(get, path = "/fhir/R4/Appointment/$find", tag = "fhir", params(FindParameters),
    responses((status = 200, description = "A searchset Bundle of proposed Appointments", body = Resource, content_type = "application/fhir+json"), FhirErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AvailabilityRead))))]
pub async fn find(State(state): State<AppState>, RawQuery(query): RawQuery) -> AppResult<Response> {
    let params = Params::parse(query.as_deref(), FindParameters::SUPPORTED)?;
    let found = scheduling::find(&state, &params).await?;
    let base = base_url(&state);
    // Proposals are not stored: their Bundle links point back at $find.
    let mut bundle = search::searchset(&base, "Appointment/$find", &params, found.count, found.rows);
    for entry in bundle["entry"].as_array_mut().into_iter().flatten() {
        if let Some(object) = entry.as_object_mut() {
            object.remove("fullUrl");
        }
    }
    Ok(fhir(StatusCode::OK, &bundle))
}

/// `$hold` (IHE ITI-116): hold a proposed Appointment for
/// `booking.hold_minutes`. Body: `Parameters` with `appointment-reference`
/// (a proposal from `$find`) and, for staff, `patient-reference`. Answer: a
/// searchset Bundle with the `pending` Appointment and an information
/// OperationOutcome giving the expiry.
#[utoipa::path(post, path = "/fhir/R4/Appointment/$hold", tag = "fhir",
    request_body(content = OperationIn, content_type = "application/fhir+json", description = "A Parameters resource (or an Appointment)"),
    responses((status = 200, description = "The held Appointment in a searchset Bundle", body = Resource, content_type = "application/fhir+json"),
              (status = 409, description = "The time is taken", body = Resource, content_type = "application/fhir+json"),
              (status = 415, description = "Not FHIR JSON", body = Resource, content_type = "application/fhir+json"), FhirErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentCreate))))]
pub async fn hold(State(state): State<AppState>, actor: Actor, FhirBody(body): FhirBody) -> AppResult<Response> {
    let request = scheduling::Request::parse(&body)?;
    let (held, expires_at) = scheduling::hold(&state, &actor, &request).await?;
    let until = expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let note = outcome::issue("information", "informational", &format!("held until {until}"));
    Ok(operation_bundle(&state, held, Some(note)))
}

/// `$book` (IHE ITI-117): book a proposed Appointment or a hold, or change
/// a booked one (`status: cancelled` cancels, another `start` moves it).
/// Body: `Parameters` with `appointment-reference`, `appt-resource` and, for
/// staff, `patient-reference`. A retry answers the appointment it made.
#[utoipa::path(post, path = "/fhir/R4/Appointment/$book", tag = "fhir",
    request_body(content = OperationIn, content_type = "application/fhir+json", description = "A Parameters resource (or an Appointment)"),
    responses((status = 200, description = "The booked Appointment in a searchset Bundle", body = Resource, content_type = "application/fhir+json"),
              (status = 409, description = "The time is taken, or the change is not allowed now", body = Resource, content_type = "application/fhir+json"),
              (status = 415, description = "Not FHIR JSON", body = Resource, content_type = "application/fhir+json"), FhirErrors),
    security(("bearer" = [])), extensions(("x-access" = json!(Action::AppointmentCreate))))]
pub async fn book(State(state): State<AppState>, actor: Actor, FhirBody(body): FhirBody) -> AppResult<Response> {
    let request = scheduling::Request::parse(&body)?;
    let booked = scheduling::book(&state, &actor, &request).await?;
    Ok(operation_bundle(&state, booked, None))
}

search_params!(LocationSearch, directory::LOCATION_SEARCH, {
    /// A Location id.
    #[param(pattern = "^(Location/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// Text in the name (English or Bengali).
    name: Option<String>,
    /// `Location/{id}`: the facilities and areas directly under it.
    #[param(pattern = "^(Location/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    partof: Option<String>,
});

read_and_search!("Location", "/fhir/R4/Location", "/fhir/R4/Location/{id}", Action::DirectoryRead, LocationSearch, Uuid,
    search_location => |state, _actor, params| directory::search_locations(&state, &params),
    read_location => |state, _actor, id| directory::read_location(&state, id),
);

search_params!(OrganizationSearch, directory::ORGANIZATION_SEARCH, {
    /// An Organization id (a facility id).
    #[param(pattern = "^(Organization/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// Text in the name or address.
    name: Option<String>,
});

read_and_search!("Organization", "/fhir/R4/Organization", "/fhir/R4/Organization/{id}", Action::DirectoryRead, OrganizationSearch, Uuid,
    search_organization => |state, _actor, params| directory::search_organizations(&state, &params),
    read_organization => |state, _actor, id| directory::read_organization(&state, id),
);

search_params!(HealthcareServiceSearch, directory::SERVICE_SEARCH, {
    /// A HealthcareService id (a service id).
    #[param(pattern = "^(HealthcareService/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// Text in the name.
    name: Option<String>,
    /// A specialty code (`urn:carebook:specialty|CARD` or `CARD`), id or name.
    specialty: Option<String>,
    /// `true` or `false`.
    active: Option<bool>,
});

read_and_search!("HealthcareService", "/fhir/R4/HealthcareService", "/fhir/R4/HealthcareService/{id}", Action::DirectoryRead, HealthcareServiceSearch, Uuid,
    search_healthcare_service => |state, _actor, params| directory::search_services(&state, &params),
    read_healthcare_service => |state, _actor, id| directory::read_service(&state, id),
);

search_params!(PractitionerRoleSearch, directory::ROLE_SEARCH, {
    /// A PractitionerRole id (the doctor id).
    #[param(pattern = "^(PractitionerRole/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// A specialty code, id or name.
    specialty: Option<String>,
    /// `Location/{id}`: doctors working at this facility.
    #[param(pattern = "^(Location/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    location: Option<String>,
    /// `Practitioner/{id}`.
    #[param(pattern = "^(Practitioner/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    practitioner: Option<String>,
});

read_and_search!("PractitionerRole", "/fhir/R4/PractitionerRole", "/fhir/R4/PractitionerRole/{id}", Action::DirectoryRead, PractitionerRoleSearch, Uuid,
    search_practitioner_role => |state, _actor, params| directory::search_roles(&state, &params),
    read_practitioner_role => |state, _actor, id| directory::read_role(&state, id),
);

search_params!(EncounterSearch, clinical::ENCOUNTER_SEARCH, {
    /// An Encounter id (a consultation id).
    #[param(pattern = "^(Encounter/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    _id: Option<String>,
    /// `Patient/{id}`.
    #[param(pattern = "^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    patient: Option<String>,
    /// `Practitioner/{id}`.
    #[param(pattern = "^(Practitioner/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    practitioner: Option<String>,
    /// When it started: `[eq|ge|gt|le|lt]` then a date or an instant; repeat for a range.
    #[param(pattern = "^(eq|ge|gt|le|lt)?[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$")]
    date: Option<String>,
    /// in-progress, finished or entered-in-error (comma-separated for several).
    #[param(pattern = "^(in-progress|finished|entered-in-error)(,(in-progress|finished|entered-in-error))*$")]
    status: Option<String>,
});

read_and_search!("Encounter", "/fhir/R4/Encounter", "/fhir/R4/Encounter/{id}", Action::ClinicalRead, EncounterSearch, Uuid,
    search_encounter => |state, actor, params| clinical::search_encounters(&state, &actor, &params),
    read_encounter => |state, actor, id| clinical::read_encounter(&state, &actor, id),
);

search_params!(ObservationSearch, clinical::OBSERVATION_SEARCH, {
    /// `Patient/{id}` (required).
    #[param(pattern = "^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    patient: String,
    /// `vital-signs` (the only category served).
    category: Option<String>,
    /// A LOINC code (`http://loinc.org|8867-4` or `8867-4`; `85354-9` for blood pressure).
    code: Option<String>,
    /// `Encounter/{id}`.
    #[param(pattern = "^(Encounter/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    encounter: Option<String>,
});

read_and_search!("Observation", "/fhir/R4/Observation", "/fhir/R4/Observation/{id}", Action::ClinicalRead, ObservationSearch, String,
    search_observation => |state, actor, params| clinical::search_observations(&state, &actor, &params),
    read_observation => |state, actor, id| clinical::read_observation(&state, &actor, &id),
);

search_params!(ConditionSearch, clinical::CONDITION_SEARCH, {
    /// `Patient/{id}` (required).
    #[param(pattern = "^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    patient: String,
    /// An ICD-10-CM code (`http://hl7.org/fhir/sid/icd-10-cm|J45.909` or `J45.909`).
    code: Option<String>,
    /// `Encounter/{id}`.
    #[param(pattern = "^(Encounter/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    encounter: Option<String>,
    /// provisional, confirmed or entered-in-error.
    #[param(rename = "verification-status")]
    verification_status: Option<String>,
});

read_and_search!("Condition", "/fhir/R4/Condition", "/fhir/R4/Condition/{id}", Action::ClinicalRead, ConditionSearch, Uuid,
    search_condition => |state, actor, params| clinical::search_conditions(&state, &actor, &params),
    read_condition => |state, actor, id| clinical::read_condition(&state, &actor, id),
);

search_params!(MedicationRequestSearch, clinical::MEDICATION_REQUEST_SEARCH, {
    /// `Patient/{id}` (required).
    #[param(pattern = "^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    patient: String,
    /// active, completed, stopped or entered-in-error (comma-separated; default all but entered-in-error).
    #[param(pattern = "^(active|completed|stopped|entered-in-error)(,(active|completed|stopped|entered-in-error))*$")]
    status: Option<String>,
    /// `Encounter/{id}`.
    #[param(pattern = "^(Encounter/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    encounter: Option<String>,
});

read_and_search!("MedicationRequest", "/fhir/R4/MedicationRequest", "/fhir/R4/MedicationRequest/{id}", Action::ClinicalRead, MedicationRequestSearch, Uuid,
    search_medication_request => |state, actor, params| clinical::search_medication_requests(&state, &actor, &params),
    read_medication_request => |state, actor, id| clinical::read_medication_request(&state, &actor, id),
);
