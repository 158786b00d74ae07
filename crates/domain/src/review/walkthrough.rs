//! `@nectr describe`: a walkthrough of what a pull request changes, grouped by area, written into
//! its description between nectr's markers and replaced there on the next `describe` (the author's
//! own text around it is kept).

use std::collections::BTreeMap;

use crate::review::codehost::ChangedFile;

/// Where the walkthrough starts in a description.
pub const START: &str = "<!-- nectr:walkthrough:start -->";
/// Where it ends.
pub const END: &str = "<!-- nectr:walkthrough:end -->";
/// Files listed per area, at most.
const FILES_PER_AREA: usize = 20;

/// A file's area: its first two directories (`crates/domain`), its directory, or `(root)`.
fn area(path: &str) -> String {
    let dirs: Vec<&str> = path.split('/').collect();
    match dirs.len() {
        0 | 1 => "(root)".to_owned(),
        2 => dirs[0].to_owned(),
        _ => format!("{}/{}", dirs[0], dirs[1]),
    }
}

/// The built-in, structured walkthrough: the files by area, each with its change.
pub fn structured(files: &[ChangedFile]) -> String {
    let mut areas: BTreeMap<String, Vec<&ChangedFile>> = BTreeMap::new();
    for f in files {
        areas.entry(area(&f.filename)).or_default().push(f);
    }
    let added: u64 = files.iter().map(|f| f.additions).sum();
    let removed: u64 = files.iter().map(|f| f.deletions).sum();
    let mut text = format!(
        "**{} file(s) changed** in {} area(s), +{added} −{removed}.\n",
        files.len(),
        areas.len()
    );
    for (name, files) in &areas {
        let (a, d): (u64, u64) = files
            .iter()
            .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
        text.push_str(&format!("\n**`{name}`** (+{a} −{d})\n"));
        for f in files.iter().take(FILES_PER_AREA) {
            let how = match f.status.as_str() {
                "renamed" => format!(
                    "renamed from `{}`",
                    f.previous_filename.as_deref().unwrap_or("?")
                ),
                other => other.to_owned(),
            };
            text.push_str(&format!(
                "- `{}`: {how}, +{} −{}\n",
                f.filename, f.additions, f.deletions
            ));
        }
        if files.len() > FILES_PER_AREA {
            text.push_str(&format!("- and {} more\n", files.len() - FILES_PER_AREA));
        }
    }
    text
}

/// `description` with the walkthrough section set to `walkthrough`: replaced where nectr's markers
/// are, else appended.
pub fn into_description(description: &str, walkthrough: &str) -> String {
    let section = format!(
        "{START}\n## Walkthrough (by nectr)\n\n{}\n{END}",
        walkthrough.trim()
    );
    match (description.find(START), description.find(END)) {
        (Some(start), Some(end)) if end > start => format!(
            "{}{section}{}",
            &description[..start],
            &description[end + END.len()..]
        ),
        _ if description.trim().is_empty() => section,
        _ => format!("{}\n\n{section}", description.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, status: &str, a: u64, d: u64) -> ChangedFile {
        ChangedFile {
            filename: name.into(),
            status: status.into(),
            additions: a,
            deletions: d,
            changes: a + d,
            patch: None,
            previous_filename: (status == "renamed").then(|| "old.rs".into()),
        }
    }

    #[test]
    fn files_are_grouped_by_area() {
        let text = structured(&[
            file("crates/domain/src/lib.rs", "modified", 3, 1),
            file("crates/domain/src/new.rs", "added", 10, 0),
            file("README.md", "modified", 1, 1),
            file("docs/a.md", "renamed", 0, 0),
        ]);
        assert!(
            text.starts_with("**4 file(s) changed** in 3 area(s), +14 −2."),
            "{text}"
        );
        assert!(text.contains(
            "**`crates/domain`** (+13 −1)\n- `crates/domain/src/lib.rs`: modified, +3 −1"
        ));
        assert!(text.contains("- `docs/a.md`: renamed from `old.rs`, +0 −0"));
        assert!(text.contains("**`(root)`**"));
    }

    #[test]
    fn the_section_is_replaced_in_place_and_the_author_s_text_kept() {
        let first = into_description("Fixes the loader.", "one");
        assert!(first.starts_with("Fixes the loader.\n\n<!-- nectr:walkthrough:start -->"));
        let second = into_description(&format!("{first}\n\nThanks!"), "two");
        assert_eq!(second.matches(START).count(), 1);
        assert!(
            second.contains("\n\ntwo\n") && !second.contains("\n\none\n"),
            "{second}"
        );
        assert!(second.starts_with("Fixes the loader.") && second.ends_with("Thanks!"));
        assert!(into_description("", "x").starts_with(START));
    }
}
