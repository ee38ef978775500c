//! Expansion of `$name` references in parameter values, as Postfix's
//! `mac_expand()` does it for `postconf -x`.
//!
//! Supported forms: `$name`, `${name}`, `$(name)`, `${name?value}`,
//! `${name:value}`, `${name?{value}}`, `${name:{value}}`,
//! `${name?{value}:{other}}` and `$$`. Values found by lookup are expanded in
//! turn, with a recursion limit.

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `${` or `$(` without its closing bracket.
    #[error("unterminated reference in \"{0}\"")]
    Unterminated(String),
    /// References nested deeper than the limit, as with `a = $b`, `b = $a`.
    #[error("parameter {0}: recursion limit exceeded")]
    Recursion(String),
    /// Some other malformed reference, with Postfix's wording where it has one.
    #[error("{0}")]
    Syntax(String),
}

/// Expands `value`, resolving each referenced name through `lookup` (which
/// returns the raw, unexpanded value, or `None` when the parameter is unset;
/// unset names expand to the empty string).
pub fn expand(
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    todo!()
}
