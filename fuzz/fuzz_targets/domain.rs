//! The domain newtypes: phone (E.164), email, IANA time zone, money, ICD-10-CM
//! code shapes. Any text
//! is accepted or refused without a panic, and what is accepted is normal:
//! reading the normal form again gives the same value.
#![no_main]

use carebook::domain::{Currency, Email, Money, Phone, TimeZone, icd10cm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(phone) = Phone::parse(text) {
        let e164 = phone.as_str();
        assert!(e164.starts_with('+') && e164.len() <= 16, "{e164:?}");
        assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164:?}");
        assert_eq!(Phone::parse(e164).as_ref(), Ok(&phone));
    }
    if let Ok(email) = Email::parse(text) {
        assert!(email.as_str().chars().count() <= 254, "{:?}", email.as_str());
        assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(&email));
    }
    if let Ok(zone) = TimeZone::parse(text) {
        assert_eq!(TimeZone::parse(zone.name()), Ok(zone));
    }
    for currency in [
        Currency::BDT,
        Currency::parse("JPY").unwrap(),
        Currency::parse("KWD").unwrap(),
    ] {
        if let Ok(money) = Money::parse(text, currency) {
            assert!((0..=1_000_000_000_000).contains(&money.minor), "{money:?}");
            assert_eq!(Money::parse(&money.amount_string(), currency), Ok(money));
        }
    }
    if let Some(code) = icd10cm::normalise(text) {
        assert!((3..=8).contains(&code.len()), "{code:?}");
        assert_eq!(icd10cm::normalise(&code).as_ref(), Some(&code));
    }
    if let Ok(currency) = Currency::parse(text) {
        assert_eq!(Currency::parse(currency.code()), Ok(currency));
    }
});
