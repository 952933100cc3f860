//! "Did you mean" suggestions for names typed by people.

/// The edit distance between two strings (insertions, deletions, substitutions and
/// transpositions of adjacent characters), case-insensitive.
///
/// ```
/// assert_eq!(verdict::suggest::distance("webx", "webex"), 1);
/// assert_eq!(verdict::suggest::distance("7190", "7109"), 1);
/// ```
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // Three rows of the optimal-string-alignment table are enough.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidates close enough to `word` to be what was meant, best first.
///
/// A candidate is close when its distance is at most a third of the word's length (at
/// least 1), or when one contains the other.
///
/// ```
/// let ids = ["webex", "whispir", "ringcentral"];
/// assert_eq!(verdict::suggest::close_matches("ringcentrl", ids), vec!["ringcentral"]);
/// ```
pub fn close_matches<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let lower = word.to_lowercase();
    let mut found: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let d = distance(word, c);
            let contains = !lower.is_empty()
                && (c.to_lowercase().contains(&lower) || lower.contains(&c.to_lowercase()));
            (d <= limit || contains).then_some((d, c))
        })
        .collect();
    found.sort();
    found.dedup();
    found.into_iter().map(|(_, c)| c).collect()
}

/// The single closest candidate, if any is close.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    close_matches(word, candidates).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("Retry", "retry"), 0);
        assert_eq!(distance("ab", "ba"), 1);
    }

    #[test]
    fn nothing_close() {
        assert!(closest("zzzz", ["webex", "http"]).is_none());
    }
}
