//! Chat templates: how conversational records become the strings a tokenizer sees.

use crate::records::{Message, Text};

/// Renders conversational text into the prompt and completion strings a tokenizer encodes.
///
/// Prompt + completion must concatenate to the full rendered conversation, as TRL obtains by
/// applying the chat template to the prompt (with a generation prompt) and to prompt +
/// completion, then taking the difference.
///
/// # References
/// TRL `trl/data_utils.py::apply_chat_template`.
pub trait ChatTemplate: Send + Sync {
    /// Renders the prompt messages, ending with the generation prompt of the assistant turn.
    fn render_prompt(&self, messages: &[Message]) -> String;
    /// Renders completion messages that follow the prompt.
    fn render_completion(&self, messages: &[Message]) -> String;

    /// Renders a prompt text: plain strings pass through unchanged.
    fn prompt(&self, text: &Text) -> String {
        match text {
            Text::Plain(s) => s.clone(),
            Text::Conversation(m) => self.render_prompt(m),
        }
    }

    /// Renders a completion text: plain strings pass through unchanged.
    fn completion(&self, text: &Text) -> String {
        match text {
            Text::Plain(s) => s.clone(),
            Text::Conversation(m) => self.render_completion(m),
        }
    }
}

/// ChatML, the default template:
///
/// ```text
/// <|im_start|>{role}\n{content}<|im_end|>\n       (each prompt message)
/// <|im_start|>assistant\n                          (generation prompt, ends the prompt)
/// {content}<|im_end|>\n                            (first completion message, if assistant)
/// ```
/// Later completion messages are rendered in full like prompt messages.
///
/// # References
/// ChatML (OpenAI), as used by Qwen2 tokenizers' `chat_template`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatMlTemplate;

impl ChatMlTemplate {
    fn push_message(out: &mut String, m: &Message) {
        out.push_str("<|im_start|>");
        out.push_str(&m.role);
        out.push('\n');
        out.push_str(&m.content);
        out.push_str("<|im_end|>\n");
    }
}

impl ChatTemplate for ChatMlTemplate {
    fn render_prompt(&self, messages: &[Message]) -> String {
        let mut out = String::new();
        for m in messages {
            Self::push_message(&mut out, m);
        }
        out.push_str("<|im_start|>assistant\n");
        out
    }

    fn render_completion(&self, messages: &[Message]) -> String {
        let mut out = String::new();
        for (i, m) in messages.iter().enumerate() {
            if i == 0 && m.role == "assistant" {
                out.push_str(&m.content);
                out.push_str("<|im_end|>\n");
            } else {
                Self::push_message(&mut out, m);
            }
        }
        out
    }
}
