//! Tests of `stream.rs` with a fake byte-level decoder: no model, no tokenizer.

use super::*;

/// Token id -> bytes; id 0 is a control token that renders nothing. With `strip_leading_space`
/// it behaves like a SentencePiece decoder that drops the first space of a decoded sequence.
struct Fake {
    vocab: Vec<Vec<u8>>,
    strip_leading_space: bool,
}

impl Fake {
    fn new(pieces: &[&[u8]]) -> Self {
        let mut vocab = vec![Vec::new()];
        vocab.extend(pieces.iter().map(|p| p.to_vec()));
        Self {
            vocab,
            strip_leading_space: false,
        }
    }
}

impl Detokenizer for Fake {
    fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend_from_slice(&self.vocab[id as usize]);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(match (self.strip_leading_space, text.strip_prefix(' ')) {
            (true, Some(rest)) => rest.to_string(),
            _ => text,
        })
    }
}

/// Runs a whole generation through a `TextStream`: (emitted chunks, stop sequence if any).
fn run(fake: &Fake, stops: &[&str], context: &[u32], ids: &[u32]) -> (Vec<String>, Option<String>) {
    let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
    let mut stream = TextStream::new(fake, &stops, context).unwrap();
    let mut out = Vec::new();
    for &id in ids {
        match stream.push(id).unwrap() {
            Step::Text(t) => out.push(t),
            Step::Stop { text, sequence } => {
                out.push(text);
                return (out, Some(sequence));
            }
        }
    }
    match stream.finish().unwrap() {
        Step::Text(t) => {
            out.push(t);
            (out, None)
        }
        Step::Stop { text, sequence } => {
            out.push(text);
            (out, Some(sequence))
        }
    }
}

fn joined(chunks: &[String]) -> String {
    chunks.concat()
}

#[test]
fn ascii_tokens_are_emitted_at_once() {
    let fake = Fake::new(&[b"Hel", b"lo", b" world"]);
    let (chunks, stop) = run(&fake, &[], &[], &[1, 2, 3]);
    assert_eq!(chunks, vec!["Hel", "lo", " world", ""]);
    assert_eq!(stop, None);
}

#[test]
fn a_character_split_over_byte_tokens_is_held_until_complete() {
    // "€" = E2 82 AC, "😀" = F0 9F 98 80
    let fake = Fake::new(&[
        b"a",
        &[0xE2],
        &[0x82],
        &[0xAC],
        &[0xF0, 0x9F],
        &[0x98, 0x80],
    ]);
    let (chunks, _) = run(&fake, &[], &[], &[1, 2, 3, 4, 5, 6, 1]);
    assert_eq!(chunks, vec!["a", "", "", "€", "", "😀", "a", ""]);
}

#[test]
fn an_incomplete_character_at_the_end_is_flushed_as_replacement() {
    let fake = Fake::new(&[b"ok", &[0xE2, 0x82]]);
    let (chunks, _) = run(&fake, &[], &[], &[1, 2]);
    assert_eq!(joined(&chunks), "ok\u{FFFD}");
}

#[test]
fn control_tokens_render_nothing() {
    let fake = Fake::new(&[b"x"]);
    let (chunks, _) = run(&fake, &[], &[], &[1, 0, 0, 1]);
    assert_eq!(joined(&chunks), "xx");
}

#[test]
fn leading_space_survives_a_stripping_decoder_thanks_to_context() {
    let mut fake = Fake::new(&[b" The", b" capital", b" Paris"]);
    fake.strip_leading_space = true;
    let (chunks, _) = run(&fake, &[], &[1, 2], &[3]);
    assert_eq!(joined(&chunks), " Paris");
    // Without context the first space is lost (the decoder strips it), as documented.
    let (chunks, _) = run(&fake, &[], &[], &[3]);
    assert_eq!(joined(&chunks), "Paris");
}

#[test]
fn context_with_a_broken_character_is_trimmed() {
    let fake = Fake::new(&[b"a", &[0xE2], b"b"]);
    // Context ends with half a character: it must not poison the first delta.
    let (chunks, _) = run(&fake, &[], &[1, 2], &[3]);
    assert_eq!(joined(&chunks), "b");
}

#[test]
fn stop_sequence_inside_one_token_cuts_the_text() {
    let fake = Fake::new(&[b"Hello", b" wor", b"ld. Bye"]);
    let (chunks, stop) = run(&fake, &["."], &[], &[1, 2, 3]);
    assert_eq!(joined(&chunks), "Hello world");
    assert_eq!(stop.as_deref(), Some("."));
}

#[test]
fn stop_sequence_across_tokens_is_never_emitted() {
    let fake = Fake::new(&[b"abc", b"EN", b"D", b"xyz"]);
    let (chunks, stop) = run(&fake, &["END"], &[], &[1, 2, 3, 4]);
    assert_eq!(chunks, vec!["abc", "", ""]);
    assert_eq!(stop.as_deref(), Some("END"));
}

#[test]
fn a_partial_stop_is_released_when_the_text_diverges() {
    let fake = Fake::new(&[b"abc", b"EN", b"X"]);
    let (chunks, stop) = run(&fake, &["END"], &[], &[1, 2, 3]);
    assert_eq!(chunks, vec!["abc", "", "ENX", ""]);
    assert_eq!(stop, None);
}

#[test]
fn a_partial_stop_at_the_end_is_flushed_as_text() {
    let fake = Fake::new(&[b"abc", b"EN"]);
    let (chunks, stop) = run(&fake, &["END"], &[], &[1, 2]);
    assert_eq!(joined(&chunks), "abcEN");
    assert_eq!(stop, None);
}

#[test]
fn stop_at_the_very_start_gives_empty_text() {
    let fake = Fake::new(&[b"\n\n", b"more"]);
    let (chunks, stop) = run(&fake, &["\n\n"], &[], &[1, 2]);
    assert_eq!(joined(&chunks), "");
    assert_eq!(stop.as_deref(), Some("\n\n"));
}

#[test]
fn earliest_stop_wins_and_longest_on_a_tie() {
    let fake = Fake::new(&[b"one two three"]);
    let (chunks, stop) = run(&fake, &["three", "two"], &[], &[1]);
    assert_eq!(
        (joined(&chunks), stop.as_deref()),
        ("one ".into(), Some("two"))
    );
    let (chunks, stop) = run(&fake, &["tw", "two"], &[], &[1]);
    assert_eq!(
        (joined(&chunks), stop.as_deref()),
        ("one ".into(), Some("two"))
    );
}

#[test]
fn overlapping_prefixes_hold_only_what_can_still_match() {
    // "aab" with stop "ab": first "a" can be emitted once the second "a" arrives.
    let fake = Fake::new(&[b"a", b"b"]);
    let (chunks, stop) = run(&fake, &["ab"], &[], &[1, 1, 2]);
    assert_eq!(chunks, vec!["", "a", ""]);
    assert_eq!(stop.as_deref(), Some("ab"));
}

#[test]
fn multibyte_stop_sequences_split_over_byte_tokens() {
    // stop "€!" spread over four byte tokens.
    let fake = Fake::new(&[b"x", &[0xE2], &[0x82], &[0xAC], b"!"]);
    let (chunks, stop) = run(&fake, &["€!"], &[], &[1, 2, 3, 4, 5, 1]);
    assert_eq!(joined(&chunks), "x");
    assert_eq!(stop.as_deref(), Some("€!"));
}

#[test]
fn empty_stop_sequences_are_ignored() {
    let fake = Fake::new(&[b"abc"]);
    let (chunks, stop) = run(&fake, &[""], &[], &[1]);
    assert_eq!((joined(&chunks), stop), ("abc".into(), None));
}

#[test]
fn matcher_holds_a_suffix_only_at_char_boundaries() {
    let mut m = StopMatcher::new(&["é!".to_string()]);
    assert_eq!(m.push("caf"), Step::Text("caf".into()));
    assert_eq!(m.push("é"), Step::Text(String::new()));
    assert_eq!(m.finish(""), Step::Text("é".into()));
}

/// A tiny deterministic generator for the randomized tests.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// A vocabulary of ASCII words, whole multi-byte characters, and their byte fragments.
fn fragment_vocab() -> Fake {
    let pieces: Vec<Vec<u8>> = vec![
        b"a".to_vec(),
        b"b".to_vec(),
        b" ".to_vec(),
        b"ab".to_vec(),
        b"ba ".to_vec(),
        "é".as_bytes().to_vec(),
        vec![0xC3],
        vec![0xA9],
        "€".as_bytes().to_vec(),
        vec![0xE2, 0x82],
        vec![0xAC],
        vec![0xF0],
        vec![0x9F, 0x98],
        vec![0x80],
        "日本".as_bytes().to_vec(),
    ];
    let refs: Vec<&[u8]> = pieces.iter().map(|p| p.as_slice()).collect();
    Fake::new(&refs)
}

#[test]
fn randomized_chunks_always_concatenate_to_the_full_decode() {
    let fake = fragment_vocab();
    let mut rng = Lcg(1);
    for _ in 0..500 {
        let len = 1 + rng.next() as usize % 30;
        let ids: Vec<u32> = (0..len).map(|_| rng.next() as u32 % 16).collect();
        let (chunks, stop) = run(&fake, &[], &[], &ids);
        assert_eq!(stop, None);
        assert_eq!(joined(&chunks), fake.decode(&ids).unwrap(), "ids {ids:?}");
    }
}

#[test]
fn randomized_stops_cut_at_the_first_occurrence() {
    let fake = fragment_vocab();
    let stops = ["ab ", "é€", "ba", "日"];
    let mut rng = Lcg(2);
    for _ in 0..2000 {
        let len = 1 + rng.next() as usize % 30;
        // No fragment tokens here, so the full decode has no U+FFFD and the expectation is
        // simply "the full text cut before the first stop".
        let whole = [1u32, 2, 3, 4, 5, 6, 9, 15];
        let ids: Vec<u32> = (0..len)
            .map(|_| whole[rng.next() as usize % whole.len()])
            .collect();
        let stop = stops[rng.next() as usize % stops.len()];
        let full = fake.decode(&ids).unwrap();
        let (chunks, matched) = run(&fake, &[stop], &[], &ids);
        match full.find(stop) {
            Some(at) => {
                assert_eq!(joined(&chunks), &full[..at], "ids {ids:?} stop {stop:?}");
                assert_eq!(matched.as_deref(), Some(stop));
            }
            None => {
                assert_eq!(joined(&chunks), full);
                assert_eq!(matched, None);
            }
        }
    }
}
