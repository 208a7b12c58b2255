//! The `ordering` query parameter of lists: `field`, `-field` (descending),
//! comma-separated, from the list's allow-list ([`SortFields`]), at most
//! [`MAX_TERMS`] terms; a field named again adds nothing (its first
//! occurrence decides, as in SQL). Checked while the query string is
//! read, so an ordering that breaks a rule never reaches SQL; the OpenAPI
//! document gives the same rules as a pattern built from the same list.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::Deserialize;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

use crate::db::{Sort, SortFields};

/// Most fields one ordering may name.
pub const MAX_TERMS: usize = 5;

/// A parsed `ordering` of the list whose fields are `F`.
pub struct Ordering<F> {
    sorts: Vec<Sort>,
    fields: PhantomData<F>,
}

impl<F> std::fmt::Debug for Ordering<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Ordering").field(&self.sorts).finish()
    }
}

impl<F> Clone for Ordering<F> {
    fn clone(&self) -> Self {
        Ordering {
            sorts: self.sorts.clone(),
            fields: PhantomData,
        }
    }
}

impl<F: SortFields> Ordering<F> {
    /// Parse `raw`; blank is no ordering (the list's default).
    ///
    /// Errors: a message naming the unknown field, or the limit.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut sorts: Vec<Sort> = Vec::new();
        if raw.trim().is_empty() {
            return Ok(Ordering {
                sorts,
                fields: PhantomData,
            });
        }
        for (index, term) in raw.split(',').enumerate() {
            if index == MAX_TERMS {
                return Err(format!("at most {MAX_TERMS} fields"));
            }
            let (name, descending) = match term.strip_prefix('-') {
                Some(name) => (name, true),
                None => (term, false),
            };
            let Some((_, column)) = F::FIELDS.iter().find(|(field, _)| *field == name) else {
                return Err(format!(
                    "unknown field {name:?}; use one of: {}",
                    names::<F>().join(", ")
                ));
            };
            // A repeat is valid by the documented pattern and, in SQL, a
            // no-op: the first key on a column already decides its order.
            if !sorts.iter().any(|s| s.column == *column) {
                sorts.push(Sort { column, descending });
            }
        }
        Ok(Ordering {
            sorts,
            fields: PhantomData,
        })
    }
}

impl<F> Ordering<F> {
    /// The sort keys, first one first.
    pub fn sorts(&self) -> &[Sort] {
        &self.sorts
    }
}

/// The sort keys of an optional ordering (none: the list's default order).
pub fn sorts<F>(ordering: &Option<Ordering<F>>) -> &[Sort] {
    ordering.as_ref().map_or(&[], Ordering::sorts)
}

fn names<F: SortFields>() -> Vec<&'static str> {
    F::FIELDS.iter().map(|(field, _)| *field).collect()
}

impl<'de, F: SortFields> Deserialize<'de> for Ordering<F> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Cow::<str>::deserialize(deserializer)?;
        Ordering::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl<F: SortFields> Ordering<F> {
    /// Its OpenAPI schema (for `#[param(schema_with = …)]`): a string whose
    /// pattern allows exactly the fields of `F`, at most [`MAX_TERMS`] of them.
    pub fn schema() -> RefOr<Schema> {
        let names = names::<F>();
        let choice = names.join("|");
        let longest = names.iter().map(|n| n.len()).max().unwrap_or(0);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^(-?({choice})(,-?({choice})){{0,{}}})?$", MAX_TERMS - 1)))
            .max_length(Some(MAX_TERMS * (longest + 2) - 1))
            .description(Some(format!(
                "Up to {MAX_TERMS} of `{}`, comma-separated (a repeated field adds nothing); prefix `-` for descending.",
                names.join("`, `")
            )))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::db::sort_fields!(Fields, [("start", "a.start_at"), ("status", "a.status")]);

    #[test]
    fn fields_come_from_the_allow_list_in_order() {
        let parsed = Ordering::<Fields>::parse("-start,status").unwrap();
        assert_eq!(
            parsed.sorts(),
            [
                Sort {
                    column: "a.start_at",
                    descending: true
                },
                Sort {
                    column: "a.status",
                    descending: false
                }
            ]
        );
        assert!(Ordering::<Fields>::parse("").unwrap().sorts().is_empty());
        let repeated = Ordering::<Fields>::parse("start,-start,status").unwrap();
        assert_eq!(repeated.sorts().len(), 2, "the first occurrence decides");
        assert!(!repeated.sorts()[0].descending);
    }

    #[test]
    fn unknown_and_too_many_fields_are_refused() {
        assert!(
            Ordering::<Fields>::parse("start_at")
                .unwrap_err()
                .contains("use one of: start, status")
        );
        assert!(Ordering::<Fields>::parse(&vec!["start"; 2000].join(",")).is_err());
        assert!(Ordering::<Fields>::parse("start,status,x,y,z,w").is_err());
        assert!(Ordering::<Fields>::parse("start,").is_err(), "an empty term is unknown");
    }
}
