//! One page of a bucket listing: prefix, delimiter (common prefixes), start-after and
//! max-keys over the sorted index, shared by ListObjects and ListObjectsV2.

use std::collections::BTreeMap;
use std::ops::Bound;

/// What to list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListParams<'a> {
    pub prefix: &'a str,
    /// Empty or absent means no grouping.
    pub delimiter: Option<&'a str>,
    /// Return only entries strictly after this key (marker, start-after, continuation).
    pub after: Option<&'a str>,
    /// Keys plus common prefixes in the page.
    pub max_keys: usize,
}

/// One page: objects and common prefixes in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListPage<V> {
    pub objects: Vec<(String, V)>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix returned: where the next page starts.
    pub last: Option<String>,
}

/// Lists one page of `index`.
pub(crate) fn list<V: Clone>(index: &BTreeMap<String, V>, p: ListParams<'_>) -> ListPage<V> {
    let mut page = ListPage {
        objects: Vec::new(),
        prefixes: Vec::new(),
        truncated: false,
        last: None,
    };
    let delimiter = p.delimiter.filter(|d| !d.is_empty());
    let start = match p.after {
        Some(after) if after >= p.prefix => Bound::Excluded(after.to_string()),
        _ => Bound::Included(p.prefix.to_string()),
    };
    let mut count = 0usize;
    for (key, value) in index.range((start, Bound::Unbounded)) {
        if !key.starts_with(p.prefix) {
            break;
        }
        let rest = &key[p.prefix.len()..];
        let group = delimiter.and_then(|d| {
            rest.find(d)
                .map(|at| key[..p.prefix.len() + at + d.len()].to_string())
        });
        if let Some(group) = group {
            // Keys inside a prefix already returned (on this page or, through `after`, on an
            // earlier one) are folded into it.
            if page.prefixes.last() == Some(&group) || p.after.is_some_and(|a| group.as_str() <= a)
            {
                continue;
            }
            if count == p.max_keys {
                page.truncated = true;
                break;
            }
            page.last = Some(group.clone());
            page.prefixes.push(group);
        } else {
            if count == p.max_keys {
                page.truncated = true;
                break;
            }
            page.last = Some(key.clone());
            page.objects.push((key.clone(), value.clone()));
        }
        count += 1;
    }
    if p.max_keys == 0 {
        page.truncated = false;
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> BTreeMap<String, ()> {
        keys.iter().map(|k| (k.to_string(), ())).collect()
    }

    fn params<'a>(
        prefix: &'a str,
        delimiter: Option<&'a str>,
        after: Option<&'a str>,
        max: usize,
    ) -> ListParams<'a> {
        ListParams {
            prefix,
            delimiter,
            after,
            max_keys: max,
        }
    }

    fn keys(page: &ListPage<()>) -> Vec<&str> {
        page.objects.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn lists_sorted_with_prefix() {
        let idx = index(&["b", "a/b", "a", "a/c/d", "c"]);
        let page = list(&idx, params("", None, None, 1000));
        assert_eq!(keys(&page), ["a", "a/b", "a/c/d", "b", "c"]);
        assert!(!page.truncated);
        let page = list(&idx, params("a/", None, None, 1000));
        assert_eq!(keys(&page), ["a/b", "a/c/d"]);
    }

    #[test]
    fn delimiter_groups_common_prefixes() {
        let idx = index(&["a", "a/b", "a/c/d", "b/x", "b/y", "c"]);
        let page = list(&idx, params("", Some("/"), None, 1000));
        assert_eq!(keys(&page), ["a", "c"]);
        assert_eq!(page.prefixes, ["a/", "b/"]);
        let page = list(&idx, params("a/", Some("/"), None, 1000));
        assert_eq!(keys(&page), ["a/b"]);
        assert_eq!(page.prefixes, ["a/c/"]);
    }

    #[test]
    fn pagination_visits_every_entry_once() {
        let idx = index(&["a", "a/b", "a/c", "b/x", "b/y", "c", "d/e"]);
        let mut after: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let page = list(&idx, params("", Some("/"), after.as_deref(), 1));
            seen.extend(page.objects.iter().map(|(k, _)| k.clone()));
            seen.extend(page.prefixes.iter().cloned());
            if !page.truncated {
                break;
            }
            after = page.last.clone();
        }
        assert_eq!(seen, ["a", "a/", "b/", "c", "d/"]);
    }

    #[test]
    fn max_keys_truncates_and_zero_returns_nothing() {
        let idx = index(&["a", "b", "c"]);
        let page = list(&idx, params("", None, None, 2));
        assert_eq!(keys(&page), ["a", "b"]);
        assert!(page.truncated);
        assert_eq!(page.last.as_deref(), Some("b"));
        let page = list(&idx, params("", None, Some("b"), 2));
        assert_eq!(keys(&page), ["c"]);
        assert!(!page.truncated);
        let page = list(&idx, params("", None, None, 0));
        assert!(page.objects.is_empty() && !page.truncated);
        // Exactly max-keys entries left: not truncated.
        let page = list(&idx, params("", None, None, 3));
        assert!(!page.truncated);
    }

    #[test]
    fn start_after_before_prefix_is_ignored() {
        let idx = index(&["a1", "b1", "b2"]);
        let page = list(&idx, params("b", None, Some("a9"), 10));
        assert_eq!(keys(&page), ["b1", "b2"]);
    }
}
