//! The ordered rule list the server consults for every runtime call: adding (validated,
//! all-or-nothing), listing, removing, clearing, and deciding which rule answers a call.
//!
//! One mutex guards the list, the id counter and the seeded random generator together, so that
//! `decide` is atomic (a one-shot rule answers exactly one call even under concurrency) and a
//! fixed seed gives a reproducible sequence of probabilistic decisions.

use crate::spec::{Api, Respond, RuleSpec, Scope};
use crate::validate::{check, Matcher};
use crate::{glob_match, DoublesError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// What a rule is matched against, built by the server for each call.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The runtime API called.
    pub api: Api,
    /// The model id as the caller sent it (percent-decoded): a Bedrock model id, an inference
    /// profile id or an ARN.
    pub model_id: &'a str,
    /// The text of the last user message (`""` if none).
    pub last_user: &'a str,
    /// The whole prompt as text (system and all messages, newline-joined).
    pub prompt: &'a str,
}

/// A validated rule as listed: `{"id": "r1", ...the spec fields..., "matched": 3,
/// "remaining": 1}` (`remaining` is `null` for a rule that repeats forever).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// The rule's id (the user's or an assigned `rN`).
    pub id: String,
    /// The rule as written, with `id` moved out to [`RuleInfo::id`] (so `spec.id` is `None`).
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// How many calls this rule has answered.
    pub matched: u64,
    /// How many more calls it answers before it is removed (`None`: forever).
    pub remaining: Option<u32>,
}

/// What to do for one call: the rule that fired, its answer, and the latency to add first.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The id of the rule that fired (recorded in the call history).
    pub rule_id: String,
    /// The answer to give.
    pub respond: Respond,
    /// Wait this long before answering (`None` when the rule has no `delay_ms` or it is 0).
    pub delay: Option<Duration>,
}

/// A rule in the list: the spec plus its compiled prompt condition and counters.
#[derive(Debug)]
struct Rule {
    id: String,
    spec: RuleSpec,
    matcher: Option<Matcher>,
    matched: u64,
    remaining: Option<u32>,
}

impl Rule {
    fn matches(&self, call: &Call<'_>) -> bool {
        let spec = &self.spec;
        if !spec.api.as_ref().is_none_or(|apis| apis.contains(call.api)) {
            return false;
        }
        if !spec
            .model
            .as_deref()
            .is_none_or(|glob| glob_match(glob, call.model_id))
        {
            return false;
        }
        let text = match spec.scope.unwrap_or_default() {
            Scope::LastUser => call.last_user,
            Scope::Prompt => call.prompt,
        };
        self.matcher.as_ref().is_none_or(|m| m.is_match(text))
    }

    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.clone(),
            spec: self.spec.clone(),
            matched: self.matched,
            remaining: self.remaining,
        }
    }
}

#[derive(Debug)]
struct Inner {
    rules: Vec<Rule>,
    /// The number of the next assigned id (`r{next_id}`); reset only by `clear`.
    next_id: u64,
    rng: StdRng,
}

/// The ordered rule list. Thread-safe (one interior mutex); share it in an `Arc`.
#[derive(Debug)]
pub struct Rules {
    seed: u64,
    inner: Mutex<Inner>,
}

impl Rules {
    /// An empty list whose probabilistic rules draw from a generator seeded with `seed` (the
    /// generator is reseeded by [`Rules::clear`], so every test that starts with a clear sees
    /// the same sequence).
    pub fn new(seed: u64) -> Self {
        Rules {
            seed,
            inner: Mutex::new(Inner {
                rules: Vec::new(),
                next_id: 1,
                rng: StdRng::seed_from_u64(seed),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the list half-edited (every edit is a
        // single push/remove), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Validates `spec` (glob, regex, error code, probability in `0..=1`, `times >= 1`, tool
    /// input an object, id unique) and appends it. Its id is the user's `id` or the next `rN`.
    pub fn add(&self, spec: RuleSpec) -> Result<RuleInfo, DoublesError> {
        let mut added = self.insert(vec![spec], false)?;
        added
            .pop()
            .ok_or_else(|| DoublesError::InvalidRule("no rule given".into()))
    }

    /// Validates all of `specs` first and appends them in order; if one is invalid none is
    /// added, and the message says which (`rule 2 (id "x"): ...`, 1-based).
    pub fn add_all(&self, specs: Vec<RuleSpec>) -> Result<Vec<RuleInfo>, DoublesError> {
        self.insert(specs, true)
    }

    fn insert(&self, specs: Vec<RuleSpec>, numbered: bool) -> Result<Vec<RuleInfo>, DoublesError> {
        let context = |index: usize, spec: &RuleSpec, message: String| {
            let prefix = match (numbered, &spec.id) {
                (true, Some(id)) => format!("rule {} (id \"{id}\"): ", index + 1),
                (true, None) => format!("rule {}: ", index + 1),
                (false, _) => String::new(),
            };
            DoublesError::InvalidRule(format!("{prefix}{message}"))
        };
        let mut inner = self.lock();
        let mut taken: HashSet<String> = inner.rules.iter().map(|r| r.id.clone()).collect();
        let mut compiled = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let matcher = check(spec).map_err(|m| context(index, spec, m))?;
            if let Some(id) = &spec.id {
                if !taken.insert(id.clone()) {
                    let message = format!("duplicate rule id `{id}`");
                    return Err(context(index, spec, message));
                }
            }
            compiled.push(matcher);
        }
        let mut added = Vec::with_capacity(specs.len());
        for (mut spec, matcher) in specs.into_iter().zip(compiled) {
            let id = match spec.id.take() {
                Some(id) => id,
                None => loop {
                    let candidate = format!("r{}", inner.next_id);
                    inner.next_id += 1;
                    if taken.insert(candidate.clone()) {
                        break candidate;
                    }
                },
            };
            let rule = Rule {
                id,
                remaining: spec.times,
                spec,
                matcher,
                matched: 0,
            };
            tracing::debug!(rule = %rule.id, "test-double rule added");
            added.push(rule.info());
            inner.rules.push(rule);
        }
        Ok(added)
    }

    /// The rules in order.
    pub fn list(&self) -> Vec<RuleInfo> {
        self.lock().rules.iter().map(Rule::info).collect()
    }

    /// Removes the rule with this id; false if there is none.
    pub fn remove(&self, id: &str) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|rule| rule.id != id);
        inner.rules.len() != before
    }

    /// Removes every rule, restarts assigned ids at `r1` and reseeds the generator.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.rules.clear();
        inner.next_id = 1;
        inner.rng = StdRng::seed_from_u64(self.seed);
    }

    /// The first rule in order that matches `call` and fires (a rule with `probability` p
    /// fires with probability p, else the following rules are tried). Counts the call on that
    /// rule, decrements its `times` and removes it when exhausted. `None`: no rule applies and
    /// the call goes to the model.
    pub fn decide(&self, call: &Call<'_>) -> Option<Decision> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut fired = None;
        for (index, rule) in inner.rules.iter().enumerate() {
            if !rule.matches(call) {
                continue;
            }
            let p = rule.spec.probability.unwrap_or(1.0);
            // Only genuine coin flips draw from the generator, so adding a certain rule does
            // not shift the sequence a probabilistic one sees.
            let fires = if p >= 1.0 {
                true
            } else if p <= 0.0 {
                false
            } else {
                inner.rng.random::<f64>() < p
            };
            if fires {
                fired = Some(index);
                break;
            }
        }
        let index = fired?;
        let rule = inner.rules.get_mut(index)?;
        rule.matched += 1;
        let decision = Decision {
            rule_id: rule.id.clone(),
            respond: rule.spec.respond.clone(),
            delay: rule
                .spec
                .delay_ms
                .filter(|&ms| ms > 0)
                .map(Duration::from_millis),
        };
        let exhausted = match rule.remaining.as_mut() {
            Some(left) => {
                *left = left.saturating_sub(1);
                *left == 0
            }
            None => false,
        };
        if exhausted {
            inner.rules.remove(index);
        }
        tracing::debug!(rule = %decision.rule_id, api = %call.api, model = call.model_id, "test-double rule fired");
        Some(decision)
    }

    /// Parses a rules document (the rules file, or a control-API body): a JSON array of rules,
    /// `{"rules": [...]}`, or a single rule object. Errors say which entry is wrong
    /// (`rule 3 (id "x"): unknown field ...`, 1-based). Parsing does not validate; `add_all`
    /// does.
    pub fn parse_file(text: &str) -> Result<Vec<RuleSpec>, DoublesError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| DoublesError::Parse(format!("not valid JSON: {e}")))?;
        let entries = match value {
            Value::Array(entries) => entries,
            Value::Object(mut object) if object.contains_key("rules") => {
                if let Some(other) = object.keys().find(|key| *key != "rules") {
                    return Err(DoublesError::Parse(format!(
                        "unexpected key `{other}` next to `rules`"
                    )));
                }
                match object.remove("rules") {
                    Some(Value::Array(entries)) => entries,
                    _ => return Err(DoublesError::Parse("`rules` must be an array".into())),
                }
            }
            Value::Object(object) => vec![Value::Object(object)],
            _ => {
                return Err(DoublesError::Parse(
                    "expected a JSON array of rules, {\"rules\": [...]}, or one rule object".into(),
                ))
            }
        };
        entries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                let id = entry.get("id").and_then(Value::as_str).map(str::to_owned);
                serde_json::from_value(entry).map_err(|e| {
                    let at = match id {
                        Some(id) => format!("rule {} (id \"{id}\")", index + 1),
                        None => format!("rule {}", index + 1),
                    };
                    DoublesError::Parse(format!("{at}: {e}"))
                })
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
