//! How scripted text is streamed: the documented, deterministic chunking of a rule's text
//! into the content deltas of ConverseStream and InvokeModelWithResponseStream.
//!
//! The rule is word-sized chunks so that streaming clients see several events, and the
//! whitespace travels with the word before it so that concatenating the chunks gives back the
//! text exactly.

/// Splits `text` after every run of whitespace (Unicode `White_Space`, newlines included), the
/// whitespace staying with the word before it: `"Hello, big  world\n"` gives
/// `["Hello, ", "big  ", "world\n"]`. A leading whitespace run is its own first chunk; `""`
/// gives no chunks. Concatenating the chunks always gives back `text`.
pub fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut after_space = false;
    for c in text.chars() {
        let space = c.is_whitespace();
        if !space && after_space {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
        after_space = space;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::chunks;

    fn check(text: &str, expected: &[&str]) {
        let got = chunks(text);
        assert_eq!(got, expected, "chunks of {text:?}");
        assert_eq!(got.concat(), text);
    }

    #[test]
    fn documented_example() {
        check("Hello, big  world\n", &["Hello, ", "big  ", "world\n"]);
    }

    #[test]
    fn edges() {
        check("", &[]);
        check("word", &["word"]);
        check(" ", &[" "]);
        check("  lead", &["  ", "lead"]);
        check("trail  ", &["trail  "]);
        check("a b", &["a ", "b"]);
    }

    #[test]
    fn newlines_and_tabs() {
        check(
            "line one\nline two\n\n\tindented",
            &["line ", "one\n", "line ", "two\n\n\t", "indented"],
        );
        check("\r\nx", &["\r\n", "x"]);
    }

    #[test]
    fn unicode() {
        check(
            "héllo wörld 日本語\u{3000}テキスト 🙂!",
            &["héllo ", "wörld ", "日本語\u{3000}", "テキスト ", "🙂!"],
        );
        check("a\u{a0}b", &["a\u{a0}", "b"]);
    }
}
