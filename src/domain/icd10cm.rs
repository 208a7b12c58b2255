//! ICD-10-CM diagnosis codes (FY2026, April 1 2026 update; `data/icd10cm`,
//! CDC/NCHS public-domain content, see its NOTICE): the 74,719 billable
//! codes, compiled into the binary.
//!
//! Codes are written with the dot (`E11.9`, `S72.001A`); [`normalise`]
//! accepts any case and the dot left out.

/// The FHIR code system of ICD-10-CM.
pub const SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

/// The billable codes, one `code<TAB>description` per line, in the tabular
/// list's order (`C4A.9` comes before `C44.00`).
pub const DATA: &str = include_str!("../../data/icd10cm/icd10cm-2026-april-billable.tsv");

/// How many billable codes [`DATA`] holds.
pub const COUNT: usize = 74_719;

/// Every `(code, description)` of [`DATA`], in file order.
pub fn entries() -> impl Iterator<Item = (&'static str, &'static str)> {
    DATA.lines().filter_map(|line| line.split_once('\t'))
}

/// `text` as an ICD-10-CM code is written (`e119` → `E11.9`), if it has
/// the shape of one: a letter, two characters of which at least one is a
/// digit, then up to four more after the dot (ICD-10-CM 2026 also has
/// codes such as `C4A.70` and `M1A.0110`). Whether the code exists is
/// another question ([`crate::clinical`] knows).
pub fn normalise(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.is_ascii() {
        return None;
    }
    let (head, tail) = match text.split_once('.') {
        Some((head, tail)) if head.len() == 3 => (head, tail),
        Some(_) => return None,
        None if text.len() > 3 => text.split_at(3),
        None => (text, ""),
    };
    let head: Vec<char> = head.chars().map(|c| c.to_ascii_uppercase()).collect();
    let shaped = head.len() == 3
        && head[0].is_ascii_alphabetic()
        && head[1..].iter().all(char::is_ascii_alphanumeric)
        && head[1..].iter().any(char::is_ascii_digit)
        && tail.len() <= 4
        && tail.chars().all(|c| c.is_ascii_alphanumeric());
    if !shaped {
        return None;
    }
    let mut code: String = head.into_iter().collect();
    if !tail.is_empty() {
        code.push('.');
        code.extend(tail.chars().map(|c| c.to_ascii_uppercase()));
    }
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_holds_every_billable_code_once() {
        let codes: std::collections::HashSet<&str> = entries().map(|(code, _)| code).collect();
        assert_eq!(codes.len(), COUNT);
        assert_eq!(DATA.lines().count(), COUNT);
        for (code, description) in entries() {
            assert_eq!(normalise(code).as_deref(), Some(code), "{code}");
            assert!(!description.is_empty() && description.len() <= 300, "{code}");
        }
    }

    #[test]
    fn codes_are_normalised_and_shapes_refused() {
        assert_eq!(normalise("e119").as_deref(), Some("E11.9"));
        assert_eq!(normalise(" I10 ").as_deref(), Some("I10"));
        assert_eq!(normalise("s72.001a").as_deref(), Some("S72.001A"));
        assert_eq!(normalise("C4A70").as_deref(), Some("C4A.70"));
        for bad in [
            "",
            "E1",
            "11.9",
            "EAA.1",
            "E11.12345",
            "E1.19",
            "E11-9",
            "É11",
            "1É1",
            "E11.É",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }
}
