//! The demo pharmacy: the catalogue of `data/medications/` (FDA NDC
//! Directory generics, public domain; see its NOTICE) and, at every
//! facility, three lots of each item — one expired (to be disposed of), one
//! expiring within the month, one for the year — each with its receipt in
//! the stock ledger, so every lot's on-hand is its ledger's sum.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::db::entities::{medication, stock_lot, stock_movement};
use crate::db::ids;
use crate::domain::StockMovementKind;

/// The catalogue file, compiled in.
const GENERICS: &str = include_str!("../../data/medications/demo-generics.tsv");

/// What one unit of stock of a dosage form is.
fn dispensing_unit(form: &str) -> &'static str {
    let form = form.to_ascii_uppercase();
    let has = |word: &str| form.contains(word);
    if has("TABLET") {
        "tablet"
    } else if has("CAPSULE") {
        "capsule"
    } else if has("SUSPENSION") || has("SOLUTION") || has("SYRUP") || has("ELIXIR") {
        "bottle"
    } else if has("CREAM") || has("OINTMENT") || has("GEL") {
        "tube"
    } else if has("INJECTION") {
        "vial"
    } else if has("AEROSOL") || has("INHAL") {
        "inhaler"
    } else {
        "unit"
    }
}

/// The catalogue: one item per row of the file.
pub fn catalogue(now: DateTime<Utc>) -> Vec<medication::Model> {
    GENERICS
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let (name, form, route, strength, unit) =
                (cols.next()?, cols.next()?, cols.next()?, cols.next()?, cols.next()?);
            let key = format!("{name}|{form}|{route}|{strength}|{unit}");
            let dispensing = dispensing_unit(form);
            Some(medication::Model {
                id: ids::demo("medication", &key),
                generic_name: name.trim().to_lowercase(),
                dosage_form: form.trim().to_owned(),
                route: route.trim().to_owned(),
                strength: strength.trim().to_owned(),
                strength_unit: unit.trim().to_owned(),
                dispensing_unit: dispensing.to_owned(),
                reorder_level: if matches!(dispensing, "tablet" | "capsule") {
                    100
                } else {
                    10
                },
                active: true,
                created_at: now,
                updated_at: now,
            })
        })
        .collect()
}

/// Catalogue items by the name a prescription gives them:
/// `"amoxicillin 500 mg capsule"` (generic name, strength in mg, the form's
/// first word), preferring the plain form (`TABLET` over `TABLET, FILM COATED`).
pub fn prescribable(items: &[medication::Model]) -> std::collections::HashMap<String, Uuid> {
    let mut found = std::collections::HashMap::new();
    for item in items.iter().filter(|m| m.strength_unit == "mg/1") {
        let word = item.dosage_form.split([',', ' ']).next().unwrap_or_default();
        let name = format!("{} {} mg {}", item.generic_name, item.strength, word.to_lowercase());
        if item.dosage_form == word {
            found.insert(name, item.id);
        } else {
            found.entry(name).or_insert(item.id);
        }
    }
    found
}

/// Three lots of every item at every facility, with their receipts.
pub fn stock(
    items: &[medication::Model],
    facilities: &[(Uuid, &'static str)],
    received_by: Uuid,
    now: DateTime<Utc>,
) -> (Vec<stock_lot::Model>, Vec<stock_movement::Model>) {
    let mut lots = Vec::new();
    let mut receipts = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let solid = matches!(item.dispensing_unit.as_str(), "tablet" | "capsule");
        let scale = if solid { 10 } else { 1 };
        // Cost per unit: 0.50–12.50 for solids, 45–160 for the rest (BDT).
        let cost = if solid {
            50 + (n as i64 * 37) % 1200
        } else {
            4500 + (n as i64 * 113) % 11_500
        };
        for (facility, currency) in facilities {
            for (k, (expires_in, received_ago, quantity)) in [
                (-30i64, 400i64, 12 * scale),
                (20, 300, 40 * scale),
                (400, 20, 300 * scale),
            ]
            .into_iter()
            .enumerate()
            {
                let id = ids::demo("stock_lot", format!("{}/{facility}/{k}", item.id));
                let received_at = now - TimeDelta::days(received_ago);
                lots.push(stock_lot::Model {
                    id,
                    medication_id: item.id,
                    facility_id: *facility,
                    lot_number: format!(
                        "DEMO-{:03}-{}{k}",
                        n + 1,
                        &facility.simple().to_string()[..4].to_uppercase()
                    ),
                    expires_on: (now + TimeDelta::days(expires_in)).date_naive(),
                    supplier: ["Square Pharmaceuticals", "Beximco Pharma", "Incepta Pharmaceuticals"][k].into(),
                    unit_cost_minor: cost,
                    currency: (*currency).into(),
                    on_hand: quantity,
                    received_by,
                    received_at,
                    updated_at: received_at,
                });
                receipts.push(stock_movement::Model {
                    id: ids::demo("stock_movement", format!("{id}/receipt")),
                    lot_id: id,
                    medication_id: item.id,
                    facility_id: *facility,
                    kind: StockMovementKind::Receipt,
                    quantity,
                    reason: None,
                    note: String::new(),
                    prescription_id: None,
                    on_hand_after: quantity,
                    recorded_by: received_by,
                    recorded_at: received_at,
                    dispense_id: None,
                });
            }
        }
    }
    (lots, receipts)
}
