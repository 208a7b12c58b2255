//! System settings: administrators read and change them; public ones are
//! readable by anyone. A change takes effect on every node within the
//! settings cache lifetime (`CAREBOOK_SETTINGS_TTL_SECONDS`, default 5 s),
//! on this node at once, without a restart.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::access::PUBLIC;
use super::extract::{ApiJson, ApiPath};
use super::no_content;
use super::pagination::{ListQuery, Page, PageParams};
use super::responses::{PublicErrors, ReadErrors, WriteErrors};
use crate::auth::Actor;
use crate::auth::policy::Action;
use crate::db::Paged;
use crate::error::{AppError, AppResult};
use crate::input::QueryText;
use crate::settings::{self, DEFINITIONS, Definition, Kind, Settings};
use crate::state::AppState;

/// Routes of this area.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_settings))
        .routes(routes!(public_settings))
        .routes(routes!(get_setting, put_setting, reset_setting))
}

/// A setting's value: a whole number, a boolean or a list of whole numbers, as its `type` says.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged, try_from = "serde_json::Value")]
pub enum SettingValue {
    Integer(i64),
    Boolean(bool),
    /// At most 20 items.
    IntegerList(Vec<i64>),
}

/// A JSON number that JSON Schema calls an integer (`30.0` is 30).
fn whole(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

impl TryFrom<serde_json::Value> for SettingValue {
    type Error = String;

    /// JSON Schema counts `30.0` as an integer, so it is read as 30.
    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        match value {
            serde_json::Value::Bool(b) => Ok(SettingValue::Boolean(b)),
            serde_json::Value::Number(n) => whole(&n)
                .map(SettingValue::Integer)
                .ok_or_else(|| "must be a whole number or true/false".to_owned()),
            serde_json::Value::Array(items) if items.len() <= 20 => items
                .iter()
                .map(|item| item.as_number().and_then(whole))
                .collect::<Option<Vec<i64>>>()
                .map(SettingValue::IntegerList)
                .ok_or_else(|| "must be a list of whole numbers".to_owned()),
            _ => Err("must be a whole number, true/false or a list of at most 20 whole numbers".to_owned()),
        }
    }
}

impl SettingValue {
    fn from_json(value: &serde_json::Value) -> SettingValue {
        if let Some(items) = value.as_array() {
            return SettingValue::IntegerList(items.iter().filter_map(serde_json::Value::as_i64).collect());
        }
        value
            .as_bool()
            .map(SettingValue::Boolean)
            .unwrap_or_else(|| SettingValue::Integer(value.as_i64().unwrap_or_default()))
    }

    fn into_json(self) -> serde_json::Value {
        match self {
            SettingValue::Integer(n) => n.into(),
            SettingValue::Boolean(b) => b.into(),
            SettingValue::IntegerList(items) => items.into(),
        }
    }
}

/// The type of a setting.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    Integer,
    Boolean,
    IntegerList,
}

/// One setting with its definition and current value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingOut {
    /// `category.name`.
    #[schema(example = "booking.minimum_notice_minutes")]
    pub key: String,
    #[schema(example = "booking")]
    pub category: &'static str,
    pub description: &'static str,
    #[serde(rename = "type")]
    pub kind: SettingType,
    /// Smallest allowed value (integers, and each of a list).
    pub minimum: Option<i64>,
    /// Largest allowed value (integers, and each of a list).
    pub maximum: Option<i64>,
    /// Readable without a token.
    pub public: bool,
    /// The value in force.
    pub value: SettingValue,
    /// The value when none is set.
    pub default: SettingValue,
    /// When an administrator last set it (none: the default applies).
    pub updated_at: Option<DateTime<Utc>>,
    /// Who set it.
    pub updated_by: Option<Uuid>,
}

fn setting_out(state: &AppState, current: &Settings, d: &Definition) -> SettingOut {
    let (kind, minimum, maximum) = match d.kind {
        Kind::Integer { min, max } => (SettingType::Integer, Some(min), Some(max)),
        Kind::Boolean => (SettingType::Boolean, None, None),
        Kind::IntegerList { min, max, .. } => (SettingType::IntegerList, Some(min), Some(max)),
    };
    let stored = current.stored(d.key);
    SettingOut {
        key: d.key.to_owned(),
        category: d.category(),
        description: d.description,
        kind,
        minimum,
        maximum,
        public: d.public,
        value: SettingValue::from_json(current.value(d.key)),
        default: SettingValue::from_json(&(d.default)(&state.config)),
        updated_at: stored.map(|s| s.updated_at),
        updated_by: stored.and_then(|s| s.updated_by),
    }
}

/// Filters of the settings list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SettingQuery {
    /// Only this category (`booking`, `security`).
    #[param(inline)]
    pub category: Option<QueryText<64>>,
}

async fn page_of(state: &AppState, query: ListQuery<SettingQuery>, public_only: bool) -> AppResult<Page<SettingOut>> {
    let page = query.page;
    let category = query.filter.category.clone().map(QueryText::into_inner);
    let current = state.settings().await?;
    let matching: Vec<&Definition> = DEFINITIONS
        .iter()
        .filter(|d| d.public || !public_only)
        .filter(|d| category.as_deref().is_none_or(|c| d.category() == c))
        .collect();
    let skip = usize::try_from((page.page - 1) * page.page_size).unwrap_or(usize::MAX);
    let take = usize::try_from(page.page_size).unwrap_or(usize::MAX);
    let rows = matching.iter().skip(skip).take(take).copied().collect();
    let paged = Paged {
        count: matching.len() as u64,
        rows,
    };
    Ok(query.page_of(paged, |d| setting_out(state, &current, d)))
}

/// Every setting. Admin only.
#[utoipa::path(
    get,
    path = "/api/v1/settings",
    tag = "settings",
    params(PageParams, SettingQuery),
    responses((status = 200, description = "A page of settings", body = Page<SettingOut>), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::SettingsRead)))
)]
pub async fn list_settings(
    State(state): State<AppState>,
    query: ListQuery<SettingQuery>,
) -> AppResult<Json<Page<SettingOut>>> {
    Ok(Json(page_of(&state, query, false).await?))
}

/// The public settings (booking notice, horizon, cancellation window): no token needed.
#[utoipa::path(
    get,
    path = "/api/v1/settings/public",
    tag = "settings",
    params(PageParams, SettingQuery),
    responses((status = 200, description = "A page of public settings", body = Page<SettingOut>), PublicErrors),
    extensions(("x-access" = json!(PUBLIC)))
)]
pub async fn public_settings(
    State(state): State<AppState>,
    query: ListQuery<SettingQuery>,
) -> AppResult<Json<Page<SettingOut>>> {
    Ok(Json(page_of(&state, query, true).await?))
}

fn definition(key: &str) -> AppResult<&'static Definition> {
    settings::definition(key).ok_or(AppError::NotFound("setting"))
}

/// One setting. Admin only.
#[utoipa::path(
    get,
    path = "/api/v1/settings/{key}",
    tag = "settings",
    params(("key" = String, Path, description = "Setting key, e.g. `booking.horizon_days`", max_length = 100)),
    responses((status = 200, description = "The setting", body = SettingOut), ReadErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::SettingsRead)))
)]
pub async fn get_setting(State(state): State<AppState>, ApiPath(key): ApiPath<String>) -> AppResult<Json<SettingOut>> {
    let d = definition(&key)?;
    Ok(Json(setting_out(&state, &*state.settings().await?, d)))
}

/// A new value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingIn {
    /// Of the setting's `type`, within its `minimum`..`maximum`.
    pub value: SettingValue,
}

/// Change a setting. Admin only; audited.
#[utoipa::path(
    put,
    path = "/api/v1/settings/{key}",
    tag = "settings",
    params(("key" = String, Path, description = "Setting key", max_length = 100)),
    request_body = SettingIn,
    responses((status = 200, description = "Changed", body = SettingOut), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::SettingsWrite)))
)]
pub async fn put_setting(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<SettingIn>,
) -> AppResult<Json<SettingOut>> {
    let d = definition(&key)?;
    settings::set(
        &state.db,
        d.key,
        Some(body.value.into_json()),
        actor.user_id,
        state.clock.now(),
    )
    .await?;
    state.settings.invalidate();
    Ok(Json(setting_out(&state, &*state.settings().await?, d)))
}

/// Return a setting to its default. Admin only; audited.
#[utoipa::path(
    delete,
    path = "/api/v1/settings/{key}",
    tag = "settings",
    params(("key" = String, Path, description = "Setting key", max_length = 100)),
    responses((status = 204, description = "Back to the default"), WriteErrors),
    security(("bearer" = [])),
    extensions(("x-access" = json!(Action::SettingsWrite)))
)]
pub async fn reset_setting(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(key): ApiPath<String>,
) -> AppResult<Response> {
    let d = definition(&key)?;
    settings::set(&state.db, d.key, None, actor.user_id, state.clock.now()).await?;
    state.settings.invalidate();
    Ok(no_content())
}
