//! Clinical records: the visit itself (DESIGN §3). So far the ICD-10-CM
//! code list diagnoses are coded in ([`codes`]).

pub mod codes;
