//! Chat templates: the Qwen2.5-Coder GGUF's own template, the built-in fallbacks, and the
//! `transformers`-compatible helpers. Expected strings are written by hand from each
//! template's logic. Tests marked with a model read its GGUF from the environment and are
//! skipped, saying so, when it is unset.

// Test code: helpers are not `#[test]` functions, which clippy's test allowance misses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bedrock_local_core::{ChatMessage, ContentPart, Role, ToolSpec};
use bedrock_local_engine::chat_template::{builtin, ChatTemplate};
use bedrock_local_engine::tokenizer::GgufTokenizer;
use candle_core::quantized::gguf_file;

/// `tokenizer.chat_template` of qwen2.5-coder-0.5b-instruct-q4_k_m.gguf, verbatim
/// (`qwen_gguf_template_is_the_one_tested` checks it against the file).
const QWEN_TEMPLATE: &str = r##"{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"##;

const QWEN_DEFAULT_SYSTEM: &str =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

fn qwen() -> ChatTemplate {
    ChatTemplate::from_source(
        QWEN_TEMPLATE,
        Some("<|endoftext|>".into()),
        Some("<|im_end|>".into()),
    )
    .unwrap()
}

fn user(text: &str) -> ChatMessage {
    ChatMessage::text(Role::User, text)
}

fn assistant(text: &str) -> ChatMessage {
    ChatMessage::text(Role::Assistant, text)
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: Some("Get the current weather for a city".into()),
        input_schema_json: r#"{"type":"object","properties":{"city":{"type":"string","description":"City name, e.g. Zürich"}},"required":["city"]}"#.into(),
    }
}

/// What the Qwen template writes for `weather_tool` after the system text.
fn qwen_tools_block() -> String {
    concat!(
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n",
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n",
        r#"{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city", "#,
        r#""parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"}}, "required": ["city"]}}}"#,
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within ",
        "<tool_call></tool_call> XML tags:\n<tool_call>\n",
        r#"{"name": <function-name>, "arguments": <args-json-object>}"#,
        "\n</tool_call>"
    )
    .to_owned()
}

#[test]
fn qwen_renders_system_and_user() {
    let out = qwen()
        .render(
            Some("You are a helpful assistant."),
            &[user("Hello!")],
            &[],
            true,
        )
        .unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n\
         <|im_start|>user\nHello!<|im_end|>\n\
         <|im_start|>assistant\n"
    );
}

#[test]
fn qwen_inserts_its_default_system_prompt() {
    let out = qwen().render(None, &[user("Hi")], &[], true).unwrap();
    assert_eq!(
        out,
        format!(
            "<|im_start|>system\n{QWEN_DEFAULT_SYSTEM}<|im_end|>\n\
             <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        )
    );
    // An empty system prompt counts as none.
    assert_eq!(
        qwen().render(Some(""), &[user("Hi")], &[], true).unwrap(),
        out
    );
    // Without the generation prompt the assistant turn is not opened.
    let closed = qwen()
        .render(None, &[user("Hi"), assistant("Hello.")], &[], false)
        .unwrap();
    assert!(closed
        .ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"));
}

#[test]
fn qwen_lists_tools_in_the_system_turn() {
    let out = qwen()
        .render(
            Some("You are a helpful assistant."),
            &[user("Weather in Paris?")],
            &[weather_tool()],
            true,
        )
        .unwrap();
    let expected = format!(
        "<|im_start|>system\nYou are a helpful assistant.{}<|im_end|>\n\
         <|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n",
        qwen_tools_block()
    );
    assert_eq!(out, expected);
}

#[test]
fn qwen_renders_tool_calls_and_results() {
    let messages = [
        user("Weather in Paris?"),
        ChatMessage {
            role: Role::Assistant,
            content: vec![ContentPart::ToolUse {
                id: "t1".into(),
                name: "get_weather".into(),
                input_json: r#"{"city":"Paris"}"#.into(),
            }],
        },
        ChatMessage {
            role: Role::User,
            content: vec![ContentPart::ToolResult {
                id: "t1".into(),
                content: r#"{"temp_c": 18}"#.into(),
                is_error: false,
            }],
        },
    ];
    let out = qwen()
        .render(None, &messages, &[weather_tool()], true)
        .unwrap();
    let expected = format!(
        "<|im_start|>system\n{QWEN_DEFAULT_SYSTEM}{}<|im_end|>\n\
         <|im_start|>user\nWeather in Paris?<|im_end|>\n\
         <|im_start|>assistant\n<tool_call>\n{{\"name\": \"get_weather\", \"arguments\": {{\"city\": \"Paris\"}}}}\n</tool_call><|im_end|>\n\
         <|im_start|>user\n<tool_response>\n{{\"temp_c\": 18}}\n</tool_response><|im_end|>\n\
         <|im_start|>assistant\n",
        qwen_tools_block()
    );
    assert_eq!(out, expected);
}

#[test]
fn gemma_fallback_folds_the_system_prompt_into_the_first_turn() {
    let t = ChatTemplate::from_source(builtin::GEMMA, Some("<bos>".into()), Some("<eos>".into()))
        .unwrap();
    let messages = [user("  Hi there "), assistant("Hello!"), user("Bye")];
    let out = t.render(Some("Be brief."), &messages, &[], true).unwrap();
    assert_eq!(
        out,
        "<bos><start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n\
         <start_of_turn>model\nHello!<end_of_turn>\n\
         <start_of_turn>user\nBye<end_of_turn>\n\
         <start_of_turn>model\n"
    );
    // When the tokenizer adds BOS, the template's own is dropped.
    let stripped = t
        .with_bos_stripped(true)
        .render(None, &[user("Hi")], &[], true)
        .unwrap();
    assert_eq!(
        stripped,
        "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    );
}

#[test]
fn fallbacks_render_tools_and_tool_results() {
    let t = ChatTemplate::from_source(builtin::GEMMA, Some("<bos>".into()), None)
        .unwrap()
        .with_bos_stripped(true);
    let messages = [
        user("Weather?"),
        ChatMessage {
            role: Role::Assistant,
            content: vec![ContentPart::ToolUse {
                id: "a".into(),
                name: "get_weather".into(),
                input_json: r#"{"city": "Oslo"}"#.into(),
            }],
        },
        ChatMessage {
            role: Role::User,
            content: vec![
                ContentPart::ToolResult {
                    id: "a".into(),
                    content: "cold".into(),
                    is_error: false,
                },
                ContentPart::Text("Thanks".into()),
            ],
        },
    ];
    let out = t.render(None, &messages, &[weather_tool()], true).unwrap();
    let tool_json = r#"{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"}}, "required": ["city"]}}}"#;
    let expected = format!(
        "<start_of_turn>user\nYou can call the tools below. Their signatures are JSON objects inside <tools></tools>:\n\
         <tools>\n{tool_json}\n</tools>\n\n\
         To call tools, answer with one JSON object per call, each inside <tool_call></tool_call> tags:\n\
         <tool_call>\n{{\"name\": \"<tool name>\", \"arguments\": {{<arguments as JSON>}}}}\n</tool_call>\n\n\
         Weather?<end_of_turn>\n\
         <start_of_turn>model\n<tool_call>\n{{\"name\": \"get_weather\", \"arguments\": {{\"city\": \"Oslo\"}}}}\n</tool_call><end_of_turn>\n\
         <start_of_turn>user\n<tool_response>\ncold\n</tool_response><end_of_turn>\n\
         <start_of_turn>user\nThanks<end_of_turn>\n\
         <start_of_turn>model\n"
    );
    assert_eq!(out, expected);
}

#[test]
fn llama_and_chatml_fallbacks() {
    let messages = [user("Hi"), assistant("Hello."), user("Bye")];
    let l3 =
        ChatTemplate::from_source(builtin::LLAMA3, Some("<|begin_of_text|>".into()), None).unwrap();
    assert_eq!(
        l3.render(Some("Sys"), &messages, &[], true).unwrap(),
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nSys<|eot_id|>\
         <|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>\
         <|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    let l2 = ChatTemplate::from_source(builtin::LLAMA2, Some("<s>".into()), Some("</s>".into()))
        .unwrap();
    assert_eq!(
        l2.render(Some("Sys"), &messages, &[], true).unwrap(),
        "<s>[INST] <<SYS>>\nSys\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]"
    );
    let chatml = ChatTemplate::from_source(builtin::CHATML, None, None).unwrap();
    assert_eq!(
        chatml.render(None, &messages, &[], true).unwrap(),
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n\
         <|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"
    );
}

fn render_src(src: &str) -> Result<String, String> {
    ChatTemplate::from_source(src, None, None)
        .and_then(|t| {
            t.render(
                Some("  Sys Prompt  "),
                &[user("a,b,c")],
                &[weather_tool()],
                false,
            )
        })
        .map_err(|e| e.to_string())
}

#[test]
fn tojson_is_pythons_json_dumps() {
    let src = "{{ tools[0].function.parameters | tojson }}";
    assert_eq!(
        render_src(src).unwrap(),
        r#"{"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"}}, "required": ["city"]}"#
    );
    let src = "{{ {'b': 1, 'a': [1, 2.5, none, true], 'q': 'say \"hi\"\n'} | tojson(indent=2, sort_keys=true) }}";
    assert_eq!(
        render_src(src).unwrap(),
        "{\n  \"a\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"b\": 1,\n  \"q\": \"say \\\"hi\\\"\\n\"\n}"
    );
    assert_eq!(render_src("{{ 'é<&>' | tojson }}").unwrap(), "\"é<&>\"");
    assert_eq!(
        render_src("{{ 'é' | tojson(ensure_ascii=true) }}").unwrap(),
        "\"\\u00e9\""
    );
    assert_eq!(
        render_src("{{ [] | tojson }}{{ {} | tojson }}").unwrap(),
        "[]{}"
    );
}

#[test]
fn python_methods_namespace_and_loop_controls() {
    let src = concat!(
        "{%- set ns = namespace(n=0) -%}",
        "{%- for part in messages[1].content.split(',') -%}",
        "{%- if part == 'c' %}{% break %}{% endif -%}",
        "{%- set ns.n = ns.n + 1 -%}",
        "{{ part.upper() }}",
        "{%- endfor -%}",
        "|{{ ns.n }}|{{ messages[0].content.strip() }}|{{ messages[0].content.startswith('  Sys') }}",
        "|{% for k, v in tools[0].function.items() %}{{ k }},{% endfor %}",
        "|{{ messages | selectattr('role', 'equalto', 'user') | list | length }}"
    );
    assert_eq!(
        render_src(src).unwrap(),
        "AB|2|Sys Prompt|True|name,description,parameters,|1"
    );
}

#[test]
fn raise_exception_and_strftime_now() {
    let err = render_src("{{ raise_exception('Conversation roles must alternate') }}").unwrap_err();
    assert!(err.contains("Conversation roles must alternate"), "{err}");
    let year = render_src("{{ strftime_now('%Y') }}").unwrap();
    assert!(year.len() == 4 && year.starts_with('2'), "{year}");
    let date = render_src("{{ strftime_now('%d %b %Y') }}").unwrap();
    assert_eq!(date.len(), 11, "{date}");
}

#[test]
fn generation_tags_are_dropped_and_bad_templates_fail() {
    let src = "{% for m in messages %}{% generation %}{{ m.role }}{% endgeneration %}{% endfor %}";
    assert_eq!(render_src(src).unwrap(), "systemuser");
    assert!(ChatTemplate::from_source("{% if %}", None, None).is_err());
    let bad_tool = ToolSpec {
        name: "x".into(),
        description: None,
        input_schema_json: "{".into(),
    };
    let t = ChatTemplate::from_source(builtin::CHATML, None, None).unwrap();
    assert!(t.render(None, &[user("hi")], &[bad_tool], true).is_err());
}

fn model(var: &str) -> Option<(gguf_file::Content, GgufTokenizer)> {
    let Some(path) = std::env::var_os(var) else {
        println!("skipped: set {var} to the model's GGUF path to run this test");
        return None;
    };
    let content = gguf_file::Content::read(&mut std::fs::File::open(path).unwrap()).unwrap();
    let tokenizer = GgufTokenizer::from_gguf(&content).unwrap();
    Some((content, tokenizer))
}

#[test]
fn qwen_gguf_template_is_the_one_tested() {
    let Some((content, tokenizer)) = model("BEDROCK_LOCAL_TEST_QWEN_GGUF") else {
        return;
    };
    let Some(gguf_file::Value::String(own)) = content.metadata.get("tokenizer.chat_template")
    else {
        panic!("the Qwen GGUF has no chat template");
    };
    assert_eq!(own, QWEN_TEMPLATE);
    let t = ChatTemplate::from_gguf(&content, &tokenizer).unwrap();
    let out = t
        .render(
            Some("You are a helpful assistant."),
            &[user("Hello!")],
            &[],
            true,
        )
        .unwrap();
    assert_eq!(
        out,
        qwen()
            .render(
                Some("You are a helpful assistant."),
                &[user("Hello!")],
                &[],
                true
            )
            .unwrap()
    );
    let ids = tokenizer.encode(&out, true).unwrap();
    assert_eq!(ids[0], tokenizer.token_id("<|im_start|>").unwrap());
}

#[test]
fn gemma_gguf_uses_the_builtin_template_without_double_bos() {
    let Some((content, tokenizer)) = model("BEDROCK_LOCAL_TEST_GEMMA_GGUF") else {
        return;
    };
    assert!(!content.metadata.contains_key("tokenizer.chat_template"));
    let t = ChatTemplate::from_gguf(&content, &tokenizer).unwrap();
    let out = t
        .render(Some("Be brief."), &[user("Hi")], &[], true)
        .unwrap();
    assert_eq!(
        out,
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    );
    let ids = tokenizer.encode(&out, true).unwrap();
    let bos = tokenizer.token_id("<bos>").unwrap();
    assert_eq!(ids[0], bos);
    assert_ne!(ids[1], bos);
    assert_eq!(ids[1], tokenizer.token_id("<start_of_turn>").unwrap());
}
