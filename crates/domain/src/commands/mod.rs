//! `@nectr …` (or `/nectr …`) commands in pull-request comments, who may give them, and the use
//! case a queued comment runs: it reads the comment from the stored delivery, reacts 👀, does what
//! it asks and answers with a reply on the pull request.
//!
//! - `remember <text>` stores `<text>` as an active memory of the repository: a `rule` unless it
//!   starts with `pattern:`, `decision:` or `rule:`; `forbid "…" in "…": …` must read as a rule.
//! - `review`: a full review now, even of a head commit reviewed before.
//! - `describe`: a walkthrough written into the description (the model's prose, or the built-in
//!   reviewer's list by area); `ask <question>`: the model's answer.
//! - `pause` / `resume`: automatic reviews of this pull request.
//! - `help`, and any command nectr does not know: the list.
//!
//! Only the repository's members (author association `OWNER`, `MEMBER` or `COLLABORATOR`) may
//! command; anyone else is answered politely and nothing is done.
//!
//! [`parse`] reads a comment's command; [`answer`] is the use case a queued comment runs.

pub mod answer;
pub mod parse;

pub use answer::AnswerComment;
pub use parse::{Command, MEMBER_ASSOCIATIONS, MENTION, SLASH, may_command, parse_command};
