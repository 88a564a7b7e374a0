//! The prefix cache: finished sequences' keys and values, found again by their token ids.
//!
//! A new prompt that starts with the tokens of a kept sequence (a shared system prompt, the
//! earlier turns of a chat, the same tool definitions) copies their keys and values instead
//! of computing them. Bounded by bytes; the least recently used entry goes first. A kept
//! sequence that another one extends is superseded by it (its tokens are a prefix of the
//! newer one's, so every lookup it could serve, the newer one serves too).

use crate::arch::SeqCache;

/// Finished sequences' caches by their token ids, least recently used first out.
pub struct PrefixCache {
    entries: Vec<(Vec<u32>, SeqCache, u64)>,
    budget: usize,
    bytes: usize,
    clock: u64,
}

impl PrefixCache {
    /// An empty cache holding at most `budget` bytes of keys and values.
    pub fn new(budget: usize) -> Self {
        Self {
            entries: Vec::new(),
            budget,
            bytes: 0,
            clock: 0,
        }
    }

    /// The cache of the longest stored prefix of `tokens` (leaving at least the last token
    /// to run, whose logits are wanted), and its length.
    pub fn lookup(&mut self, tokens: &[u32]) -> Option<(SeqCache, usize)> {
        let limit = tokens.len().saturating_sub(1);
        let (best, n) = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, (t, _, _))| (i, common_prefix(t, tokens).min(limit)))
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))?;
        if n == 0 {
            return None;
        }
        self.clock += 1;
        let entry = &mut self.entries[best];
        entry.2 = self.clock;
        Some((entry.1.prefix(n), n))
    }

    /// Keeps `cache` (the keys and values of `tokens`), evicting the least recently used
    /// entries beyond the budget.
    pub fn insert(&mut self, tokens: Vec<u32>, cache: SeqCache) {
        if self.budget == 0 || cache.bytes() > self.budget {
            return;
        }
        // Nothing to add if a stored sequence already starts with these tokens.
        if self
            .entries
            .iter()
            .any(|(t, _, _)| t.len() >= tokens.len() && t[..tokens.len()] == tokens[..])
        {
            return;
        }
        // Stored prefixes of the new sequence are superseded by it.
        let mut freed = 0;
        self.entries.retain(|(t, c, _)| {
            let superseded = t.len() < tokens.len() && tokens[..t.len()] == t[..];
            if superseded {
                freed += c.bytes();
            }
            !superseded
        });
        self.bytes -= freed;
        self.clock += 1;
        self.bytes += cache.bytes();
        self.entries.push((tokens, cache, self.clock));
        while self.bytes > self.budget {
            let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(i, _)| i)
            else {
                break;
            };
            let (_, c, _) = self.entries.swap_remove(oldest);
            self.bytes -= c.bytes();
        }
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{LoadOptions, Step};
    use crate::kernels::Pool;
    use crate::testing::{write_tiny_gguf, TinyArch};

    fn filled(tokens: &[u32]) -> (tempfile::TempDir, SeqCache) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        write_tiny_gguf(&path, TinyArch::Qwen2).unwrap();
        let m = crate::arch::load_transformer(&path, LoadOptions { max_context: 512 }).unwrap();
        let mut cache = m.new_cache();
        m.forward(
            &mut [Step {
                tokens,
                cache: &mut cache,
                logits: false,
            }],
            &Pool::new(1),
        )
        .unwrap();
        (dir, cache)
    }

    #[test]
    fn lookups_find_the_longest_prefix_and_leave_the_last_token_to_run() {
        let (_d, c) = filled(&[1, 2, 3, 4, 5, 6]);
        let mut p = PrefixCache::new(1 << 30);
        p.insert(vec![1, 2, 3, 4, 5, 6], c);
        assert!(p.lookup(&[9, 9]).is_none());
        let (hit, n) = p.lookup(&[1, 2, 3, 7]).unwrap();
        assert_eq!((n, hit.len()), (3, 3));
        // The whole prompt is cached: its last token still runs (its logits are wanted).
        let (_, n) = p.lookup(&[1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(n, 5);
    }

    #[test]
    fn longer_sequences_supersede_their_prefixes_and_the_budget_evicts_the_oldest() {
        let (_d1, a) = filled(&[1, 2, 3]);
        let (_d2, b) = filled(&[1, 2, 3, 4, 5]);
        let (_d3, c) = filled(&[7, 8, 9]);
        let size = b.bytes();
        let small = a.bytes();
        // Room for the long one and not quite another.
        let mut p = PrefixCache::new(size + small - 1);
        p.insert(vec![1, 2, 3], a.clone());
        p.insert(vec![1, 2, 3, 4, 5], b);
        assert_eq!(p.entries.len(), 1, "the shorter prefix is superseded");
        p.insert(vec![1, 2, 3], a);
        assert_eq!(
            p.entries.len(),
            1,
            "a prefix of a kept sequence adds nothing"
        );
        p.insert(vec![7, 8, 9], c);
        assert!(p.bytes < size + small);
        assert!(p.lookup(&[7, 8, 9, 1]).is_some());
        assert!(
            p.lookup(&[1, 2, 3, 4, 5, 6]).is_none(),
            "the oldest entry was evicted"
        );
    }
}
