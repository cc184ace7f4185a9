//! "Did you mean": the nearest valid name to a mistyped one, and serde's type names in words,
//! for the messages about hand-edited input files.
//!
//! A typo such as `strategys` for `strategies` or `medain_ns` for `median_ns` is the most common
//! bad input of a hand-edited file; naming the intended word saves reading the whole list of
//! valid ones.

/// The candidate closest to `word`, when one is close enough to be the word that was meant:
/// a normalised Damerau-Levenshtein similarity of at least 0.7 (one or two letters wrong,
/// swapped, missing or extra in a word of usual length), or one candidate that merely differs
/// in case, `_` or `-`.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let folded = fold(word);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| {
            let similarity = if fold(c) == folded {
                1.0
            } else {
                strsim::normalized_damerau_levenshtein(word, c)
            };
            (similarity, c)
        })
        .filter(|(similarity, _)| *similarity >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `" (did you mean `X`?)"` for the [`closest`] candidate, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// A serde message with its Rust type names (`expected u64`) said as a file's types: for
/// messages about values of the wrong type in JSON and TOML files.
pub fn plain_types(message: &str) -> String {
    [
        ("expected u64", "expected a whole number from 0 to 2^64 - 1"),
        ("expected u32", "expected a whole number from 0 to 2^32 - 1"),
        ("expected usize", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ]
    .iter()
    .fold(message.to_string(), |m, (rust, plain)| {
        m.replace(rust, plain)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_intended_word_and_strangers_find_none() {
        let keys = [
            "id",
            "sentence",
            "strategies",
            "workloads",
            "exclude_workloads",
        ];
        assert_eq!(closest("strategys", keys), Some("strategies"));
        assert_eq!(closest("workload", keys), Some("workloads"));
        assert_eq!(closest("Sentence", keys), Some("sentence"));
        assert_eq!(
            closest("exclude-workloads", keys),
            Some("exclude_workloads")
        );
        assert_eq!(closest("colour", keys), None);
        assert_eq!(
            closest("medain_ns", ["median_ns", "min_ns"]),
            Some("median_ns")
        );
        assert_eq!(did_you_mean("zzz", keys), "");
        assert_eq!(
            did_you_mean("strategis", keys),
            " (did you mean `strategies`?)"
        );
    }
}
