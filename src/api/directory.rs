//! Locations, specialties, facilities and services over HTTP: five
//! operations each (list, create, read, change, delete), served and
//! documented once for any [`Published`] directory entry.

use std::marker::PhantomData;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, Paths};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Ref, RefOr, Required, Schema};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use uuid::Uuid;

use super::access::EXTENSION;
use super::extract::{ApiJson, ApiPath};
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{ReadErrors, WriteErrors};
use super::{created, no_content};
use crate::auth::policy::Action;
use crate::db::entities::{facility, location, service, specialty};
use crate::directory::facilities::Facilities;
use crate::directory::locations::Locations;
use crate::directory::services::Services;
use crate::directory::specialties::Specialties;
use crate::directory::{self, Entry};
use crate::domain::{FacilityKind, LocationKind, Money};
use crate::error::AppResult;
use crate::state::AppState;

/// A directory entry as the API publishes it.
pub trait Published: Entry<New: ToSchema, Patch: ToSchema, Filter: IntoParams> {
    /// Its JSON shape.
    type Out: Serialize + ToSchema + From<Self::Row> + Send + 'static;
    /// Where its collection lives (`/api/v1/facilities`).
    const COLLECTION: &'static str;
    /// Its plural (`facilities`).
    const PLURAL: &'static str;
    /// What may be deleted (`that nothing refers to`).
    const DELETABLE: &'static str;
}

/// The routes of every directory entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(crud::<Locations>())
        .merge(crud::<Specialties>())
        .merge(crud::<Facilities>())
        .merge(crud::<Services>())
}

/// List, create, read, change and delete `E`, with their OpenAPI operations.
pub fn crud<E: Published>() -> OpenApiRouter<AppState> {
    let doc = Doc::<E>::new();
    let item = format!("{}/{{id}}", E::COLLECTION);
    let collection: MethodRouter<AppState> = get(list::<E>).post(create::<E>);
    let one: MethodRouter<AppState> = get(read::<E>).patch(update::<E>).delete(remove::<E>);
    OpenApiRouter::new()
        .routes(doc.routes(
            E::COLLECTION,
            collection,
            [(HttpMethod::Get, doc.list()), (HttpMethod::Post, doc.create())],
        ))
        .routes(doc.routes(
            &item,
            one,
            [
                (HttpMethod::Get, doc.read()),
                (HttpMethod::Patch, doc.update()),
                (HttpMethod::Delete, doc.delete()),
            ],
        ))
}

async fn list<E: Published>(
    State(state): State<AppState>,
    query: ListQuery<E::Filter>,
) -> AppResult<Json<Page<E::Out>>> {
    let rows = directory::list::<E>(&state, &query.filter, query.page).await?;
    Ok(Json(query.page_of(rows, E::Out::from)))
}

async fn create<E: Published>(State(state): State<AppState>, ApiJson(body): ApiJson<E::New>) -> AppResult<Response> {
    let (id, row) = directory::create::<E>(&state, body).await?;
    Ok(created(format!("{}/{id}", E::COLLECTION), E::Out::from(row)).into_response())
}

async fn read<E: Published>(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Json<E::Out>> {
    Ok(Json(directory::get::<E>(&state, id).await?.into()))
}

async fn update<E: Published>(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<E::Patch>,
) -> AppResult<Json<E::Out>> {
    Ok(Json(directory::update::<E>(&state, id, body).await?.into()))
}

async fn remove<E: Published>(State(state): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> AppResult<Response> {
    directory::delete::<E>(&state, id).await?;
    Ok(no_content())
}

/// The OpenAPI operations of `E`, built from its types and names.
struct Doc<E>(PhantomData<E>);

fn reference(name: impl Into<String>) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn json(name: impl Into<String>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(reference(name))).build()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl<E: Published> Doc<E> {
    fn new() -> Self {
        Doc(PhantomData)
    }

    fn page_name() -> String {
        format!("Page_{}", E::Out::name())
    }

    /// Every schema the operations refer to.
    fn schemas() -> Vec<(String, RefOr<Schema>)> {
        let mut schemas = vec![
            (E::Out::name().into_owned(), E::Out::schema()),
            (E::New::name().into_owned(), E::New::schema()),
            (E::Patch::name().into_owned(), E::Patch::schema()),
            (Self::page_name(), Page::<E::Out>::schema()),
        ];
        E::Out::schemas(&mut schemas);
        E::New::schemas(&mut schemas);
        E::Patch::schemas(&mut schemas);
        schemas
    }

    fn routes(
        &self,
        path: &str,
        router: MethodRouter<AppState>,
        operations: impl IntoIterator<Item = (HttpMethod, Operation)>,
    ) -> UtoipaMethodRouter<AppState> {
        let mut paths = Paths::new();
        for (method, operation) in operations {
            paths.add_path_operation(path, vec![method], operation);
        }
        (Self::schemas(), paths, router)
    }

    /// An operation answering `success` (status, response) or the errors `E`.
    fn operation<Errors: IntoResponses>(
        &self,
        id: String,
        summary: String,
        action: Action,
        success: (&str, utoipa::openapi::Response),
    ) -> OperationBuilder {
        let access = ExtensionsBuilder::new()
            .add(EXTENSION, serde_json::json!(action))
            .build();
        let responses = ResponsesBuilder::new()
            .response(success.0, success.1)
            .responses_from_into_responses::<Errors>()
            .build();
        OperationBuilder::new()
            .operation_id(Some(id))
            .summary(Some(summary))
            .tag("directory")
            .responses(responses)
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .extensions(Some(access))
    }

    fn id_parameter(&self) -> utoipa::openapi::path::Parameter {
        let uuid = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(format!("{} id", capitalised(E::KIND))))
            .schema(Some(uuid))
            .build()
    }

    fn body(&self, name: impl Into<String>) -> utoipa::openapi::request_body::RequestBody {
        RequestBodyBuilder::new()
            .content("application/json", json(name))
            .required(Some(Required::True))
            .build()
    }

    fn list(&self) -> Operation {
        let query = || Some(ParameterIn::Query);
        let parameters = PageParams::into_params(query)
            .into_iter()
            .chain(E::Filter::into_params(query));
        let page = ResponseBuilder::new()
            .description(format!("A page of {}", E::PLURAL))
            .content("application/json", json(Self::page_name()))
            .build();
        let (id, summary) = (format!("list_{}", E::PLURAL), format!("List {}.", E::PLURAL));
        self.operation::<ReadErrors>(id, summary, Action::DirectoryRead, ("200", page))
            .parameters(Some(parameters))
            .build()
    }

    fn create(&self) -> Operation {
        let location = HeaderBuilder::new()
            .schema(Some(String::schema()))
            .description(Some("The new resource"))
            .build();
        let created = ResponseBuilder::new()
            .description("Created")
            .content("application/json", json(E::Out::name()))
            .header("Location", location)
            .build();
        let (id, summary) = (
            format!("create_{}", E::KIND),
            format!("Create a {}. Admin only.", E::KIND),
        );
        self.operation::<WriteErrors>(id, summary, Action::DirectoryWrite, ("201", created))
            .request_body(Some(self.body(E::New::name())))
            .build()
    }

    fn read(&self) -> Operation {
        let found = ResponseBuilder::new()
            .description(format!("The {}", E::KIND))
            .content("application/json", json(E::Out::name()))
            .build();
        let (id, summary) = (format!("get_{}", E::KIND), format!("Read a {}.", E::KIND));
        self.operation::<ReadErrors>(id, summary, Action::DirectoryRead, ("200", found))
            .parameter(self.id_parameter())
            .build()
    }

    fn update(&self) -> Operation {
        let changed = ResponseBuilder::new()
            .description(format!("The changed {}", E::KIND))
            .content("application/json", json(E::Out::name()))
            .build();
        let (id, summary) = (
            format!("update_{}", E::KIND),
            format!("Change a {}. Admin only.", E::KIND),
        );
        self.operation::<WriteErrors>(id, summary, Action::DirectoryWrite, ("200", changed))
            .parameter(self.id_parameter())
            .request_body(Some(self.body(E::Patch::name())))
            .build()
    }

    fn delete(&self) -> Operation {
        let deleted = ResponseBuilder::new().description("Deleted").build();
        let id = format!("delete_{}", E::KIND);
        let summary = format!("Delete a {} {}. Admin only.", E::KIND, E::DELETABLE);
        self.operation::<WriteErrors>(id, summary, Action::DirectoryWrite, ("204", deleted))
            .parameter(self.id_parameter())
            .build()
    }
}

/// A location.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationOut {
    pub id: Uuid,
    /// The place this one is part of; null for divisions.
    pub parent_id: Option<Uuid>,
    pub kind: LocationKind,
    /// Source code (the bd-geo id for shipped places), unique per kind.
    #[schema(example = "47")]
    pub code: String,
    #[schema(example = "Dhaka")]
    pub name: String,
    /// Bengali name.
    #[schema(example = "ঢাকা")]
    pub bn_name: Option<String>,
    /// WGS 84 degrees.
    pub latitude: Option<f64>,
    /// WGS 84 degrees.
    pub longitude: Option<f64>,
}

impl From<location::Model> for LocationOut {
    fn from(row: location::Model) -> Self {
        LocationOut {
            id: row.id,
            parent_id: row.parent_id,
            kind: row.kind,
            code: row.code,
            name: row.name,
            bn_name: row.bn_name,
            latitude: row.latitude,
            longitude: row.longitude,
        }
    }
}

impl Published for Locations {
    type Out = LocationOut;
    const COLLECTION: &'static str = "/api/v1/locations";
    const PLURAL: &'static str = "locations";
    const DELETABLE: &'static str = "that has no places under it and that nothing refers to";
}

/// A specialty.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpecialtyOut {
    pub id: Uuid,
    #[schema(example = "CARD")]
    pub code: String,
    #[schema(example = "Cardiology")]
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<specialty::Model> for SpecialtyOut {
    fn from(row: specialty::Model) -> Self {
        SpecialtyOut {
            id: row.id,
            code: row.code,
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl Published for Specialties {
    type Out = SpecialtyOut;
    const COLLECTION: &'static str = "/api/v1/specialties";
    const PLURAL: &'static str = "specialties";
    const DELETABLE: &'static str = "that no doctor or service uses";
}

/// A facility.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityOut {
    pub id: Uuid,
    #[schema(example = "Dhaka Central Hospital")]
    pub name: String,
    pub kind: FacilityKind,
    pub address: String,
    pub location_id: Option<Uuid>,
    /// IANA time zone; working hours at this facility are wall-clock times here.
    #[schema(example = "Asia/Dhaka")]
    pub time_zone: String,
    /// E.164.
    pub phone: Option<String>,
    /// New bookings are `confirmed` (true) or wait as `pending` for staff or the doctor (false).
    pub auto_confirm: bool,
    /// ISO 4217: what its bills are in.
    #[schema(example = "BDT")]
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<facility::Model> for FacilityOut {
    fn from(row: facility::Model) -> Self {
        FacilityOut {
            id: row.id,
            name: row.name,
            kind: row.kind,
            address: row.address,
            location_id: row.location_id,
            time_zone: row.time_zone,
            phone: row.phone,
            auto_confirm: row.auto_confirm,
            currency: row.currency,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl Published for Facilities {
    type Out = FacilityOut;
    const COLLECTION: &'static str = "/api/v1/facilities";
    const PLURAL: &'static str = "facilities";
    const DELETABLE: &'static str = "that nothing refers to";
}

/// A service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    pub id: Uuid,
    #[schema(example = "Cardiology consultation")]
    pub name: String,
    pub specialty_id: Uuid,
    /// Length of an appointment for this service, in minutes.
    #[schema(example = 30)]
    pub duration_minutes: i32,
    /// Decimal string in `currency`.
    #[schema(example = "1200.00")]
    pub price: String,
    /// ISO 4217.
    #[schema(example = "BDT")]
    pub currency: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<service::Model> for ServiceOut {
    fn from(row: service::Model) -> Self {
        ServiceOut {
            id: row.id,
            name: row.name,
            specialty_id: row.specialty_id,
            duration_minutes: row.duration_minutes,
            price: Money::format(row.price_minor, &row.currency),
            currency: row.currency,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl Published for Services {
    type Out = ServiceOut;
    const COLLECTION: &'static str = "/api/v1/services";
    const PLURAL: &'static str = "services";
    const DELETABLE: &'static str = "that no appointment or doctor refers to";
}
