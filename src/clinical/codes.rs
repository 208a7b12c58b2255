//! Finding ICD-10-CM codes: by code prefix (`E11`, `e11.6`) or by the words
//! of the description (`type 2 diabetes`), over an index built once from the
//! codes compiled into the binary ([`icd10cm::DATA`], the same rows the
//! `diagnosis_codes` table holds).
//!
//! The index is a sorted array of codes (a prefix is a binary-searched
//! range) and a sorted vocabulary of lower-case description words, each
//! with the ascending positions of the codes whose description holds it.
//! A word query takes the rarest word's positions and keeps those whose
//! description has every other word; the last word matches as a prefix
//! (`diab` finds `diabetes`), the others whole. The shortest titles come
//! first (the general code before its special cases), among those as long
//! the titles holding the words as a phrase, then code order.

use std::sync::OnceLock;

use crate::db::{PageRequest, Paged};
use crate::domain::icd10cm;

/// One billable ICD-10-CM code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagnosisCode {
    /// With the dot: `E11.9`.
    pub code: &'static str,
    /// Its title in the tabular list.
    pub description: &'static str,
}

struct Index {
    /// Every code, sorted by code.
    codes: Vec<DiagnosisCode>,
    /// Lower-case word → positions in `codes`, sorted by word; a word's
    /// place here is its id.
    words: Vec<(String, Vec<u32>)>,
    /// The word ids of every title, in title order: those of code `p` are
    /// `title_words[title_start[p]..title_start[p + 1]]`.
    title_words: Vec<u32>,
    title_start: Vec<u32>,
}

fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

impl Index {
    fn build() -> Index {
        let mut codes: Vec<DiagnosisCode> = icd10cm::entries()
            .map(|(code, description)| DiagnosisCode { code, description })
            .collect();
        codes.sort_unstable_by_key(|c| c.code);
        let titles: Vec<Vec<String>> = codes.iter().map(|c| words_of(c.description).collect()).collect();
        let mut postings: std::collections::HashMap<&str, Vec<u32>> = std::collections::HashMap::new();
        for (position, title) in titles.iter().enumerate() {
            for word in title {
                let list = postings.entry(word.as_str()).or_default();
                if list.last() != Some(&(position as u32)) {
                    list.push(position as u32);
                }
            }
        }
        let mut words: Vec<(String, Vec<u32>)> = postings.into_iter().map(|(w, p)| (w.to_owned(), p)).collect();
        words.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let id = |word: &str| {
            words
                .binary_search_by(|(w, _)| w.as_str().cmp(word))
                .expect("every title word is in the vocabulary") as u32
        };
        let mut title_words = Vec::new();
        let mut title_start = Vec::with_capacity(codes.len() + 1);
        for title in &titles {
            title_start.push(title_words.len() as u32);
            title_words.extend(title.iter().map(|w| id(w)));
        }
        title_start.push(title_words.len() as u32);
        Index {
            codes,
            words,
            title_words,
            title_start,
        }
    }

    /// The ids of the vocabulary words equal to `word`, or starting with it when `prefix`.
    fn matching(&self, word: &str, prefix: bool) -> std::ops::Range<u32> {
        let start = self.words.partition_point(|(w, _)| w.as_str() < word);
        let end = if prefix {
            start + self.words[start..].partition_point(|(w, _)| w.starts_with(word))
        } else {
            start + self.words[start..].partition_point(|(w, _)| w == word)
        };
        start as u32..end as u32
    }

    fn title(&self, position: u32) -> &[u32] {
        let p = position as usize;
        &self.title_words[self.title_start[p] as usize..self.title_start[p + 1] as usize]
    }

    /// Positions of the codes whose title has every word of `query`: the
    /// rarest word's postings, kept when the title's word ids fall in every
    /// other word's id range (no text is read per candidate).
    fn by_words(&self, query: &str) -> Vec<u32> {
        let terms: Vec<String> = words_of(query).collect();
        let Some(last) = terms.len().checked_sub(1) else {
            return Vec::new();
        };
        let ranges: Vec<std::ops::Range<u32>> = terms
            .iter()
            .enumerate()
            .map(|(i, term)| self.matching(term, i == last))
            .collect();
        let size = |r: &std::ops::Range<u32>| -> usize {
            self.words[r.start as usize..r.end as usize]
                .iter()
                .map(|(_, p)| p.len())
                .sum()
        };
        let Some(rarest) = (0..ranges.len()).min_by_key(|&i| size(&ranges[i])) else {
            return Vec::new();
        };
        let mut found: Vec<u32> = self.words[ranges[rarest].start as usize..ranges[rarest].end as usize]
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        found.sort_unstable();
        found.dedup();
        // The shortest titles first (the general code before its special
        // cases: `essential hypertension` finds I10 "Essential (primary)
        // hypertension" before the pregnancy codes that hold the phrase);
        // among titles as long, those holding the words as a phrase, then code order.
        let mut ranked: Vec<(usize, bool, u32)> = Vec::with_capacity(found.len());
        for &position in &found {
            let title = self.title(position);
            if !ranges
                .iter()
                .enumerate()
                .all(|(i, r)| i == rarest || title.iter().any(|w| r.contains(w)))
            {
                continue;
            }
            let phrase = title
                .windows(terms.len())
                .any(|window| window.iter().zip(&ranges).all(|(w, r)| r.contains(w)));
            ranked.push((title.len(), !phrase, position));
        }
        ranked.sort_unstable();
        ranked.into_iter().map(|(_, _, position)| position).collect()
    }

    /// The range of codes starting with `prefix` (already upper-case, dotted).
    fn by_code(&self, prefix: &str) -> std::ops::Range<usize> {
        let start = self.codes.partition_point(|c| c.code < prefix);
        let end = start + self.codes[start..].partition_point(|c| c.code.starts_with(prefix));
        start..end
    }
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(Index::build)
}

/// Build the index now (at start), so that no request pays for it.
pub fn warm() {
    index();
}

/// `text` as a code prefix (`e11` → `E11`, `e116` → `E11.6`), when it can be one.
fn code_prefix(text: &str) -> Option<String> {
    let text = text.trim();
    let first = text.chars().next()?;
    if !first.is_ascii_alphabetic() || text.len() > 8 || !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() <= 3 {
        return text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
            .then(|| text.to_ascii_uppercase());
    }
    icd10cm::normalise(text)
}

/// The billable code `code` (any case, dot optional), if there is one.
pub fn find(code: &str) -> Option<DiagnosisCode> {
    let code = icd10cm::normalise(code)?;
    let index = index();
    let at = index.codes.binary_search_by(|c| c.code.cmp(code.as_str())).ok()?;
    Some(index.codes[at])
}

/// One page of the codes `search` finds (all codes without one): those
/// starting with it when it reads as a code prefix and some do, in code
/// order; else those whose title has its words, shortest titles first.
pub fn search(search: Option<&str>, page: PageRequest) -> Paged<DiagnosisCode> {
    let index = index();
    let skip = ((page.page - 1) * page.page_size) as usize;
    let take = page.page_size as usize;
    let range = match search {
        None => 0..index.codes.len(),
        Some(text) => code_prefix(text).map(|p| index.by_code(&p)).unwrap_or(0..0),
    };
    if search.is_none() || !range.is_empty() {
        return Paged {
            count: range.len() as u64,
            rows: index.codes[range].iter().skip(skip).take(take).copied().collect(),
        };
    }
    let found = index.by_words(search.unwrap_or_default());
    Paged {
        count: found.len() as u64,
        rows: found
            .iter()
            .skip(skip)
            .take(take)
            .map(|&p| index.codes[p as usize])
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(page_size: u64) -> PageRequest {
        PageRequest { page: 1, page_size }
    }

    fn codes(search: &str) -> (u64, Vec<&'static str>) {
        let found = super::search(Some(search), first(100));
        (found.count, found.rows.iter().map(|c| c.code).collect())
    }

    #[test]
    fn a_code_prefix_finds_the_codes_under_it() {
        let (count, found) = codes("E11");
        assert!(count > 50, "{count}");
        assert!(found.iter().all(|c| c.starts_with("E11")));
        assert_eq!(codes("e11.9").1, ["E11.9"]);
        assert_eq!(codes("e119").1, ["E11.9"]);
        assert_eq!(codes("I10").1, ["I10"]);
        assert_eq!(codes("zz9").0, 0);
    }

    #[test]
    fn words_find_titles_holding_all_of_them_the_last_as_a_prefix() {
        let (count, found) = codes("type 2 diabetes");
        assert!(found.contains(&"E11.9"), "{found:?}");
        assert!(found[0].starts_with("E11"), "the general code first: {found:?}");
        assert!(count >= 50);
        for code in &found {
            let title = find(code).unwrap().description.to_lowercase();
            let words: Vec<String> = words_of(&title).collect();
            assert!(
                ["type", "2", "diabetes"].iter().all(|w| words.iter().any(|t| t == w)),
                "{title}"
            );
        }
        assert_eq!(codes("Type 2 DIAB").1, found, "case-insensitive, last word a prefix");
        assert_eq!(codes("essential hypertension").1[0], "I10", "the shortest title first");
        assert_eq!(codes("qwertyuiop").0, 0);
        assert_eq!(codes("   ").0, 0);
    }

    #[test]
    fn pages_cover_the_whole_answer_once() {
        let all = super::search(Some("fracture of femur"), first(100));
        let mut paged = Vec::new();
        for page in 1..=all.count.div_ceil(7).min(20) {
            let found = super::search(Some("fracture of femur"), PageRequest { page, page_size: 7 });
            assert_eq!(found.count, all.count);
            paged.extend(found.rows);
        }
        let n = paged.len().min(all.rows.len());
        assert!(n > 7);
        assert_eq!(&paged[..n], &all.rows[..n]);
        assert_eq!(super::search(None, first(1)).count as usize, icd10cm::COUNT);
    }

    #[test]
    fn find_knows_billable_codes_only() {
        assert_eq!(
            find("e11.9").unwrap().description,
            "Type 2 diabetes mellitus without complications"
        );
        assert!(find("E11").is_none(), "a category is not billable");
        assert!(find("nonsense").is_none());
    }
}
