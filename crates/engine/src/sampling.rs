//! Picking the next token from a logits vector.
//!
//! Owns the sampling semantics of DESIGN.md §4 (Determinism): temperature 0 or `top_k` 1 is
//! greedy argmax, bit-identical across runs (ties go to the lowest token id); otherwise
//! temperature, then `top_k`, then `top_p` (nucleus), drawn from one RNG per request seeded
//! with the request's seed (`rand`'s `StdRng::seed_from_u64`), so a seeded request repeats.
//! Works on a plain `&[f32]` so it is tested without a model. NaN logits are never picked.

use bedrock_local_core::SamplingParams;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Probabilities below this are ignored when looking for the nucleus, unless the tokens above
/// it do not reach `top_p` (then every token is sorted). The result is exact either way: every
/// ignored token is less likely than every kept one.
const NUCLEUS_PREFILTER: f32 = 1e-5;

/// Chooses tokens for one request.
#[derive(Debug)]
pub struct Sampler {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Greedy,
    Random {
        temperature: f32,
        top_k: Option<usize>,
        top_p: Option<f32>,
        rng: Box<StdRng>,
    },
}

impl Sampler {
    /// A sampler for these parameters. Greedy when [`SamplingParams::is_greedy`].
    pub fn new(params: &SamplingParams) -> Self {
        if params.is_greedy() || !params.temperature.is_finite() {
            return Self { mode: Mode::Greedy };
        }
        let top_p = params
            .top_p
            .filter(|p| p.is_finite() && *p > 0.0 && *p < 1.0);
        let top_k = params.top_k.filter(|k| *k > 0);
        Self {
            mode: Mode::Random {
                temperature: params.temperature,
                top_k,
                top_p,
                rng: Box::new(StdRng::seed_from_u64(params.seed)),
            },
        }
    }

    /// The next token among `candidates` (`(id, logit)` pairs) only, by the same rules:
    /// the most likely one when greedy (ties: lowest id), else a draw with this sampler's
    /// temperature, top-k and top-p. `None` when there is no candidate.
    pub fn sample_among(&mut self, mut candidates: Vec<(u32, f32)>) -> Option<u32> {
        candidates.retain(|c| !c.1.is_nan());
        match &mut self.mode {
            Mode::Greedy => candidates
                .iter()
                .min_by(|a, b| by_logit_desc(a, b))
                .map(|c| c.0),
            Mode::Random {
                temperature,
                top_k,
                top_p,
                rng,
            } => {
                candidates.sort_by_key(|c| c.0);
                draw(candidates, *temperature, *top_k, *top_p, rng)
            }
        }
    }

    /// True when this sampler always takes the most likely token.
    pub fn is_greedy(&self) -> bool {
        matches!(self.mode, Mode::Greedy)
    }

    /// The next token id. `None` only when every logit is NaN (or there are none).
    pub fn sample(&mut self, logits: &[f32]) -> Option<u32> {
        match &mut self.mode {
            Mode::Greedy => argmax(logits),
            Mode::Random {
                temperature,
                top_k,
                top_p,
                rng,
            } => sample_random(logits, *temperature, *top_k, *top_p, rng),
        }
    }
}

/// Index of the largest logit; the lowest index wins ties; NaN is skipped.
///
/// Two passes that vectorise (a 150-260k vocabulary is scanned once per token per request):
/// the largest value (`f32::max` skips NaN) in 16 running lanes, then the first index holding
/// it.
pub fn argmax(logits: &[f32]) -> Option<u32> {
    let mut lanes = [f32::NEG_INFINITY; 16];
    let chunks = logits.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = m.max(v);
        }
    }
    let m = rest
        .iter()
        .chain(&lanes)
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    logits.iter().position(|&v| v == m).map(|i| i as u32)
}

fn sample_random(
    logits: &[f32],
    temperature: f32,
    top_k: Option<usize>,
    top_p: Option<f32>,
    rng: &mut StdRng,
) -> Option<u32> {
    // Candidates as (id, logit), NaN dropped, in id order.
    let cands: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| (i as u32, v))
        .collect();
    draw(cands, temperature, top_k, top_p, rng)
}

/// Temperature, top-k, top-p over `(id, logit)` candidates (NaN-free, in id order), then one
/// draw from `rng`.
fn draw(
    mut cands: Vec<(u32, f32)>,
    temperature: f32,
    top_k: Option<usize>,
    top_p: Option<f32>,
    rng: &mut StdRng,
) -> Option<u32> {
    if cands.is_empty() {
        return None;
    }
    for c in &mut cands {
        c.1 /= temperature;
    }
    if let Some(k) = top_k {
        if k < cands.len() {
            cands.select_nth_unstable_by(k - 1, by_logit_desc);
            cands.truncate(k);
        }
    }
    // Softmax over the candidates (max subtracted; -inf becomes probability 0).
    let max = cands.iter().map(|c| c.1).fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        // Every candidate is impossible: fall back to the first (lowest id) one.
        return cands.iter().map(|c| c.0).min();
    }
    let mut probs: Vec<(u32, f32)> = cands
        .into_iter()
        .map(|(id, v)| (id, (v - max).exp()))
        .collect();
    let total: f32 = probs.iter().map(|p| p.1).sum();
    for p in &mut probs {
        p.1 /= total;
    }
    if let Some(p) = top_p {
        probs = nucleus(probs, p);
    }
    // Deterministic order for the draw: the nucleus is sorted; otherwise keep id order.
    let mass: f32 = probs.iter().map(|p| p.1).sum();
    let mut target = rng.random::<f32>() * mass;
    for &(id, prob) in &probs {
        if target < prob {
            return Some(id);
        }
        target -= prob;
    }
    // Rounding left a sliver at the end: take the last token with any probability.
    probs.iter().rev().find(|p| p.1 > 0.0).map(|p| p.0)
}

/// The smallest set of most likely tokens whose mass reaches `p` (at least one token),
/// sorted by decreasing probability (ties by id).
fn nucleus(probs: Vec<(u32, f32)>, p: f32) -> Vec<(u32, f32)> {
    let (mut kept, rest): (Vec<_>, Vec<_>) =
        probs.into_iter().partition(|c| c.1 >= NUCLEUS_PREFILTER);
    let kept_mass: f32 = kept.iter().map(|c| c.1).sum();
    if kept_mass < p {
        kept.extend(rest);
    }
    kept.sort_by(by_logit_desc);
    let mut cum = 0.0f64;
    let mut n = 0;
    for c in &kept {
        n += 1;
        cum += f64::from(c.1);
        if cum >= f64::from(p) {
            break;
        }
    }
    kept.truncate(n.max(1));
    kept
}

fn by_logit_desc(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(
        temperature: f32,
        top_k: Option<usize>,
        top_p: Option<f32>,
        seed: u64,
    ) -> SamplingParams {
        SamplingParams {
            temperature,
            top_p,
            top_k,
            seed,
        }
    }

    #[test]
    fn argmax_prefers_lowest_index_on_ties_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
        assert_eq!(argmax(&[f32::NAN, -1.0, f32::NAN]), Some(1));
        assert_eq!(argmax(&[f32::NAN]), None);
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), Some(0));
        // Across the 16-lane chunks and the remainder, against a one-pass reference.
        let reference = |v: &[f32]| {
            let mut best: Option<(usize, f32)> = None;
            for (i, &x) in v.iter().enumerate() {
                if !x.is_nan() && best.is_none_or(|(_, b)| x > b) {
                    best = Some((i, x));
                }
            }
            best.map(|(i, _)| i as u32)
        };
        let mut rng = StdRng::seed_from_u64(9);
        for len in [1usize, 15, 16, 17, 40, 1000] {
            for _ in 0..50 {
                let v: Vec<f32> = (0..len)
                    .map(|_| match rng.random_range(0..10) {
                        0 => f32::NAN,
                        1 => 0.0,
                        2 => -0.0,
                        _ => f32::from(rng.random_range(-4i8..4)),
                    })
                    .collect();
                assert_eq!(argmax(&v), reference(&v), "{v:?}");
            }
        }
    }

    #[test]
    fn temperature_zero_and_top_k_one_are_greedy() {
        let logits = [0.1, 0.5, 2.0, 1.9];
        for p in [
            params(0.0, None, None, 1),
            params(1.0, Some(1), None, 2),
            params(-1.0, None, Some(0.5), 3),
        ] {
            let mut s = Sampler::new(&p);
            assert!(s.is_greedy());
            for _ in 0..10 {
                assert_eq!(s.sample(&logits), Some(2));
            }
        }
    }

    #[test]
    fn same_seed_same_draws_different_seed_differs() {
        let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let draw = |seed| {
            let mut s = Sampler::new(&params(1.0, None, None, seed));
            (0..64)
                .map(|_| s.sample(&logits).unwrap_or(u32::MAX))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn top_k_restricts_to_the_k_best() {
        let logits = [5.0, 4.9, 4.8, -3.0, 4.7, 0.0];
        let mut s = Sampler::new(&params(5.0, Some(3), None, 11));
        for _ in 0..500 {
            let t = s.sample(&logits).unwrap_or(u32::MAX);
            assert!([0, 1, 2].contains(&t), "got {t}");
        }
    }

    #[test]
    fn top_p_keeps_the_smallest_nucleus() {
        // probabilities ~ [0.6, 0.3, 0.1 spread]: p = 0.8 keeps tokens 0 and 1 only.
        let logits = [0.6f32.ln(), 0.3f32.ln(), 0.05f32.ln(), 0.05f32.ln()];
        let mut s = Sampler::new(&params(1.0, None, Some(0.8), 5));
        let mut seen = [0usize; 4];
        for _ in 0..2000 {
            seen[s.sample(&logits).unwrap_or(0) as usize] += 1;
        }
        assert_eq!(seen[2] + seen[3], 0);
        assert!(seen[0] > seen[1] && seen[1] > 0, "{seen:?}");
    }

    #[test]
    fn nucleus_always_keeps_one_token() {
        let probs = vec![(0, 0.9), (1, 0.1)];
        assert_eq!(nucleus(probs.clone(), 0.01), vec![(0, 0.9)]);
        assert_eq!(nucleus(probs, 0.95).len(), 2);
    }

    #[test]
    fn nucleus_prefilter_falls_back_when_the_head_is_too_light() {
        // 100k tiny probabilities: none passes the prefilter, the full sort must run.
        let n = 100_000;
        let probs: Vec<(u32, f32)> = (0..n).map(|i| (i, 1.0 / n as f32)).collect();
        let kept = nucleus(probs, 0.5);
        assert!(
            kept.len() >= 49_900 && kept.len() <= 50_100,
            "{}",
            kept.len()
        );
    }

    #[test]
    fn sampling_never_picks_nan_or_impossible_tokens() {
        let logits = [f32::NAN, f32::NEG_INFINITY, 1.0, f32::NAN];
        let mut s = Sampler::new(&params(0.7, None, Some(0.9), 3));
        for _ in 0..200 {
            assert_eq!(s.sample(&logits), Some(2));
        }
        assert_eq!(
            Sampler::new(&params(1.0, None, None, 0)).sample(&[f32::NAN]),
            None
        );
    }

    #[test]
    fn high_temperature_spreads_low_temperature_sharpens() {
        let logits = [2.0, 1.0, 0.0];
        let count_best = |t| {
            let mut s = Sampler::new(&params(t, None, None, 42));
            (0..2000).filter(|_| s.sample(&logits) == Some(0)).count()
        };
        assert!(count_best(0.1) > 1950);
        assert!(count_best(10.0) < 1000);
    }
}
