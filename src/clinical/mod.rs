//! Clinical records: the visit itself (DESIGN §3) — consultations and,
//! in them, what the doctor records — and the ICD-10-CM code list
//! diagnoses are coded in ([`codes`]).

pub mod codes;
pub mod consultations;
pub mod diagnoses;
pub mod entries;
pub mod notes;
pub mod prescriptions;
pub mod summary;
pub mod versions;
pub mod vital_signs;
