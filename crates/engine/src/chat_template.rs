//! Chat templates: turning a system prompt, messages and tools into the prompt text a model was
//! trained on.
//!
//! The template is the model's own Jinja template (`tokenizer.chat_template` in the GGUF), or a
//! built-in one chosen by architecture when the file has none. Rendering follows Hugging Face
//! `transformers` (`apply_chat_template`), the reference every published template is written
//! for: blocks trimmed (`trim_blocks`, `lstrip_blocks`), `raise_exception`, `strftime_now`, a
//! `tojson` that is Python's `json.dumps` (`", "`/`": "` separators, non-ASCII kept, keys in
//! insertion order), Python string and dict methods (`.strip()`, `.items()`...), `namespace` and
//! loop controls. Messages take the shape `transformers` callers pass: `{role, content}`, tool
//! calls on assistant messages, tool results as `role: "tool"` messages. Template fixes needed
//! for minijinja go through [`normalize_source`] only.

use std::time::{SystemTime, UNIX_EPOCH};

use bedrock_local_core::{ChatMessage, ContentPart, Role, ToolSpec};
use candle_core::quantized::gguf_file::{Content, Value as GgufValue};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};
use serde_json::{json, Map, Value as Json};

use crate::tokenizer::GgufTokenizer;
use crate::{EngineError, Result};

const TEMPLATE_NAME: &str = "chat";

/// A compiled chat template. `Send + Sync`; render from any thread.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: Option<String>,
    eos: Option<String>,
    strip_bos: bool,
}

impl ChatTemplate {
    /// The GGUF's own template (`tokenizer.chat_template`), or a built-in one by
    /// `general.architecture`: Gemma's turn format for `gemma*` (system folded into the first
    /// user turn), Llama-3 headers for `llama` when `<|start_header_id|>` is a token, else
    /// Llama-2 `[INST]`, and ChatML for anything else. Rendered prompts never start with the
    /// BOS text when the tokenizer adds BOS itself, so encode them with `add_bos = true`.
    pub fn from_gguf(content: &Content, tokenizer: &GgufTokenizer) -> Result<Self> {
        let own = match content.metadata.get("tokenizer.chat_template") {
            Some(GgufValue::String(source)) if !source.trim().is_empty() => Some(source.as_str()),
            _ => None,
        };
        let source = match own {
            Some(source) => source,
            None => {
                let arch = match content.metadata.get("general.architecture") {
                    Some(GgufValue::String(arch)) => arch.as_str(),
                    _ => "",
                };
                let (name, source) = builtin_for(arch, tokenizer);
                tracing::info!(
                    arch,
                    template = name,
                    "the GGUF has no chat template; using a built-in one"
                );
                source
            }
        };
        Ok(
            Self::from_source(source, tokenizer.bos_token(), tokenizer.eos_token())?
                .with_bos_stripped(tokenizer.adds_bos()),
        )
    }

    /// Compiles a template from its Jinja source. `bos`/`eos` are what `bos_token` and
    /// `eos_token` render as. The result keeps a leading BOS; see
    /// [`with_bos_stripped`](Self::with_bos_stripped).
    pub fn from_source(source: &str, bos: Option<String>, eos: Option<String>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned(TEMPLATE_NAME, normalize_source(source))
            .map_err(|e| EngineError::Template(format!("{e:#}")))?;
        Ok(Self {
            env,
            bos,
            eos,
            strip_bos: false,
        })
    }

    /// Whether [`render`](Self::render) removes the BOS text the template writes first
    /// (set it when the tokenizer adds BOS on its own, as llama.cpp's server does).
    pub fn with_bos_stripped(mut self, strip: bool) -> Self {
        self.strip_bos = strip;
        self
    }

    /// Renders a conversation. `system` becomes a leading `system` message (an empty one is
    /// left out); `tools` are passed only when there are some; `add_generation_prompt` opens
    /// the assistant's turn. Template errors (including `raise_exception`) become
    /// [`EngineError::Template`]; so does a tool whose input schema is not JSON.
    pub fn render(
        &self,
        system: Option<&str>,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let mut ctx = Map::new();
        ctx.insert(
            "messages".into(),
            Json::Array(hf_messages(system, messages)),
        );
        if !tools.is_empty() {
            ctx.insert("tools".into(), Json::Array(hf_tools(tools)?));
        }
        ctx.insert(
            "add_generation_prompt".into(),
            Json::Bool(add_generation_prompt),
        );
        if let Some(bos) = &self.bos {
            ctx.insert("bos_token".into(), Json::String(bos.clone()));
        }
        if let Some(eos) = &self.eos {
            ctx.insert("eos_token".into(), Json::String(eos.clone()));
        }
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| EngineError::Template(format!("{e:#}")))?;
        let mut out = template
            .render(Value::from_serialize(Json::Object(ctx)))
            .map_err(|e| EngineError::Template(format!("{e:#}")))?;
        if self.strip_bos {
            if let Some(bos) = self.bos.as_deref().filter(|b| !b.is_empty()) {
                if out.starts_with(bos) {
                    out.drain(..bos.len());
                }
            }
        }
        Ok(out)
    }
}

/// The one place templates are adapted to minijinja: `{% generation %}` markers (a
/// `transformers` training extension) are dropped.
pub fn normalize_source(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        let Some(len) = rest[start..].find("%}").map(|e| e + 2) else {
            break;
        };
        let tag =
            rest[start + 2..start + len - 2].trim_matches(|c: char| c == '-' || c.is_whitespace());
        out.push_str(&rest[..start]);
        if tag != "generation" && tag != "endgeneration" {
            out.push_str(&rest[start..start + len]);
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Messages in the shape `transformers` templates expect.
fn hf_messages(system: Option<&str>, messages: &[ChatMessage]) -> Vec<Json> {
    let mut out = Vec::with_capacity(messages.len() + 1);
    if let Some(system) = system.filter(|s| !s.is_empty()) {
        out.push(json!({"role": "system", "content": system}));
    }
    for message in messages {
        match message.role {
            Role::Assistant => {
                let mut text = String::new();
                let mut calls = Vec::new();
                for part in &message.content {
                    match part {
                        ContentPart::Text(t) => text.push_str(t),
                        ContentPart::ToolUse {
                            id,
                            name,
                            input_json,
                        } => calls.push(json!({
                            "id": id,
                            "type": "function",
                            "function": {"name": name, "arguments": arguments(input_json)},
                        })),
                        // A tool result never comes from the assistant; keep its text.
                        ContentPart::ToolResult { content, .. } => text.push_str(content),
                    }
                }
                let mut m = json!({"role": "assistant", "content": text});
                if !calls.is_empty() {
                    m["tool_calls"] = Json::Array(calls);
                }
                out.push(m);
            }
            Role::User => {
                let mut text = String::new();
                let mut pushed = false;
                for part in &message.content {
                    match part {
                        ContentPart::Text(t) => text.push_str(t),
                        ContentPart::ToolResult { id, content, .. } => {
                            if !text.is_empty() {
                                out.push(
                                    json!({"role": "user", "content": std::mem::take(&mut text)}),
                                );
                            }
                            out.push(
                                json!({"role": "tool", "tool_call_id": id, "content": content}),
                            );
                            pushed = true;
                        }
                        // A tool call never comes from the user; keep its arguments as text.
                        ContentPart::ToolUse { input_json, .. } => text.push_str(input_json),
                    }
                }
                if !text.is_empty() || !pushed {
                    out.push(json!({"role": "user", "content": text}));
                }
            }
        }
    }
    out
}

/// Tool-call arguments as an object (as `transformers` callers pass them); text that is not
/// JSON stays a string.
fn arguments(input_json: &str) -> Json {
    serde_json::from_str(input_json).unwrap_or_else(|_| Json::String(input_json.to_owned()))
}

/// Tools in the OpenAI/`transformers` function shape.
fn hf_tools(tools: &[ToolSpec]) -> Result<Vec<Json>> {
    tools
        .iter()
        .map(|tool| {
            let parameters: Json = serde_json::from_str(&tool.input_schema_json).map_err(|e| {
                EngineError::Template(format!("tool {}: input schema is not JSON: {e}", tool.name))
            })?;
            let mut function = Map::new();
            function.insert("name".into(), Json::String(tool.name.clone()));
            if let Some(d) = &tool.description {
                function.insert("description".into(), Json::String(d.clone()));
            }
            function.insert("parameters".into(), parameters);
            Ok(json!({"type": "function", "function": Json::Object(function)}))
        })
        .collect()
}

/// `raise_exception(message)`: templates reject conversations they cannot render.
fn raise_exception(message: String) -> std::result::Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// `value | tojson(indent=None, separators=None, sort_keys=False, ensure_ascii=False)`, as
/// Python's `json.dumps` writes it.
fn tojson(value: &Value, kwargs: Kwargs) -> std::result::Result<Value, Error> {
    let indent: Option<Value> = kwargs.get("indent")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_owned(),
            None => " ".repeat(usize::try_from(v.as_i64().unwrap_or(0)).unwrap_or(0)),
        }),
    };
    let (item_sep, key_sep) = match separators.as_deref() {
        Some([item, key]) => (item.clone(), key.clone()),
        _ if indent.is_some() => (",".to_owned(), ": ".to_owned()),
        _ => (", ".to_owned(), ": ".to_owned()),
    };
    let json = serde_json::to_value(value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    let mut out = String::new();
    let style = JsonStyle {
        indent,
        item_sep,
        key_sep,
        sort_keys: sort_keys.unwrap_or(false),
        ensure_ascii: ensure_ascii.unwrap_or(false),
    };
    style.write(&json, 0, &mut out);
    Ok(Value::from_safe_string(out))
}

/// Python `json.dumps` formatting options.
struct JsonStyle {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    ensure_ascii: bool,
}

impl JsonStyle {
    fn write(&self, value: &Json, depth: usize, out: &mut String) {
        match value {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&n.to_string()),
            Json::String(s) => self.string(s, out),
            Json::Array(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    self.separator(i, depth + 1, out);
                    self.write(item, depth + 1, out);
                }
                self.close(depth, out);
                out.push(']');
            }
            Json::Object(map) => {
                if map.is_empty() {
                    out.push_str("{}");
                    return;
                }
                let mut entries: Vec<(&String, &Json)> = map.iter().collect();
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                }
                out.push('{');
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    self.separator(i, depth + 1, out);
                    self.string(key, out);
                    out.push_str(&self.key_sep);
                    self.write(item, depth + 1, out);
                }
                self.close(depth, out);
                out.push('}');
            }
        }
    }

    fn separator(&self, index: usize, depth: usize, out: &mut String) {
        if index > 0 {
            out.push_str(&self.item_sep);
        }
        if let Some(indent) = &self.indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth));
        }
    }

    fn close(&self, depth: usize, out: &mut String) {
        if let Some(indent) = &self.indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth));
        }
    }

    fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ensure_ascii && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// `strftime_now(format)`: the current UTC time formatted like Python's `strftime` (the
/// common directives, plus glibc's `%-d` style unpadded forms).
fn strftime_now(format: String) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    strftime(&format, secs)
}

/// Formats a Unix time (UTC).
pub(crate) fn strftime(format: &str, unix_secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = usize::try_from((days + 3) % 7).unwrap_or(0); // 1970-01-01 was a Thursday
    let year_day = days - days_from_civil(year, 1, 1) + 1;
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    let month_name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = chars.next();
        let unpadded = spec == Some('-');
        if unpadded {
            spec = chars.next();
        }
        let num = |v: u64, width: usize| {
            if unpadded {
                v.to_string()
            } else {
                format!("{v:0width$}")
            }
        };
        let text = match spec {
            Some('Y') => year.to_string(),
            Some('y') => num(year % 100, 2),
            Some('m') => num(month, 2),
            Some('d') => num(day, 2),
            Some('e') => format!("{day:>2}"),
            Some('H') => num(hour, 2),
            Some('I') => num((hour + 11) % 12 + 1, 2),
            Some('M') => num(minute, 2),
            Some('S') => num(second, 2),
            Some('p') => (if hour < 12 { "AM" } else { "PM" }).to_owned(),
            Some('j') => num(year_day, 3),
            Some('B') => month_name.to_owned(),
            Some('b' | 'h') => month_name[..3].to_owned(),
            Some('A') => DAYS[weekday].to_owned(),
            Some('a') => DAYS[weekday][..3].to_owned(),
            Some('Z') => "UTC".to_owned(),
            Some('z') => "+0000".to_owned(),
            Some('%') => "%".to_owned(),
            Some(other) => format!("%{other}"),
            None => "%".to_owned(),
        };
        out.push_str(&text);
    }
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01 (years from 1970 on).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y % 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// Which built-in template an architecture gets, with its name for logs.
pub fn builtin_for(arch: &str, tokenizer: &GgufTokenizer) -> (&'static str, &'static str) {
    if arch.starts_with("gemma") {
        ("gemma", builtin::GEMMA)
    } else if arch == "llama" && tokenizer.token_id("<|start_header_id|>").is_some() {
        ("llama3", builtin::LLAMA3)
    } else if arch == "llama" {
        ("llama2", builtin::LLAMA2)
    } else {
        ("chatml", builtin::CHATML)
    }
}

/// Built-in templates for GGUF files without one. They share a prelude that takes a leading
/// system message off the turns, appends a tool list when there are tools, and writes
/// assistant tool calls as `<tool_call>{"name": ..., "arguments": ...}</tool_call>` (the
/// Hermes/Qwen convention the tool-call parser reads).
pub mod builtin {
    macro_rules! prelude {
        () => {
            r#"
{%- macro tool_prompt(tools) -%}
{{- 'You can call the tools below. Their signatures are JSON objects inside <tools></tools>:\n<tools>' -}}
{%- for tool in tools -%}{{- '\n' + (tool | tojson) -}}{%- endfor -%}
{{- '\n</tools>\n\nTo call tools, answer with one JSON object per call, each inside <tool_call></tool_call> tags:\n<tool_call>\n{"name": "<tool name>", "arguments": {<arguments as JSON>}}\n</tool_call>' -}}
{%- endmacro -%}
{%- macro tool_calls(m) -%}
{%- for call in m.tool_calls -%}
{%- set f = call.function if call.function is defined else call -%}
{{- ('\n' if not loop.first else '') + '<tool_call>\n{"name": "' + f.name + '", "arguments": ' + (f.arguments | tojson) + '}\n</tool_call>' -}}
{%- endfor -%}
{%- endmacro -%}
{%- set ns = namespace(system='') -%}
{%- if messages and messages[0].role == 'system' -%}
{%- set ns.system = messages[0].content -%}
{%- set turns = messages[1:] -%}
{%- else -%}
{%- set turns = messages -%}
{%- endif -%}
{%- if tools -%}
{%- set ns.system = (ns.system + '\n\n' if ns.system else '') + tool_prompt(tools) -%}
{%- endif -%}
"#
        };
    }

    /// Gemma: `<start_of_turn>user|model`, the system prompt folded into the first turn.
    pub const GEMMA: &str = concat!(
        prelude!(),
        r#"
{{- bos_token -}}
{%- for m in turns -%}
{%- set prefix = (ns.system + '\n\n') if loop.first and ns.system else '' -%}
{%- if m.role == 'tool' -%}
{%- if loop.first or loop.previtem.role != 'tool' -%}{{- '<start_of_turn>user\n' + prefix -}}{%- endif -%}
{{- '<tool_response>\n' + m.content + '\n</tool_response>' -}}
{{- '<end_of_turn>\n' if loop.last or loop.nextitem.role != 'tool' else '\n' -}}
{%- else -%}
{{- '<start_of_turn>' + ('model' if m.role == 'assistant' else 'user') + '\n' + prefix + (m.content | trim) -}}
{%- if m.tool_calls -%}{{- ('\n' if m.content | trim else '') + tool_calls(m) -}}{%- endif -%}
{{- '<end_of_turn>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}
"#
    );

    /// Llama 3: header-delimited turns ending in `<|eot_id|>`; tool results as `ipython`.
    pub const LLAMA3: &str = concat!(
        prelude!(),
        r#"
{{- bos_token -}}
{%- if ns.system -%}{{- '<|start_header_id|>system<|end_header_id|>\n\n' + (ns.system | trim) + '<|eot_id|>' -}}{%- endif -%}
{%- for m in turns -%}
{{- '<|start_header_id|>' + ('ipython' if m.role == 'tool' else m.role) + '<|end_header_id|>\n\n' + (m.content | trim) -}}
{%- if m.tool_calls -%}{{- ('\n' if m.content | trim else '') + tool_calls(m) -}}{%- endif -%}
{{- '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}
"#
    );

    /// Llama 2: `<s>[INST] <<SYS>>...<</SYS>> user [/INST] answer </s>`.
    pub const LLAMA2: &str = concat!(
        prelude!(),
        r#"
{%- for m in turns -%}
{%- if m.role == 'assistant' -%}
{{- ' ' + (m.content | trim) -}}
{%- if m.tool_calls -%}{{- ('\n' if m.content | trim else '') + tool_calls(m) -}}{%- endif -%}
{{- ' ' + eos_token -}}
{%- else -%}
{%- set text = ('<tool_response>\n' + m.content + '\n</tool_response>') if m.role == 'tool' else (m.content | trim) -%}
{%- set sys = ('<<SYS>>\n' + ns.system + '\n<</SYS>>\n\n') if loop.first and ns.system else '' -%}
{{- bos_token + '[INST] ' + sys + text + ' [/INST]' -}}
{%- endif -%}
{%- endfor -%}
"#
    );

    /// ChatML: `<|im_start|>role\ncontent<|im_end|>`.
    pub const CHATML: &str = concat!(
        prelude!(),
        r#"
{%- if ns.system -%}{{- '<|im_start|>system\n' + ns.system + '<|im_end|>\n' -}}{%- endif -%}
{%- for m in turns -%}
{{- '<|im_start|>' + m.role + '\n' + m.content -}}
{%- if m.tool_calls -%}{{- ('\n' if m.content else '') + tool_calls(m) -}}{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}
"#
    );
}

#[cfg(test)]
mod tests {
    use super::strftime;

    #[test]
    fn strftime_formats_utc_dates() {
        assert_eq!(
            strftime("%Y-%m-%d %H:%M:%S %a %j", 0),
            "1970-01-01 00:00:00 Thu 001"
        );
        assert_eq!(
            strftime("%d %b %Y, %A %I:%M %p", 1_700_000_000),
            "14 Nov 2023, Tuesday 10:13 PM"
        );
        assert_eq!(strftime("%-d %B %y %%", 951_782_400), "29 February 00 %");
        assert_eq!(strftime("%j", 951_782_400), "060");
    }
}
