//! Reading a comment's command: the line that addresses nectr, what it asks, and who may ask.

use crate::memory::model::MemoryKind;
use crate::memory::rule::ForbidRule;

/// The name comments call nectr by.
pub const MENTION: &str = "@nectr";
/// The slash form of a command (`/nectr review`).
pub const SLASH: &str = "/nectr";

/// The author associations that may command nectr.
pub const MEMBER_ASSOCIATIONS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// What a comment asks of nectr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `@nectr remember <text>`.
    Remember(String),
    /// `@nectr review`.
    Review,
    /// `@nectr pause`.
    Pause,
    /// `@nectr resume`.
    Resume,
    /// `@nectr describe`.
    Describe,
    /// `@nectr ask <question>`.
    Ask(String),
    /// `@nectr help`, or a command nectr does not know (named).
    Help { unknown: Option<String> },
}

/// The command in a comment: its first line that starts with `@nectr` (any case) followed by a
/// space or the end of the line; the rest of the comment belongs to `remember`'s text. `None` when
/// no line addresses nectr (a mention inside a sentence is not a command).
pub fn parse_command(body: &str) -> Option<Command> {
    let mut lines = body.lines();
    let rest = loop {
        let line = lines.next()?.trim_start();
        let addressed = [MENTION, SLASH].into_iter().find_map(|name| {
            let head = line.get(..name.len())?;
            let after = &line[name.len()..];
            (head.eq_ignore_ascii_case(name)
                && (after.is_empty() || after.starts_with(char::is_whitespace)))
            .then_some(after)
        });
        if let Some(after) = addressed {
            break after.trim_start();
        }
    };
    let (word, args) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(w, a)| (w, a));
    let word = word.to_ascii_lowercase();
    let remaining: Vec<&str> = lines.collect();
    let text = if remaining.is_empty() {
        args.trim().to_owned()
    } else {
        format!("{}\n{}", args, remaining.join("\n"))
            .trim()
            .to_owned()
    };
    Some(match word.as_str() {
        "remember" => Command::Remember(text),
        "review" => Command::Review,
        "pause" => Command::Pause,
        "resume" => Command::Resume,
        "describe" => Command::Describe,
        "ask" => Command::Ask(text),
        "" | "help" => Command::Help { unknown: None },
        other => Command::Help {
            unknown: Some(other.chars().take(40).collect()),
        },
    })
}

/// Whether a comment author with this association may command nectr.
pub fn may_command(association: Option<&str>) -> bool {
    association.is_some_and(|a| MEMBER_ASSOCIATIONS.contains(&a.to_ascii_uppercase().as_str()))
}

/// `remember`'s text as a kind and content: an explicit `rule:`, `pattern:` or `decision:` prefix,
/// else a rule.
pub fn kind_and_content(text: &str) -> (MemoryKind, &str) {
    if let Some((head, rest)) = text.split_once(':')
        && let Some(kind) = MemoryKind::parse(head)
        && kind != MemoryKind::Developer
        && !ForbidRule::looks_like_one(text)
    {
        return (kind, rest.trim());
    }
    (MemoryKind::Rule, text.trim())
}

pub(crate) const HELP: &str = "I understand (`/nectr …` works too):\n\n\
- `@nectr review`: review this pull request now, even a commit reviewed before;\n\
- `@nectr describe`: write a walkthrough of the change into the description (kept up to date in place);\n\
- `@nectr ask <question>`: an answer about this pull request (needs a model);\n\
- `@nectr pause` / `@nectr resume`: stop or restart automatic reviews of this pull request;\n\
- `@nectr help`: this list;\n\
- `@nectr remember <text>`: keep `<text>` as a rule for every review of this repository \
(start it with `pattern:` or `decision:` for those kinds);\n\
- `@nectr remember forbid \"<text or /regex/>\" in \"<glob>\": <why>`: flag added lines that \
contain the text in matching files, even without a model.";

/// The command's line, quoted in the reply (bounded).
pub(crate) fn quote_line(body: &str) -> String {
    let line = body
        .lines()
        .find(|l| l.trim_start().to_ascii_lowercase().starts_with(MENTION))
        .unwrap_or("")
        .trim();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_addressed_to_nectr_is_a_command() {
        assert_eq!(
            parse_command("@nectr remember forbid \"println!\" in \"src/**/*.rs\": use tracing"),
            Some(Command::Remember(
                "forbid \"println!\" in \"src/**/*.rs\": use tracing".into()
            ))
        );
        assert_eq!(
            parse_command("Thanks!\n\n@NECTR Remember decision: we keep SQLite\nfor dev."),
            Some(Command::Remember(
                "decision: we keep SQLite\nfor dev.".into()
            ))
        );
        assert_eq!(
            parse_command("@nectr"),
            Some(Command::Help { unknown: None })
        );
        assert_eq!(parse_command("/nectr review"), Some(Command::Review));
        assert_eq!(parse_command("Please:\n@nectr PAUSE"), Some(Command::Pause));
        assert_eq!(parse_command("/NECTR resume now"), Some(Command::Resume));
        assert_eq!(
            parse_command("@nectr frobnicate now"),
            Some(Command::Help {
                unknown: Some("frobnicate".into())
            })
        );
        for not_one in [
            "ask @nectr remember x",
            "@nectrbot remember x",
            "/nectrs review",
            "",
            "remember x",
        ] {
            assert_eq!(parse_command(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn nectr_s_own_replies_are_never_commands() {
        // A reply is itself an `issue_comment` delivery: it must not command nectr again.
        let quoted = format!(
            "> {}\n\nRemembered as rule #1.",
            quote_line("@nectr remember x")
        );
        for reply in [
            HELP,
            quoted.as_str(),
            "Thanks @someone! Only this repository's members ...",
        ] {
            assert_eq!(parse_command(reply), None, "{reply}");
        }
    }

    #[test]
    fn only_members_may_command() {
        for a in ["OWNER", "MEMBER", "COLLABORATOR", "member"] {
            assert!(may_command(Some(a)), "{a}");
        }
        for a in [
            Some("CONTRIBUTOR"),
            Some("FIRST_TIME_CONTRIBUTOR"),
            Some("NONE"),
            None,
        ] {
            assert!(!may_command(a), "{a:?}");
        }
    }

    #[test]
    fn a_prefix_names_the_kind_and_a_rule_is_the_default() {
        assert_eq!(
            kind_and_content("decision: we keep SQLite"),
            (MemoryKind::Decision, "we keep SQLite")
        );
        assert_eq!(
            kind_and_content("Pattern: errors are thiserror enums"),
            (MemoryKind::Pattern, "errors are thiserror enums")
        );
        assert_eq!(
            kind_and_content("use tracing"),
            (MemoryKind::Rule, "use tracing")
        );
        assert_eq!(
            kind_and_content("note: this is a rule"),
            (MemoryKind::Rule, "note: this is a rule")
        );
        let forbid = r#"forbid "x" in "*": rule: no"#;
        assert_eq!(kind_and_content(forbid), (MemoryKind::Rule, forbid));
    }
}
