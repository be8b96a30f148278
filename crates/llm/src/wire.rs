//! The chat-completions wire format: the request we send and a lenient reading of the answer.
//!
//! The answer types take only what the adapter uses, default everything they can and ignore
//! the rest, because OpenAI-compatible servers differ in the fields they add or leave out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Upstream text quoted in an error is cut to this many characters.
pub(crate) const MAX_EXCERPT_CHARS: usize = 200;

#[derive(Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub temperature: f32,
    pub max_tokens: u32,
    pub messages: [Message<'a>; 2],
    pub response_format: &'a Value,
}

#[derive(Serialize)]
pub(crate) struct Message<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

#[derive(Deserialize)]
struct ChatCompletion {
    #[serde(default)]
    model: Option<Value>,
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<AssistantMessage>,
    #[serde(default)]
    finish_reason: Option<Value>,
}

#[derive(Deserialize)]
struct AssistantMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    refusal: Option<Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorDetail {
    Object {
        #[serde(default)]
        message: Option<String>,
    },
    Text(String),
}

/// What a 2xx body yielded: the reported model (if any) and the JSON object of the answer.
#[derive(Debug, PartialEq)]
pub(crate) struct Answer {
    pub model: Option<String>,
    pub content: serde_json::Map<String, Value>,
}

/// Reads a 2xx body as a chat completion whose first choice holds a JSON object.
///
/// The `Err` is the reason for `InvalidAnswer`: short, and quoting at most
/// [`MAX_EXCERPT_CHARS`] of what came back.
pub(crate) fn parse_answer(body: &[u8]) -> Result<Answer, String> {
    let completion: ChatCompletion = match serde_json::from_slice(body) {
        Ok(completion) => completion,
        Err(_) => {
            // Some proxies answer errors with a 200.
            if let Some(message) = error_message(body) {
                return Err(format!("the service answered an error: {message}"));
            }
            return Err(format!(
                "the body is not a chat completion: {}",
                excerpt(&String::from_utf8_lossy(body))
            ));
        }
    };
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err("the chat completion has no choices".to_owned());
    };
    let message = choice.message.unwrap_or(AssistantMessage {
        content: None,
        refusal: None,
    });
    if let Some(refusal) = message.refusal.as_ref().and_then(text_of) {
        return Err(format!("the model refused: {}", excerpt(&refusal)));
    }
    match choice.finish_reason.as_ref().and_then(Value::as_str) {
        Some("length") => {
            return Err(
                "the answer was cut off at the token limit (finish_reason \"length\")".into(),
            );
        }
        Some("content_filter") => {
            return Err("the answer was withheld by a content filter".into());
        }
        _ => {}
    }
    let Some(content) = message.content.as_ref().and_then(text_of) else {
        return Err("the answer has no text content".to_owned());
    };
    let json = strip_code_fence(&content);
    let value: Value = serde_json::from_str(json)
        .map_err(|_| format!("the answer is not JSON: {}", excerpt(json)))?;
    let Value::Object(content) = value else {
        return Err(format!(
            "the answer is not a JSON object: {}",
            excerpt(json)
        ));
    };
    let model = completion
        .model
        .as_ref()
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    Ok(Answer { model, content })
}

/// A string, or the concatenated `text` of an array of content parts (some servers answer
/// `[{"type": "text", "text": "..."}]`); `None` when empty or of another shape.
fn text_of(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

/// The JSON inside a Markdown code fence (```` ```json ... ``` ````), or the text trimmed.
fn strip_code_fence(text: &str) -> &str {
    let text = text.trim();
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    // The info string (`json`, `JSON`, nothing) runs to the end of the first line.
    let body = match rest.find('\n') {
        Some(newline) => &rest[newline + 1..],
        None => rest.trim_start_matches(|c: char| c.is_ascii_alphabetic()),
    };
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// The `error.message` (or string `error`) of an OpenAI-style error body, as an excerpt.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let message = match parsed.error {
        ErrorDetail::Object { message } => message?,
        ErrorDetail::Text(text) => text,
    };
    let message = excerpt(&message);
    (!message.is_empty()).then_some(message)
}

/// At most [`MAX_EXCERPT_CHARS`] of `text`, control characters and runs of whitespace
/// collapsed to one space, so that upstream text cannot forge log lines or bloat errors.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if chars > 0 {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars == MAX_EXCERPT_CHARS {
                out.push('…');
                return out;
            }
            out.push(c);
            chars += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn completion(message: Value, finish_reason: &str) -> Vec<u8> {
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": null}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            "system_fingerprint": "fp_x"
        })
        .to_string()
        .into_bytes()
    }

    fn content(text: &str) -> Vec<u8> {
        completion(
            json!({"role": "assistant", "content": text, "refusal": null}),
            "stop",
        )
    }

    #[test]
    fn a_json_object_answer_is_read_with_the_reported_model() {
        let answer = parse_answer(&content(r#"{"industry": "Software"}"#)).unwrap();
        assert_eq!(answer.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(answer.content["industry"], "Software");
    }

    #[test]
    fn minimal_servers_without_model_or_finish_reason_are_fine() {
        let body = br#"{"choices":[{"message":{"content":"{\"a\":1}"}}]}"#;
        let answer = parse_answer(body).unwrap();
        assert_eq!(answer.model, None);
        assert_eq!(answer.content["a"], 1);
    }

    #[test]
    fn content_parts_are_joined() {
        let body = completion(
            json!({"role": "assistant", "content": [{"type": "text", "text": "{\"a\":"}, {"type": "text", "text": "2}"}]}),
            "stop",
        );
        assert_eq!(parse_answer(&body).unwrap().content["a"], 2);
    }

    #[test]
    fn code_fences_are_stripped() {
        for fenced in [
            "```json\n{\"a\": 1}\n```",
            "  ```JSON\r\n{\"a\": 1}\r\n```  ",
            "```\n{\"a\": 1}\n```",
            "```json{\"a\": 1}```",
        ] {
            assert_eq!(
                parse_answer(&content(fenced)).unwrap().content["a"],
                1,
                "{fenced:?}"
            );
        }
    }

    #[test]
    fn unusable_answers_say_why() {
        let cases = [
            (content("{\"a\": "), "not JSON"),
            (content("[1, 2]"), "not a JSON object"),
            (content("\"text\""), "not a JSON object"),
            (content("   "), "no text content"),
            (
                completion(json!({"role": "assistant", "content": "{\"a\""}), "length"),
                "cut off",
            ),
            (
                completion(
                    json!({"role": "assistant", "content": null}),
                    "content_filter",
                ),
                "content filter",
            ),
            (
                completion(
                    json!({"role": "assistant", "content": null, "refusal": "I can't help with that."}),
                    "stop",
                ),
                "the model refused: I can't help with that.",
            ),
            (br#"{"choices": []}"#.to_vec(), "no choices"),
            (br#"{"foo": 1}"#.to_vec(), "not a chat completion"),
            (
                b"<html><body>Bad gateway</body></html>".to_vec(),
                "not a chat completion",
            ),
            (
                br#"{"error": {"message": "model overloaded"}}"#.to_vec(),
                "model overloaded",
            ),
        ];
        for (body, says) in cases {
            let reason = parse_answer(&body).unwrap_err();
            assert!(reason.contains(says), "{reason:?} should mention {says:?}");
        }
    }

    #[test]
    fn excerpts_are_short_and_single_line() {
        let long = format!("line1\n\r\tline2 {}", "x".repeat(500));
        let e = excerpt(&long);
        assert!(e.starts_with("line1 line2 x"));
        assert_eq!(e.chars().count(), MAX_EXCERPT_CHARS + 1);
        assert!(!e.contains('\n'));
        let reason = parse_answer(long.as_bytes()).unwrap_err();
        assert!(reason.chars().count() < MAX_EXCERPT_CHARS + 60);
    }

    #[test]
    fn error_bodies_yield_their_message() {
        assert_eq!(
            error_message(br#"{"error": {"message": "The model `x` does not exist", "type": "invalid_request_error"}}"#).as_deref(),
            Some("The model `x` does not exist")
        );
        assert_eq!(
            error_message(br#"{"error": "not found"}"#).as_deref(),
            Some("not found")
        );
        assert_eq!(error_message(b"nope"), None);
    }
}
