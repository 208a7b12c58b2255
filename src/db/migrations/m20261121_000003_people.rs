//! Doctors (with the services they offer) and patients.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, index, one_of, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("doctors")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("licence_number", 64))
                .col(uuid("specialty_id"))
                .col(uuid("facility_id"))
                .col(uuid_null("location_id"))
                .col(integer("years_of_experience").check(Expr::col("years_of_experience").between(0, 80)))
                .col(big_integer("consultation_fee_minor").check(Expr::col("consultation_fee_minor").gte(0)))
                .col(string_len("currency", 3))
                .col(text("bio"))
                .col(json_binary("languages"))
                .col(boolean("is_accepting"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("doctors", "user_id", "users", ForeignKeyAction::Restrict))
                .foreign_key(&mut fk(
                    "doctors",
                    "specialty_id",
                    "specialties",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "doctors",
                    "facility_id",
                    "facilities",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "doctors",
                    "location_id",
                    "locations",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_doctors_user", "doctors", &["user_id"]))
            .await?;
        m.create_index(unique("ux_doctors_licence", "doctors", &["licence_number"]))
            .await?;
        m.create_index(index("ix_doctors_specialty", "doctors", &["specialty_id"]))
            .await?;
        m.create_index(index("ix_doctors_facility", "doctors", &["facility_id"]))
            .await?;
        m.create_index(index("ix_doctors_location", "doctors", &["location_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("doctor_services")
                .col(uuid("doctor_id"))
                .col(uuid("service_id"))
                .primary_key(Index::create().col("doctor_id").col("service_id"))
                .foreign_key(&mut fk(
                    "doctor_services",
                    "doctor_id",
                    "doctors",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "doctor_services",
                    "service_id",
                    "services",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_doctor_services_service", "doctor_services", &["service_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("patients")
                .col(pk_uuid("id"))
                .col(uuid_null("user_id"))
                .col(string_len("medical_record_number", 32))
                .col(string_len("first_name", 150))
                .col(string_len("last_name", 150))
                .col(date_null("date_of_birth"))
                .col(string_len_null("sex", 32).check(one_of("sex", &["female", "male", "other", "unknown"])))
                .col(string_len_null("phone", 32))
                .col(string_len_null("email", 254))
                .col(text("address"))
                .col(uuid_null("location_id"))
                .col(string_len_null("national_id", 64))
                .col(string_len_null("insurance_number", 64))
                .col(string_len_null("blood_group", 32))
                .col(text("allergies"))
                .col(text("medical_history"))
                .col(string_len("emergency_contact_name", 200))
                .col(string_len_null("emergency_contact_phone", 32))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("patients", "user_id", "users", ForeignKeyAction::Restrict))
                .foreign_key(&mut fk(
                    "patients",
                    "location_id",
                    "locations",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_patients_user", "patients", &["user_id"]))
            .await?;
        m.create_index(unique("ux_patients_mrn", "patients", &["medical_record_number"]))
            .await?;
        m.create_index(index("ix_patients_name", "patients", &["last_name", "first_name"]))
            .await?;
        m.create_index(index("ix_patients_phone", "patients", &["phone"]))
            .await?;
        Ok(())
    }
}
