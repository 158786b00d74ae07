//! Reading environment variables as typed values: every malformed value is refused with its name.

use super::SettingsError;

/// The environment a section is parsed from: values trimmed, empty ones as absent.
pub(super) struct Vars<'a> {
    var: &'a dyn Fn(&str) -> Option<String>,
}

pub(super) fn invalid(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        name,
        reason: reason.into(),
    }
}

impl<'a> Vars<'a> {
    pub fn new(var: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { var }
    }

    /// The value, trimmed; `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.var)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); unset is false.
    pub fn flag(&self, name: &'static str) -> Result<bool, SettingsError> {
        match self
            .get(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false" | "0" | "no" | "off") => Ok(false),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some(other) => Err(invalid(
                name,
                format!("expected true or false, got '{other}'"),
            )),
        }
    }

    /// An `http(s)://` URL without its trailing `/`, or `default`.
    pub fn url(
        &self,
        name: &'static str,
        default: Option<&str>,
    ) -> Result<Option<String>, SettingsError> {
        match self.get(name).or_else(|| default.map(str::to_owned)) {
            None => Ok(None),
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                Ok(Some(u.trim_end_matches('/').to_owned()))
            }
            Some(u) => Err(invalid(
                name,
                format!("expected an http(s):// URL, got '{u}'"),
            )),
        }
    }

    /// A whole number of at least `min`, or `default`.
    pub fn number(&self, name: &'static str, default: u64, min: u64) -> Result<u64, SettingsError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(invalid(
                    name,
                    format!("expected a whole number of at least {min}, got '{v}'"),
                )),
            },
        }
    }

    /// The same, as a `u32` (values past `u32::MAX` are refused).
    pub fn number_u32(
        &self,
        name: &'static str,
        default: u32,
        min: u32,
    ) -> Result<u32, SettingsError> {
        let n = self.number(name, u64::from(default), u64::from(min))?;
        u32::try_from(n)
            .map_err(|_| invalid(name, format!("expected at most {}, got {n}", u32::MAX)))
    }

    /// The same, as a `usize`.
    pub fn number_usize(
        &self,
        name: &'static str,
        default: usize,
        min: usize,
    ) -> Result<usize, SettingsError> {
        let n = self.number(name, default as u64, min as u64)?;
        usize::try_from(n).map_err(|_| invalid(name, format!("{n} is too large")))
    }
}
