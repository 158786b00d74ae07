//! Context for a review beyond the diff: the issues a pull request says it fixes, and the repository's
//! own review instructions.

/// Where a repository keeps instructions for nectr, read from the base branch (so a pull request
/// cannot rewrite the rules it is reviewed by), first found wins.
pub const INSTRUCTION_FILES: [&str; 2] = [".nectr/instructions.md", ".github/nectr.md"];

/// The most issues fetched for one review.
pub const MAX_LINKED_ISSUES: usize = 5;

/// Characters of an issue body or an instructions file given to the reviewer.
pub const MAX_CONTEXT_CHARS: usize = 4_000;

const KEYWORDS: [&str; 9] = [
    "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
];

/// The issue numbers a pull request description links with GitHub's closing keywords
/// (`fixes #12`, `Closes: #3`, `resolved #7`), in order, without repeats, at most
/// [`MAX_LINKED_ISSUES`]. References to other repositories (`owner/repo#1`) are not followed.
pub fn linked_issue_numbers(description: &str) -> Vec<u64> {
    let mut numbers = Vec::new();
    let words: Vec<&str> = description.split_whitespace().collect();
    for pair in words.windows(2) {
        let keyword = pair[0]
            .trim_end_matches(':')
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .to_ascii_lowercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            continue;
        }
        let Some(rest) = pair[1].strip_prefix('#') else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[digits.len()..];
        if !after.is_empty() && !after.starts_with(['.', ',', ';', ')', '!', '?']) {
            continue;
        }
        if let Ok(n) = digits.parse::<u64>()
            && n > 0
            && !numbers.contains(&n)
        {
            numbers.push(n);
        }
        if numbers.len() == MAX_LINKED_ISSUES {
            break;
        }
    }
    numbers
}

/// `text` cut to at most `max` characters on a character boundary, saying so when it was cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}\n[... cut at {max} characters]", &text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_keywords_link_issues() {
        assert_eq!(
            linked_issue_numbers(
                "Fixes #12, and closes: #3.\n\nResolved #7; see #99 and fix #12 again. Also (fixes #8)"
            ),
            [12, 3, 7, 8]
        );
    }

    #[test]
    fn other_references_do_not() {
        assert!(
            linked_issue_numbers("see #4, fixes acme/web#5, fixes #6abc, prefix#7 fixes#8")
                .is_empty()
        );
        assert!(linked_issue_numbers("").is_empty());
        let many = (1..20)
            .map(|n| format!("fixes #{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(linked_issue_numbers(&many).len(), MAX_LINKED_ISSUES);
    }

    #[test]
    fn truncation_is_on_a_character_boundary_and_says_so() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé\n[... cut at 2 characters]");
    }
}
