//! Unified diffs as git prints them: files (renames, binaries, deletions), hunks and numbered lines,
//! and the map of lines a review may comment on (the RIGHT side: added and context lines). The parser
//! never panics: whatever it cannot read it skips.

use std::collections::HashMap;

use crate::review::codehost::ChangedFile;

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Added,
    Deleted,
    Modified,
    Renamed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Added,
    Removed,
    Context,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    /// Line number in the old file (removed and context lines).
    pub old_no: Option<u32>,
    /// Line number in the new file (added and context lines).
    pub new_no: Option<u32>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    /// What the header names after its ranges (Git's enclosing function or module, such as
    /// `mod tests {`); empty when it names nothing.
    pub section: String,
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path before the change (`None` for an added file).
    pub old_path: Option<String>,
    /// The path after the change (`None` for a deleted file).
    pub new_path: Option<String>,
    pub status: FileStatus,
    pub binary: bool,
    pub hunks: Vec<Hunk>,
    /// Set on a part of a file too large for one review request: it holds some of its hunks only.
    pub split: bool,
}

impl FileDiff {
    /// The path reviews name: the new one, else the old one.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }

    pub fn added_lines(&self) -> impl Iterator<Item = &DiffLine> {
        self.hunks
            .iter()
            .flat_map(|h| h.lines.iter())
            .filter(|l| l.kind == LineKind::Added)
    }

    pub fn additions(&self) -> usize {
        self.added_lines().count()
    }

    pub fn deletions(&self) -> usize {
        self.hunks
            .iter()
            .flat_map(|h| h.lines.iter())
            .filter(|l| l.kind == LineKind::Removed)
            .count()
    }
}

/// Strips git's `a/` or `b/` prefix and surrounding quotes; `/dev/null` is no path.
fn clean_path(raw: &str) -> Option<String> {
    let raw = raw
        .trim_end_matches('\t')
        .split('\t')
        .next()
        .unwrap_or("")
        .trim();
    let raw = raw.trim_matches('"');
    if raw == "/dev/null" || raw.is_empty() {
        return None;
    }
    let path = raw
        .strip_prefix("a/")
        .or_else(|| raw.strip_prefix("b/"))
        .unwrap_or(raw);
    Some(path.to_owned())
}

/// The section a hunk header names after `@@ … @@`.
fn hunk_section(line: &str) -> String {
    line.strip_prefix("@@ -")
        .and_then(|rest| rest.split_once(" @@"))
        .map(|(_, section)| section.trim().to_owned())
        .unwrap_or_default()
}

/// `@@ -old_start[,old_len] +new_start[,new_len] @@`
fn parse_hunk_header(line: &str) -> Option<(u32, u32, u32, u32)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((start, len)) => Some((start.parse().ok()?, len.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (old_start, old_len) = range(old)?;
    let (new_start, new_len) = range(new)?;
    Some((old_start, old_len, new_start, new_len))
}

/// Parses a unified diff. Text outside any `diff --git` section is ignored; so is anything malformed.
pub fn parse(diff: &str) -> Vec<FileDiff> {
    let mut files: Vec<FileDiff> = Vec::new();
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            // `a/x b/x`: reliable only without spaces in paths; the ---/+++ and rename lines correct it.
            let (old, new) = rest
                .split_once(" b/")
                .map_or((None, None), |(a, b)| (clean_path(a), clean_path(b)));
            files.push(FileDiff {
                old_path: old,
                new_path: new,
                status: FileStatus::Modified,
                binary: false,
                hunks: Vec::new(),
                split: false,
            });
            continue;
        }
        let Some(file) = files.last_mut() else {
            continue;
        };
        if line.starts_with("new file mode") {
            file.status = FileStatus::Added;
            file.old_path = None;
        } else if line.starts_with("deleted file mode") {
            file.status = FileStatus::Deleted;
            file.new_path = None;
        } else if let Some(from) = line.strip_prefix("rename from ") {
            file.status = FileStatus::Renamed;
            file.old_path = Some(from.to_owned());
        } else if let Some(to) = line.strip_prefix("rename to ") {
            file.status = FileStatus::Renamed;
            file.new_path = Some(to.to_owned());
        } else if line.starts_with("Binary files ") || line == "GIT binary patch" {
            file.binary = true;
        } else if let Some(old) = line.strip_prefix("--- ") {
            if file.hunks.is_empty() {
                file.old_path = clean_path(old);
            }
        } else if let Some(new) = line.strip_prefix("+++ ") {
            if file.hunks.is_empty() {
                file.new_path = clean_path(new);
            }
        } else if let Some(header) = parse_hunk_header(line) {
            file.hunks
                .push(read_hunk(header, hunk_section(line), &mut lines));
        }
    }
    files
}

/// The lines of one hunk after its header, as many as the header counts (a `\ No newline` line
/// is skipped).
fn read_hunk(
    (old_start, old_len, new_start, new_len): (u32, u32, u32, u32),
    section: String,
    lines: &mut std::iter::Peekable<std::str::Lines<'_>>,
) -> Hunk {
    let mut hunk = Hunk {
        old_start,
        old_len,
        new_start,
        new_len,
        section,
        lines: Vec::new(),
    };
    let (mut old_no, mut new_no) = (old_start, new_start);
    let (mut old_left, mut new_left) = (old_len, new_len);
    while old_left > 0 || new_left > 0 {
        let Some(next) = lines.peek() else { break };
        let (kind, text) = match next.as_bytes().first() {
            Some(b'+') if new_left > 0 => (LineKind::Added, &next[1..]),
            Some(b'-') if old_left > 0 => (LineKind::Removed, &next[1..]),
            Some(b' ') if old_left > 0 && new_left > 0 => (LineKind::Context, &next[1..]),
            // An empty line stands for an empty context line in some diffs.
            None if old_left > 0 && new_left > 0 => (LineKind::Context, ""),
            Some(b'\\') => {
                lines.next(); // "\ No newline at end of file"
                continue;
            }
            _ => break,
        };
        let (old_line, new_line) = match kind {
            LineKind::Added => (None, Some(new_no)),
            LineKind::Removed => (Some(old_no), None),
            LineKind::Context => (Some(old_no), Some(new_no)),
        };
        if kind != LineKind::Added {
            old_no = old_no.saturating_add(1);
            old_left -= 1;
        }
        if kind != LineKind::Removed {
            new_no = new_no.saturating_add(1);
            new_left -= 1;
        }
        hunk.lines.push(DiffLine {
            kind,
            old_no: old_line,
            new_no: new_line,
            text: text.to_owned(),
        });
        lines.next();
    }
    while lines.peek().is_some_and(|l| l.starts_with('\\')) {
        lines.next();
    }
    hunk
}

/// A file of the code host's changed-files list (whose `patch` holds only the hunks) as a
/// [`FileDiff`]. A file without a patch (binary, or too large for the host to show) has no hunks.
pub fn from_changed_file(file: &ChangedFile) -> FileDiff {
    let new = &file.filename;
    let old = file.previous_filename.as_deref().unwrap_or(new);
    let mut text = format!("diff --git a/{old} b/{new}\n");
    match file.status.as_str() {
        "added" => text.push_str(&format!(
            "new file mode 100644\n--- /dev/null\n+++ b/{new}\n"
        )),
        "removed" => text.push_str(&format!(
            "deleted file mode 100644\n--- a/{old}\n+++ /dev/null\n"
        )),
        "renamed" => text.push_str(&format!(
            "rename from {old}\nrename to {new}\n--- a/{old}\n+++ b/{new}\n"
        )),
        _ => text.push_str(&format!("--- a/{old}\n+++ b/{new}\n")),
    }
    if let Some(patch) = &file.patch {
        text.push_str(patch);
        text.push('\n');
    }
    parse(&text).pop().unwrap_or_else(|| FileDiff {
        old_path: Some(old.to_owned()),
        new_path: Some(new.clone()),
        status: FileStatus::Modified,
        binary: false,
        hunks: Vec::new(),
        split: false,
    })
}

/// Which (path, line) pairs on the RIGHT side of a diff a review comment may be placed on, and in
/// which hunk, so that a range is accepted only within one hunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMap {
    /// path -> line -> hunk index
    lines: HashMap<String, HashMap<u32, usize>>,
}

impl LineMap {
    pub fn new(files: &[FileDiff]) -> Self {
        let mut lines: HashMap<String, HashMap<u32, usize>> = HashMap::new();
        for file in files.iter().filter(|f| f.new_path.is_some()) {
            let entry = lines.entry(file.path().to_owned()).or_default();
            for (index, hunk) in file.hunks.iter().enumerate() {
                for line in &hunk.lines {
                    if let Some(n) = line.new_no {
                        entry.insert(n, index);
                    }
                }
            }
        }
        Self { lines }
    }

    /// Whether a comment on `line` of `path` (RIGHT side) lands in the diff.
    pub fn contains(&self, path: &str, line: u32) -> bool {
        self.lines.get(path).is_some_and(|l| l.contains_key(&line))
    }

    /// Takes `line` of `path` out of the map (the code host refused a comment there).
    pub fn forget(&mut self, path: &str, line: u32) {
        if let Some(lines) = self.lines.get_mut(path) {
            lines.remove(&line);
        }
    }

    /// Whether lines `start..=end` of `path` are all in the diff and in one hunk.
    pub fn contains_range(&self, path: &str, start: u32, end: u32) -> bool {
        let Some(lines) = self.lines.get(path) else {
            return false;
        };
        let Some(hunk) = lines.get(&start) else {
            return false;
        };
        start <= end && (start..=end).all(|n| lines.get(&n) == Some(hunk))
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
