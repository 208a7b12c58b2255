//! Locations, specialties, facilities, services and doctors.

use std::collections::HashMap;

use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, JoinType, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::entities::{doctor, doctor_service, facility, location, service, specialty};
use super::{DbResult, PageRequest, Paged, Sort, Tx, contains_ci, fetch_page, fragment, or_empty};
use crate::domain::LocationKind;

/// `order`, or by name when the caller gave none.
fn or_by_name(order: &[Sort]) -> &[Sort] {
    const BY_NAME: &[Sort] = &[Sort {
        column: "name",
        descending: false,
    }];
    if order.is_empty() { BY_NAME } else { order }
}

// ---------------------------------------------------------------- locations

/// Filters of the location list.
#[derive(Debug, Clone, Default)]
pub struct LocationFilter {
    /// Only children of this location.
    pub parent: Option<Uuid>,
    /// Only this level.
    pub kind: Option<LocationKind>,
    /// Text in the English or Bengali name.
    pub search: Option<String>,
}

super::sort_fields!(
    /// Orderings of the location list.
    LocationOrdering,
    [("name", "name"), ("kind", "kind"), ("code", "code")]
);

/// One page of locations.
pub async fn list_locations(
    db: &impl ConnectionTrait,
    filter: &LocationFilter,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<location::Model>> {
    let mut query = Query::select();
    query.column(Asterisk).from("locations");
    if let Some(parent) = filter.parent {
        query.and_where(Expr::col("parent_id").eq(parent));
    }
    if let Some(kind) = filter.kind {
        query.and_where(Expr::col("kind").eq(kind.as_str()));
    }
    if let Some(term) = &filter.search {
        query.cond_where(
            Condition::any()
                .add(contains_ci(Expr::col("name"), term))
                .add(contains_ci(or_empty(Expr::col("bn_name")), term)),
        );
    }
    fetch_page(db, query, or_by_name(order), "id", page).await
}

/// A location by id.
pub async fn find_location(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<location::Model>> {
    Ok(location::Entity::find_by_id(id).one(db).await?)
}

/// `target IN (the subtree rooted at root)`: the place itself and every
/// place under it, by a recursive query. `target` is a column expression
/// written by Carebook, never user input.
pub fn in_location_subtree(backend: DbBackend, target: &str, root: Uuid) -> SimpleExpr {
    fragment(
        backend,
        &format!(
            "{target} IN (WITH RECURSIVE subtree(id) AS (SELECT id FROM locations WHERE id = ? \
             UNION ALL SELECT l.id FROM locations l JOIN subtree s ON l.parent_id = s.id) SELECT id FROM subtree)"
        ),
        vec![root.into()],
    )
}

// -------------------------------------------------------------- specialties

super::sort_fields!(
    /// Orderings of the specialty list.
    SpecialtyOrdering,
    [("name", "name"), ("code", "code"), ("created_at", "created_at")]
);

/// One page of specialties, optionally matching `search` in code or name.
pub async fn list_specialties(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<specialty::Model>> {
    let mut query = Query::select();
    query.column(Asterisk).from("specialties");
    if let Some(term) = search {
        query.cond_where(
            Condition::any()
                .add(contains_ci(Expr::col("name"), term))
                .add(contains_ci(Expr::col("code"), term)),
        );
    }
    fetch_page(db, query, or_by_name(order), "id", page).await
}

/// A specialty by id.
pub async fn find_specialty(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<specialty::Model>> {
    Ok(specialty::Entity::find_by_id(id).one(db).await?)
}

/// A specialty by id, or by code or name (case-insensitive).
pub async fn find_specialty_by_key(db: &impl ConnectionTrait, key: &str) -> DbResult<Option<specialty::Model>> {
    if let Ok(id) = key.parse::<Uuid>() {
        return find_specialty(db, id).await;
    }
    let lowered = key.trim().to_lowercase();
    Ok(specialty::Entity::find()
        .filter(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col("code"))).eq(lowered.clone()))
                .add(Expr::expr(Func::lower(Expr::col("name"))).eq(lowered)),
        )
        .one(db)
        .await?)
}

// --------------------------------------------------------------- facilities

/// Filters of the facility list.
#[derive(Debug, Clone, Default)]
pub struct FacilityFilter {
    /// Only facilities in this location or under it.
    pub location: Option<Uuid>,
    /// Text in name or address.
    pub search: Option<String>,
}

super::sort_fields!(
    /// Orderings of the facility list.
    FacilityOrdering,
    [("name", "name"), ("created_at", "created_at")]
);

/// One page of facilities.
pub async fn list_facilities(
    db: &impl ConnectionTrait,
    filter: &FacilityFilter,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<facility::Model>> {
    let mut query = Query::select();
    query.column(Asterisk).from("facilities");
    if let Some(root) = filter.location {
        query.and_where(in_location_subtree(db.get_database_backend(), "location_id", root));
    }
    if let Some(term) = &filter.search {
        query.cond_where(
            Condition::any()
                .add(contains_ci(Expr::col("name"), term))
                .add(contains_ci(Expr::col("address"), term)),
        );
    }
    fetch_page(db, query, or_by_name(order), "id", page).await
}

/// A facility by id.
pub async fn find_facility(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<facility::Model>> {
    Ok(facility::Entity::find_by_id(id).one(db).await?)
}

// ----------------------------------------------------------------- services

/// Filters of the service list.
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// Only services of this specialty.
    pub specialty: Option<Uuid>,
    /// Only services this doctor offers.
    pub doctor: Option<Uuid>,
    /// Only active (true) or inactive (false) services.
    pub is_active: Option<bool>,
    /// Text in the name.
    pub search: Option<String>,
}

super::sort_fields!(
    /// Orderings of the service list.
    ServiceOrdering,
    [
        ("name", "name"),
        ("price", "price_minor"),
        ("duration_minutes", "duration_minutes"),
        ("created_at", "created_at"),
    ]
);

/// One page of services.
pub async fn list_services(
    db: &impl ConnectionTrait,
    filter: &ServiceFilter,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<service::Model>> {
    let mut query = Query::select();
    query.column(Asterisk).from("services");
    if let Some(specialty) = filter.specialty {
        query.and_where(Expr::col("specialty_id").eq(specialty));
    }
    if let Some(doctor) = filter.doctor {
        let offered = Query::select()
            .column("service_id")
            .from("doctor_services")
            .and_where(Expr::col("doctor_id").eq(doctor))
            .to_owned();
        query.and_where(Expr::col("id").in_subquery(offered));
    }
    if let Some(active) = filter.is_active {
        query.and_where(Expr::col("is_active").eq(active));
    }
    if let Some(term) = &filter.search {
        query.and_where(contains_ci(Expr::col("name"), term));
    }
    fetch_page(db, query, or_by_name(order), "id", page).await
}

/// A service by id.
pub async fn find_service(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<service::Model>> {
    Ok(service::Entity::find_by_id(id).one(db).await?)
}

/// How many of `ids` exist as services.
pub async fn count_services(db: &impl ConnectionTrait, ids: &[Uuid]) -> DbResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(service::Entity::find()
        .filter(service::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .len())
}

// ------------------------------------------------------------------ doctors

/// A doctor with the names of what it links to (one joined row).
#[derive(Debug, Clone, FromQueryResult)]
pub struct DoctorRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub licence_number: String,
    pub specialty_id: Uuid,
    pub specialty_code: String,
    pub specialty_name: String,
    pub facility_id: Uuid,
    pub facility_name: String,
    pub time_zone: String,
    pub location_id: Option<Uuid>,
    pub location_name: Option<String>,
    pub years_of_experience: i32,
    pub consultation_fee_minor: i64,
    pub currency: String,
    pub bio: String,
    pub languages: serde_json::Value,
    pub is_accepting: bool,
    pub is_active: bool,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn doctor_select() -> SelectStatement {
    Query::select()
        .expr_as(Expr::cust("d.id"), "id")
        .expr_as(Expr::cust("d.user_id"), "user_id")
        .expr_as(Expr::cust("u.first_name"), "first_name")
        .expr_as(Expr::cust("u.last_name"), "last_name")
        .expr_as(Expr::cust("d.licence_number"), "licence_number")
        .expr_as(Expr::cust("d.specialty_id"), "specialty_id")
        .expr_as(Expr::cust("s.code"), "specialty_code")
        .expr_as(Expr::cust("s.name"), "specialty_name")
        .expr_as(Expr::cust("d.facility_id"), "facility_id")
        .expr_as(Expr::cust("f.name"), "facility_name")
        .expr_as(Expr::cust("f.time_zone"), "time_zone")
        .expr_as(Expr::cust("d.location_id"), "location_id")
        .expr_as(Expr::cust("l.name"), "location_name")
        .expr_as(Expr::cust("d.years_of_experience"), "years_of_experience")
        .expr_as(Expr::cust("d.consultation_fee_minor"), "consultation_fee_minor")
        .expr_as(Expr::cust("d.currency"), "currency")
        .expr_as(Expr::cust("d.bio"), "bio")
        .expr_as(Expr::cust("d.languages"), "languages")
        .expr_as(Expr::cust("d.is_accepting"), "is_accepting")
        .expr_as(Expr::cust("u.is_active"), "is_active")
        .expr_as(Expr::cust("d.updated_at"), "updated_at")
        .from_as("doctors", "d")
        .join_as(JoinType::InnerJoin, "users", "u", Expr::cust("u.id = d.user_id"))
        .join_as(
            JoinType::InnerJoin,
            "specialties",
            "s",
            Expr::cust("s.id = d.specialty_id"),
        )
        .join_as(
            JoinType::InnerJoin,
            "facilities",
            "f",
            Expr::cust("f.id = d.facility_id"),
        )
        .join_as(JoinType::LeftJoin, "locations", "l", Expr::cust("l.id = d.location_id"))
        .to_owned()
}

/// Filters of the doctor search.
#[derive(Debug, Clone, Default)]
pub struct DoctorFilter {
    /// Only this specialty.
    pub specialty: Option<Uuid>,
    /// Only doctors whose primary facility this is, or who work hours there.
    pub facility: Option<Uuid>,
    /// Only doctors located (or, without a location, whose facility is) in this place or under it.
    pub location: Option<Uuid>,
    /// At least this many years of experience.
    pub min_experience: Option<i32>,
    /// A consultation fee of at most this many minor units.
    pub max_fee_minor: Option<i64>,
    /// Text in names, specialty, facility or licence number.
    pub search: Option<String>,
    /// Only these doctors (the result of an availability filter).
    pub ids: Option<Vec<Uuid>>,
    /// Include doctors whose account is deactivated.
    pub include_inactive: bool,
}

super::sort_fields!(
    /// Orderings of the doctor search.
    DoctorOrdering,
    [
        ("years_of_experience", "d.years_of_experience"),
        ("consultation_fee", "d.consultation_fee_minor"),
        ("last_name", "u.last_name"),
        ("first_name", "u.first_name"),
        ("created_at", "d.created_at"),
    ]
);

fn doctor_query(backend: DbBackend, filter: &DoctorFilter) -> SelectStatement {
    let mut query = doctor_select();
    if !filter.include_inactive {
        query.and_where(Expr::col(("u", "is_active")).eq(true));
    }
    if let Some(specialty) = filter.specialty {
        query.and_where(Expr::col(("d", "specialty_id")).eq(specialty));
    }
    if let Some(facility) = filter.facility {
        let works_there = Query::select()
            .column("doctor_id")
            .from("working_hours")
            .and_where(Expr::col("facility_id").eq(facility))
            .to_owned();
        query.cond_where(
            Condition::any()
                .add(Expr::col(("d", "facility_id")).eq(facility))
                .add(Expr::col(("d", "id")).in_subquery(works_there)),
        );
    }
    if let Some(root) = filter.location {
        query.and_where(in_location_subtree(
            backend,
            "COALESCE(d.location_id, f.location_id)",
            root,
        ));
    }
    if let Some(years) = filter.min_experience {
        query.and_where(Expr::col(("d", "years_of_experience")).gte(years));
    }
    if let Some(fee) = filter.max_fee_minor {
        query.and_where(Expr::col(("d", "consultation_fee_minor")).lte(fee));
    }
    if let Some(term) = &filter.search {
        query.cond_where(
            Condition::any()
                .add(contains_ci(Expr::col(("u", "first_name")), term))
                .add(contains_ci(Expr::col(("u", "last_name")), term))
                .add(contains_ci(Expr::col(("s", "name")), term))
                .add(contains_ci(Expr::col(("f", "name")), term))
                .add(contains_ci(Expr::col(("d", "licence_number")), term)),
        );
    }
    if let Some(ids) = &filter.ids {
        query.and_where(Expr::col(("d", "id")).is_in(ids.iter().copied()));
    }
    query
}

/// One page of doctors matching `filter`.
pub async fn search_doctors(
    db: &impl ConnectionTrait,
    filter: &DoctorFilter,
    order: &[Sort],
    page: PageRequest,
) -> DbResult<Paged<DoctorRow>> {
    let order = if order.is_empty() {
        &[
            Sort {
                column: "u.last_name",
                descending: false,
            },
            Sort {
                column: "u.first_name",
                descending: false,
            },
        ][..]
    } else {
        order
    };
    fetch_page(db, doctor_query(db.get_database_backend(), filter), order, "d.id", page).await
}

/// Ids of every doctor matching `filter` (for filters computed outside SQL).
pub async fn doctor_ids(db: &impl ConnectionTrait, filter: &DoctorFilter) -> DbResult<Vec<Uuid>> {
    #[derive(FromQueryResult)]
    struct IdRow {
        id: Uuid,
    }
    let inner = doctor_query(db.get_database_backend(), filter);
    let query = Query::select().column("id").from_subquery(inner, "matched").to_owned();
    let rows = IdRow::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A doctor by id, with names.
pub async fn find_doctor(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<DoctorRow>> {
    let query = doctor_select().and_where(Expr::col(("d", "id")).eq(id)).to_owned();
    Ok(DoctorRow::find_by_statement(db.get_database_backend().build(&query))
        .one(db)
        .await?)
}

/// Doctors by id, with names (those that exist), in one query.
pub async fn find_doctors(db: &impl ConnectionTrait, ids: &[Uuid]) -> DbResult<Vec<DoctorRow>> {
    let query = doctor_select()
        .and_where(Expr::col(("d", "id")).is_in(ids.iter().copied()))
        .to_owned();
    Ok(DoctorRow::find_by_statement(db.get_database_backend().build(&query))
        .all(db)
        .await?)
}

/// The doctor row itself.
pub async fn find_doctor_row(db: &impl ConnectionTrait, id: Uuid) -> DbResult<Option<doctor::Model>> {
    Ok(doctor::Entity::find_by_id(id).one(db).await?)
}

/// Services offered by each of `doctors`, in one query.
pub async fn doctor_service_ids(db: &impl ConnectionTrait, doctors: &[Uuid]) -> DbResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if doctors.is_empty() {
        return Ok(out);
    }
    let rows = doctor_service::Entity::find()
        .filter(doctor_service::Column::DoctorId.is_in(doctors.iter().copied()))
        .order_by_asc(doctor_service::Column::ServiceId)
        .all(db)
        .await?;
    for row in rows {
        out.entry(row.doctor_id).or_default().push(row.service_id);
    }
    Ok(out)
}

/// Replace the services a doctor offers.
pub async fn set_doctor_services(db: &Tx, doctor_id: Uuid, services: &[Uuid]) -> DbResult<()> {
    db.invalidate(super::views::Invalidation::Doctor(doctor_id));
    doctor_service::Entity::delete_many()
        .filter(doctor_service::Column::DoctorId.eq(doctor_id))
        .exec(db)
        .await?;
    if services.is_empty() {
        return Ok(());
    }
    let rows = services.iter().map(|service_id| {
        doctor_service::Model {
            doctor_id,
            service_id: *service_id,
        }
        .into_active_model()
        .reset_all()
    });
    doctor_service::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
