//! Model-id globs: the one pattern language of rule `model` fields and history filters.
//!
//! Deliberately tiny (no classes, no escapes) so that the dots, colons and slashes of Bedrock
//! model ids and ARNs are plain literals and a pattern reads like the id it matches.

/// Whether `text` matches the glob `pattern` as a whole, case-sensitively: `*` matches any run
/// of characters (including none, and including `/`, `:` and `.`), `?` matches exactly one
/// character, every other character matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    // Where the last `*` was seen, and the text position it currently stands for the end of.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry from there.
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    p = sp + 1;
                    t = st + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything/at:all.0"));
        assert!(glob_match(
            "anthropic.*",
            "anthropic.claude-3-haiku-20240307-v1:0"
        ));
        assert!(glob_match("anthropic.*", "anthropic."));
        assert!(!glob_match("anthropic.*", "meta.llama3"));
        assert!(glob_match(
            "*claude*",
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
        ));
        assert!(glob_match("a*b*c", "abc"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("**", "x"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(glob_match("model-v?", "model-v1"));
        assert!(!glob_match("model-v?", "model-v"));
        assert!(!glob_match("model-v?", "model-v12"));
        assert!(glob_match("h?llo", "hällo"));
    }

    #[test]
    fn dots_and_colons_are_literal_and_match_is_whole_and_case_sensitive() {
        assert!(glob_match("a.b:0", "a.b:0"));
        assert!(!glob_match("a.b:0", "axb:0"));
        assert!(!glob_match("a.b", "a.b:0"));
        assert!(!glob_match("b:0", "a.b:0"));
        assert!(!glob_match("Anthropic.*", "anthropic.claude"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
    }

    #[test]
    fn arns_with_slashes() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
        assert!(glob_match("arn:aws:bedrock:*:inference-profile/*", arn));
        assert!(glob_match("*/us.anthropic.*", arn));
        assert!(glob_match("arn:aws:bedrock:us-east-1:????????????:*", arn));
        assert!(!glob_match("arn:aws:bedrock:*:foundation-model/*", arn));
    }
}
