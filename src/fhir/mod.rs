//! The FHIR R4 face (HL7 FHIR 4.0.1): Carebook's records as FHIR
//! resources, read and searched under `/fhir/R4` with the same policy and
//! the same database as the REST API.
//!
//! - [`search`]: the search parameters of a request (strict unless
//!   `handling=lenient`, `_count`, `_page`, date prefixes) and searchset
//!   Bundles with `total` and `self`/`next`/`previous` links.
//! - [`resources`]: Patient, Practitioner and Appointment from their rows
//!   (status map of DESIGN §4), and the services that read and search them.
//! - [`outcome`]: every error as an `OperationOutcome`.
//!
//! Resource ids are the REST ids: `Patient/{id}` is `/api/v1/patients/{id}`,
//! `Practitioner/{id}` is `/api/v1/doctors/{id}`, `Appointment/{id}` is
//! `/api/v1/appointments/{id}`.

pub mod clinical;
pub mod directory;
pub mod outcome;
pub mod resources;
pub mod scheduling;
pub mod search;

/// The FHIR base path.
pub const BASE: &str = "/fhir/R4";

/// The FHIR JSON media type (FHIR R4 §3.1.0.1.2).
pub const FHIR_JSON: &str = "application/fhir+json";

/// The FHIR version this face implements.
pub const FHIR_VERSION: &str = "4.0.1";

/// Identifier system of medical record numbers.
pub const MRN_SYSTEM: &str = "urn:carebook:medical-record-number";

/// Identifier system of doctors' licence numbers.
pub const LICENCE_SYSTEM: &str = "urn:carebook:licence-number";
