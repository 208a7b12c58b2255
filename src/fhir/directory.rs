//! The directory as FHIR R4: facilities as `Location` and `Organization`
//! (same id), the administrative areas (division → district → upazila) as
//! `Location`s linked by `partOf`, services as `HealthcareService`, and each
//! doctor's role (specialty, facilities, services) as a `PractitionerRole`
//! whose id is the doctor's.

use serde_json::{Value, json};
use uuid::Uuid;

use super::search::{self, Params};
use crate::db::directory::{self, DoctorFilter, FacilityFilter, LocationFilter, ServiceFilter};
use crate::db::entities::{facility, location, service};
use crate::db::{PageRequest, Paged};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Search parameters of Location.
pub const LOCATION_SEARCH: &[&str] = &["_id", "name", "partof"];
/// Search parameters of Organization.
pub const ORGANIZATION_SEARCH: &[&str] = &["_id", "name"];
/// Search parameters of HealthcareService.
pub const SERVICE_SEARCH: &[&str] = &["_id", "name", "specialty", "active"];
/// Search parameters of PractitionerRole.
pub const ROLE_SEARCH: &[&str] = &["_id", "specialty", "location", "practitioner"];

/// Most rows a directory search reads before paging (the directory is small:
/// Bangladesh has 8 divisions, 64 districts and about 500 upazilas).
const ALL: PageRequest = PageRequest {
    page: 1,
    page_size: 5_000,
};

fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn specialty_concept(code: &str, name: &str) -> Value {
    json!({"coding": [{"system": "urn:carebook:specialty", "code": code, "display": name}], "text": name})
}

/// A facility as a `Location` (mode `instance`, type from v3 RoleCode).
pub fn facility_location(row: &facility::Model) -> Value {
    let role = match row.kind.as_str() {
        "hospital" => ("HOSP", "Hospital"),
        "diagnostic_centre" => ("DX", "Diagnostics or therapeutics unit"),
        _ => ("OUTPHYS", "outpatient facility"),
    };
    let mut out = json!({
        "resourceType": "Location",
        "id": row.id.to_string(),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "status": "active",
        "name": row.name,
        "mode": "instance",
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": role.0, "display": role.1}]}],
        "managingOrganization": {"reference": format!("Organization/{}", row.id), "display": row.name},
    });
    if let Some(phone) = &row.phone {
        out["telecom"] = json!([{"system": "phone", "value": phone}]);
    }
    if !row.address.trim().is_empty() {
        out["address"] = json!({"text": row.address});
    }
    if let Some(area) = row.location_id {
        out["partOf"] = json!({"reference": format!("Location/{area}")});
    }
    out
}

/// An administrative area as a `Location` (mode `kind`, physical type
/// jurisdiction), with its Bengali name as an alias.
pub fn area_location(row: &location::Model) -> Value {
    let mut out = json!({
        "resourceType": "Location",
        "id": row.id.to_string(),
        "identifier": [{"system": "urn:carebook:bd-geo", "value": row.code}],
        "status": "active",
        "name": row.name,
        "description": row.kind.as_str(),
        "mode": "kind",
        "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "jdn", "display": "Jurisdiction"}]},
    });
    if let Some(alias) = &row.bn_name {
        out["alias"] = json!([alias]);
    }
    if let Some(parent) = row.parent_id {
        out["partOf"] = json!({"reference": format!("Location/{parent}")});
    }
    if let (Some(latitude), Some(longitude)) = (row.latitude, row.longitude) {
        out["position"] = json!({"latitude": latitude, "longitude": longitude});
    }
    out
}

/// A facility as an `Organization` (type `prov`, healthcare provider).
pub fn organization(row: &facility::Model) -> Value {
    let mut out = json!({
        "resourceType": "Organization",
        "id": row.id.to_string(),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "active": true,
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider"}]}],
        "name": row.name,
    });
    if let Some(phone) = &row.phone {
        out["telecom"] = json!([{"system": "phone", "value": phone}]);
    }
    if !row.address.trim().is_empty() {
        out["address"] = json!([{"text": row.address}]);
    }
    out
}

/// A service as a `HealthcareService`: its specialty, and its length and
/// price in `comment` (price in the service's currency).
pub fn healthcare_service(row: &service::Model, specialty: Option<(&str, &str)>) -> Value {
    let price = crate::domain::Money {
        minor: row.price_minor,
        currency: crate::domain::Currency::parse(&row.currency).unwrap_or(crate::domain::Currency::BDT),
    };
    let mut out = json!({
        "resourceType": "HealthcareService",
        "id": row.id.to_string(),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "active": row.is_active,
        "name": row.name,
        "comment": format!("{} minutes, {} {}", row.duration_minutes, price, row.currency),
        "appointmentRequired": true,
    });
    if let Some((code, name)) = specialty {
        out["specialty"] = json!([specialty_concept(code, name)]);
    }
    out
}

/// The specialty a `specialty` token names (`system|code`, a code, an id
/// or a name); the nil id, which matches nothing, when none.
pub async fn specialty_id(state: &AppState, token: &str) -> AppResult<Uuid> {
    let key = token.split_once('|').map_or(token, |(_, code)| code);
    Ok(directory::find_specialty_by_key(state.db.conn(), key)
        .await?
        .map(|s| s.id)
        .unwrap_or(Uuid::nil()))
}

fn id_param(params: &Params, kind: &str) -> AppResult<Option<Uuid>> {
    params
        .get("_id")
        .map(|id| search::reference_id("_id", id, kind))
        .transpose()
}

/// A Location: a facility, else an administrative area. Errors: 404.
pub async fn read_location(state: &AppState, id: Uuid) -> AppResult<Value> {
    if let Some(row) = directory::find_facility(state.db.conn(), id).await? {
        return Ok(facility_location(&row));
    }
    directory::find_location(state.db.conn(), id)
        .await?
        .map(|row| area_location(&row))
        .ok_or(AppError::NotFound("location"))
}

/// Locations matching `params` ([`LOCATION_SEARCH`]): facilities first, then areas.
///
/// Errors: 400 naming a malformed parameter.
pub async fn search_locations(state: &AppState, params: &Params) -> AppResult<Paged<Value>> {
    let name = params.get("name").map(str::to_owned);
    let parent = params
        .get("partof")
        .map(|p| search::reference_id("partof", p, "Location"))
        .transpose()?;
    if let Some(id) = id_param(params, "Location")? {
        return Ok(match read_location(state, id).await {
            Ok(found) => params.page_of(vec![found]),
            Err(AppError::NotFound(_)) => params.page_of(Vec::new()),
            Err(other) => return Err(other),
        });
    }
    let db = state.db.conn();
    let facilities = directory::list_facilities(
        db,
        &FacilityFilter {
            location: parent,
            search: name.clone(),
        },
        &[],
        ALL,
    )
    .await?;
    let areas = directory::list_locations(
        db,
        &LocationFilter {
            parent,
            kind: None,
            search: name,
        },
        &[],
        ALL,
    )
    .await?;
    let all = facilities
        .rows
        .iter()
        // partof names the direct parent only.
        .filter(|f| parent.is_none() || f.location_id == parent)
        .map(facility_location)
        .chain(areas.rows.iter().map(area_location))
        .collect();
    Ok(params.page_of(all))
}

/// An Organization (a facility). Errors: 404.
pub async fn read_organization(state: &AppState, id: Uuid) -> AppResult<Value> {
    directory::find_facility(state.db.conn(), id)
        .await?
        .map(|row| organization(&row))
        .ok_or(AppError::NotFound("organization"))
}

/// Organizations matching `params` ([`ORGANIZATION_SEARCH`]).
pub async fn search_organizations(state: &AppState, params: &Params) -> AppResult<Paged<Value>> {
    if let Some(id) = id_param(params, "Organization")? {
        let found = directory::find_facility(state.db.conn(), id).await?;
        return Ok(params.page_of(found.iter().map(organization).collect()));
    }
    let filter = FacilityFilter {
        location: None,
        search: params.get("name").map(str::to_owned),
    };
    let found = directory::list_facilities(state.db.conn(), &filter, &[], params.page).await?;
    Ok(Paged {
        count: found.count,
        rows: found.rows.iter().map(organization).collect(),
    })
}

async fn with_specialties(state: &AppState, rows: &[service::Model]) -> AppResult<Vec<Value>> {
    let specialties = directory::list_specialties(state.db.conn(), None, &[], ALL).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let specialty = specialties
                .rows
                .iter()
                .find(|s| s.id == row.specialty_id)
                .map(|s| (s.code.as_str(), s.name.as_str()));
            healthcare_service(row, specialty)
        })
        .collect())
}

/// A HealthcareService (a service). Errors: 404.
pub async fn read_service(state: &AppState, id: Uuid) -> AppResult<Value> {
    let row = directory::find_service(state.db.conn(), id)
        .await?
        .ok_or(AppError::NotFound("healthcare service"))?;
    Ok(with_specialties(state, &[row]).await?.remove(0))
}

/// HealthcareServices matching `params` ([`SERVICE_SEARCH`]).
///
/// Errors: 400 naming a malformed parameter.
pub async fn search_services(state: &AppState, params: &Params) -> AppResult<Paged<Value>> {
    let mut filter = ServiceFilter {
        search: params.get("name").map(str::to_owned),
        ..ServiceFilter::default()
    };
    if let Some(token) = params.get("specialty") {
        filter.specialty = Some(specialty_id(state, token).await?);
    }
    filter.is_active = match params.get("active") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(AppError::bad_field("active", "must be true or false")),
    };
    if let Some(id) = id_param(params, "HealthcareService")? {
        let found = directory::find_service(state.db.conn(), id).await?;
        let rows: Vec<service::Model> = found.into_iter().collect();
        return Ok(params.page_of(with_specialties(state, &rows).await?));
    }
    let found = directory::list_services(state.db.conn(), &filter, &[], params.page).await?;
    Ok(Paged {
        count: found.count,
        rows: with_specialties(state, &found.rows).await?,
    })
}

/// The PractitionerRole of a doctor (same id): specialty, the facilities
/// of their profile and working hours, the services they offer.
fn practitioner_role(rules: &crate::db::schedules::DoctorRules) -> Value {
    let doctor = &rules.doctor;
    let mut facilities: Vec<Uuid> = vec![doctor.facility_id];
    for hours in &rules.working_hours {
        if !facilities.contains(&hours.facility_id) {
            facilities.push(hours.facility_id);
        }
    }
    let mut out = json!({
        "resourceType": "PractitionerRole",
        "id": doctor.id.to_string(),
        "meta": {"lastUpdated": instant(doctor.updated_at)},
        "active": doctor.is_active,
        "practitioner": {"reference": format!("Practitioner/{}", doctor.id),
                         "display": format!("Dr {} {}", doctor.first_name, doctor.last_name)},
        "organization": {"reference": format!("Organization/{}", doctor.facility_id), "display": doctor.facility_name},
        "code": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": "doctor", "display": "Doctor"}]}],
        "specialty": [specialty_concept(&doctor.specialty_code, &doctor.specialty_name)],
        "location": facilities.iter().map(|f| json!({"reference": format!("Location/{f}")})).collect::<Vec<_>>(),
    });
    let services: Vec<Value> = rules
        .services
        .iter()
        .filter(|s| s.is_active)
        .map(|s| json!({"reference": format!("HealthcareService/{}", s.id), "display": s.name}))
        .collect();
    if !services.is_empty() {
        out["healthcareService"] = Value::Array(services);
    }
    out
}

async fn roles(state: &AppState, filter: &DoctorFilter, page: PageRequest) -> AppResult<Paged<Value>> {
    let found = directory::search_doctors(state.db.conn(), filter, &[], page).await?;
    let ids: Vec<Uuid> = found.rows.iter().map(|d| d.id).collect();
    let mut rules = state
        .db
        .views()
        .doctor_rules(state.db.conn(), &ids, state.clock.now())
        .await?;
    Ok(Paged {
        count: found.count,
        rows: ids
            .iter()
            .filter_map(|id| rules.remove(id))
            .map(|r| practitioner_role(&r))
            .collect(),
    })
}

/// A PractitionerRole (the doctor's id). Errors: 404.
pub async fn read_role(state: &AppState, id: Uuid) -> AppResult<Value> {
    let filter = DoctorFilter {
        ids: Some(vec![id]),
        include_inactive: true,
        ..DoctorFilter::default()
    };
    roles(state, &filter, PageRequest { page: 1, page_size: 1 })
        .await?
        .rows
        .pop()
        .ok_or(AppError::NotFound("practitioner role"))
}

/// PractitionerRoles matching `params` ([`ROLE_SEARCH`]).
///
/// Errors: 400 naming a malformed parameter.
pub async fn search_roles(state: &AppState, params: &Params) -> AppResult<Paged<Value>> {
    let id = id_param(params, "PractitionerRole")?;
    let mut filter = doctor_filter(state, params, "location").await?;
    if filter.ids.is_none() {
        filter.ids = id.map(|id| vec![id]);
    }
    roles(state, &filter, params.page).await
}

/// The doctors a search or `$find` names by `practitioner`, by the facility
/// in `location` (the parameter's name differs: `location`,
/// `location-reference`) and by `specialty`.
///
/// Errors: 400 naming a malformed reference.
pub async fn doctor_filter(state: &AppState, params: &Params, location: &str) -> AppResult<DoctorFilter> {
    let mut filter = DoctorFilter::default();
    if let Some(practitioner) = params.get("practitioner") {
        filter.ids = Some(vec![search::reference_id(
            "practitioner",
            practitioner,
            "Practitioner",
        )?]);
    }
    if let Some(facility) = params.get(location) {
        filter.facility = Some(search::reference_id(location, facility, "Location")?);
    }
    if let Some(token) = params.get("specialty") {
        filter.specialty = Some(specialty_id(state, token).await?);
    }
    Ok(filter)
}

/// The service a `service-type` or `visit-type` token names
/// (`urn:carebook:service|{id}` or the id).
///
/// Errors: 400 naming `param`.
pub fn service_token(param: &str, token: &str) -> AppResult<Uuid> {
    let code = token.split_once('|').map_or(token, |(_, code)| code);
    code.parse::<Uuid>()
        .map_err(|_| AppError::bad_field(param, "must be a service id (urn:carebook:service|id)"))
}
