//! `toolConfig` against the Smithy shapes (`ToolConfiguration`, `Tool`, `ToolSpecification`,
//! `ToolChoice`): part of step 2 of Converse validation (bedrock-wire §4.3).

use bedrock_local_core::{ToolChoice, ToolSpec};
use serde_json::Value;

use super::coral::{join, optional, Coral};
use super::shape::{cache_point, tool_name};

const TOOL_MEMBERS: [&str; 3] = ["toolSpec", "systemTool", "cachePoint"];
const TOOL_CHOICE_MEMBERS: [&str; 3] = ["auto", "any", "tool"];

/// `toolConfig`, decoded.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Tools {
    /// The `toolSpec` tools, in order.
    pub specs: Vec<ToolSpec>,
    /// `toolChoice` (`auto` when absent).
    pub choice: ToolChoice,
    /// A provider-hosted `systemTool` was requested.
    pub system_tool: bool,
    /// A `tools` entry is a (valid) `cachePoint`.
    pub cache_point: bool,
}

/// Walks `toolConfig`.
pub(super) fn walk(c: &mut Coral, value: &Value) -> Option<Tools> {
    const PATH: &str = "toolConfig";
    let object = c.object(value, PATH)?;
    let mut tools = Tools::default();
    if let Some(list) = c.required(object, "tools", PATH) {
        let path = join(PATH, "tools");
        let items = c.list(list, &path)?;
        if items.is_empty() {
            c.violation(
                list,
                &path,
                "Member must have length greater than or equal to 1",
            );
        }
        for (i, item) in items.iter().enumerate() {
            let tool_path = join(&path, i);
            match c.union(item, &tool_path, &TOOL_MEMBERS) {
                Some(("toolSpec", spec)) => {
                    if let Some(spec) = tool_spec(c, spec, &join(&tool_path, "toolSpec")) {
                        tools.specs.push(spec);
                    }
                }
                Some(("systemTool", sys)) => {
                    let sys_path = join(&tool_path, "systemTool");
                    if let Some(obj) = c.object(sys, &sys_path) {
                        if let Some(name) = c.required(obj, "name", &sys_path) {
                            tool_name(c, name, &join(&sys_path, "name"));
                        }
                    }
                    tools.system_tool = true;
                }
                Some((_, point)) => {
                    tools.cache_point |= cache_point(c, point, &join(&tool_path, "cachePoint"));
                }
                None => {}
            }
        }
    }
    if let Some(choice) = optional(object, "toolChoice") {
        let path = join(PATH, "toolChoice");
        tools.choice = match c.union(choice, &path, &TOOL_CHOICE_MEMBERS) {
            Some(("tool", specific)) => {
                let tool_path = join(&path, "tool");
                c.object(specific, &tool_path)
                    .and_then(|obj| c.required(obj, "name", &tool_path))
                    .and_then(|name| tool_name(c, name, &join(&tool_path, "name")))
                    .map_or(ToolChoice::Auto, ToolChoice::Tool)
            }
            Some(("any", inner)) => {
                c.object(inner, &join(&path, "any"));
                ToolChoice::Any
            }
            Some((_, inner)) => {
                c.object(inner, &join(&path, "auto"));
                ToolChoice::Auto
            }
            None => ToolChoice::Auto,
        };
    }
    Some(tools)
}

fn tool_spec(c: &mut Coral, value: &Value, path: &str) -> Option<ToolSpec> {
    let object = c.object(value, path)?;
    let name = c
        .required(object, "name", path)
        .and_then(|v| tool_name(c, v, &join(path, "name")));
    let description = optional(object, "description").and_then(|d| {
        let d_path = join(path, "description");
        let s = c.string(d, &d_path)?;
        c.min_length(d, s, &d_path, 1).then(|| s.to_owned())
    });
    let schema = c.required(object, "inputSchema", path).and_then(|s| {
        let s_path = join(path, "inputSchema");
        c.union(s, &s_path, &["json"])
            .map(|(_, json)| json.to_string())
    });
    if let Some(strict) = optional(object, "strict") {
        c.boolean(strict, &join(path, "strict"));
    }
    Some(ToolSpec {
        name: name?,
        description,
        input_schema_json: schema?,
    })
}
