//! Expansion of `$name` references in parameter values, as Postfix's
//! `mac_expand()` does it for `postconf -x`.
//!
//! Supported forms: `$name`, `${name}`, `$(name)`, `$$`, the conditionals
//! `${name?value}`, `${name:value}`, `${name?{value}}`, `${name:{value}}`,
//! `${name?{value}:{other}}` (`?` when the parameter's value is non-empty,
//! `:` when it is empty or unset), and the comparisons
//! `${{a} == {b}?{yes}:{no}}` with `==`, `!=`, `<`, `<=`, `>`, `>=`.
//! Values found by lookup are expanded in turn, up to a nesting limit. The
//! error texts are those of Postfix's warnings.

/// How deep lookups may nest before expansion gives up, as in Postfix.
const NESTING_LIMIT: usize = 100;

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `${` or `$(` (or a `{` inside one) without its closing bracket.
    #[error("truncated macro reference: \"{0}\"")]
    Truncated(String),
    /// A `$` not followed by a name, or `${}`.
    #[error("empty macro name: \"{0}\"")]
    EmptyName(String),
    /// References nested deeper than the limit, as with `a = $b`, `b = $a`.
    #[error("unreasonable macro call nesting: \"{0}\"")]
    Nesting(String),
    /// Some other malformed reference, in Postfix's wording.
    #[error("{0}")]
    Syntax(String),
}

/// Looks up a parameter's raw value; `None` when it is unset.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Expands `value`, resolving each referenced name through `lookup` (which
/// returns the raw, unexpanded value, or `None` when the parameter is unset;
/// unset names expand to the empty string).
pub fn expand(value: &str, lookup: &Lookup<'_>) -> Result<String, ExpandError> {
    Expander { lookup }.text(value, 0)
}

/// One expansion run.
struct Expander<'l, 'a> {
    lookup: &'l Lookup<'a>,
}

/// Is `c` allowed in a parameter name?
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The length of the bracketed text that starts just after `open` in `text`,
/// counting nested pairs of the same bracket; `None` when it never closes.
fn matching_close(text: &str, open: char) -> Option<usize> {
    let close = if open == '{' { '}' } else { ')' };
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Postfix's "... at" context: `"...BEFORE>>>AFTER"`.
fn at(message: &str, before: &str, after: &str) -> ExpandError {
    ExpandError::Syntax(format!("{message} at: \"...{before}>>>{after}\""))
}

impl Expander<'_, '_> {
    // Expands every reference in `text`.
    fn text(&self, text: &str, level: usize) -> Result<String, ExpandError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let first = after.chars().next();
            rest = match first {
                Some('$') => {
                    out.push('$');
                    &after[1..]
                }
                Some(open @ ('{' | '(')) => {
                    let inner = &after[1..];
                    let len = matching_close(inner, open)
                        .ok_or_else(|| ExpandError::Truncated(text.to_string()))?;
                    out.push_str(&self.reference(&inner[..len], text, level)?);
                    &inner[len + 1..]
                }
                Some(c) if is_name_char(c) => {
                    let len = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
                    out.push_str(&self.parameter(&after[..len], level)?);
                    &after[len..]
                }
                _ => return Err(ExpandError::EmptyName(text.to_string())),
            };
        }
        out.push_str(rest);
        Ok(out)
    }

    // The expanded value of parameter `name`.
    fn parameter(&self, name: &str, level: usize) -> Result<String, ExpandError> {
        if level >= NESTING_LIMIT {
            return Err(ExpandError::Nesting(name.to_string()));
        }
        match (self.lookup)(name) {
            Some(value) => self.text(&value, level + 1),
            None => Ok(String::new()),
        }
    }

    // Expands the inside of `${...}` or `$(...)`; `whole` is the text being
    // expanded, for messages.
    fn reference(&self, inner: &str, whole: &str, level: usize) -> Result<String, ExpandError> {
        let inner = inner.trim_start();
        if inner.starts_with('{') {
            let (holds, rest) = self.comparison(inner, whole, level)?;
            return self.conditional(holds, rest, whole, level);
        }
        let len = inner.find(|c| !is_name_char(c)).unwrap_or(inner.len());
        if len == 0 {
            return Err(ExpandError::EmptyName(whole.to_string()));
        }
        let (name, rest) = inner.split_at(len);
        let rest = rest.trim_start();
        if rest.is_empty() {
            return self.parameter(name, level);
        }
        if !rest.starts_with(['?', ':']) {
            return Err(at("attribute name syntax error", name, &inner[len..]));
        }
        let defined = (self.lookup)(name).is_some_and(|value| !value.is_empty());
        self.conditional(defined, rest, whole, level)
    }

    // Expands `?value`, `:value`, `?{value}`, `:{value}` or
    // `?{value}:{other}` (or nothing at all) for a condition that `holds`.
    fn conditional(
        &self,
        holds: bool,
        clause: &str,
        whole: &str,
        level: usize,
    ) -> Result<String, ExpandError> {
        let operator = clause.chars().next().unwrap_or(' ');
        if operator != '?' && operator != ':' {
            return Err(at("unexpected input", "", clause));
        }
        let body = &clause[1..];
        let (first, rest) = match braced(body.trim_start(), whole)? {
            Some(split) => split,
            None => (body, ""),
        };
        let rest = rest.trim_start();
        let (when_true, when_false) = match (operator, rest.chars().next()) {
            ('?', None) => (Some(first), None),
            (':', None) => (None, Some(first)),
            ('?', Some(':')) => {
                let other = &rest[1..];
                let other = match braced(other.trim_start(), whole)? {
                    Some((text, after)) if after.trim().is_empty() => text,
                    Some((text, after)) => return Err(at("unexpected input", &tail(text), after)),
                    None => other,
                };
                (Some(first), Some(other))
            }
            ('?', Some(_)) => return Err(at("\":\" expected", &tail(first), rest)),
            _ => return Err(at("unexpected input", &tail(first), rest)),
        };
        match if holds { when_true } else { when_false } {
            Some(text) => self.text(text, level),
            None => Ok(String::new()),
        }
    }

    // Evaluates `{a} OP {b}` at the start of `inner`; returns whether it holds
    // and the text after it.
    fn comparison<'t>(
        &self,
        inner: &'t str,
        whole: &str,
        level: usize,
    ) -> Result<(bool, &'t str), ExpandError> {
        let truncated = || ExpandError::Truncated(whole.to_string());
        let (left, rest) = braced(inner, whole)?.ok_or_else(truncated)?;
        let rest = rest.trim_start();
        let operator = ["==", "!=", "<=", ">=", "<", ">"]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(|| at("missing operator", &tail(left), rest))?;
        let rest = rest[operator.len()..].trim_start();
        let (right, rest) =
            braced(rest, whole)?.ok_or_else(|| at("missing operand", operator, rest))?;
        let left = self.text(left, level)?;
        let right = self.text(right, level)?;
        let holds = match operator {
            "==" => left == right,
            "!=" => left != right,
            _ => {
                let number = |text: &str| {
                    text.parse::<i64>().map_err(|_| {
                        ExpandError::Syntax(format!("non-numeric operand: \"{text}\""))
                    })
                };
                let (l, r) = (number(&left)?, number(&right)?);
                match operator {
                    "<" => l < r,
                    "<=" => l <= r,
                    ">" => l > r,
                    _ => l >= r,
                }
            }
        };
        Ok((holds, rest.trim_start()))
    }
}

/// When `text` starts with `{`, the trimmed text inside the braces and the
/// text after the closing brace.
fn braced<'t>(text: &'t str, whole: &str) -> Result<Option<(&'t str, &'t str)>, ExpandError> {
    let Some(inner) = text.strip_prefix('{') else {
        return Ok(None);
    };
    let len =
        matching_close(inner, '{').ok_or_else(|| ExpandError::Truncated(whole.to_string()))?;
    Ok(Some((inner[..len].trim(), &inner[len + 1..])))
}

/// The last character of a braced text and its closing brace, as Postfix
/// shows the context before an error.
fn tail(text: &str) -> String {
    let start = text.char_indices().next_back().map_or(0, |(i, _)| i);
    format!("{}}}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Option<String> {
        let value = match name {
            "myorigin" => "b c d",
            "myhostname" => "h",
            "empty" => "",
            "chain" => "$myhostname.$myorigin",
            "loop_a" => "$loop_b",
            "loop_b" => "x$loop_a",
            _ => return None,
        };
        Some(value.to_string())
    }

    fn x(value: &str) -> Result<String, ExpandError> {
        expand(value, &table)
    }

    #[test]
    fn plain_references() {
        assert_eq!(x("$myorigin.x").unwrap(), "b c d.x");
        assert_eq!(x("$myhostname$myhostname").unwrap(), "hh");
        assert_eq!(x("${myhostname}x $(myhostname)").unwrap(), "hx h");
        assert_eq!(x("${ myhostname}").unwrap(), "h");
        assert_eq!(x("$my-hostname").unwrap(), "-hostname");
        assert_eq!(x("$nosuch|$1").unwrap(), "|");
        assert_eq!(x("a$$b $$").unwrap(), "a$b $");
        assert_eq!(x("$chain").unwrap(), "h.b c d");
    }

    #[test]
    fn conditionals() {
        assert_eq!(x("${myorigin?{yes}:{no}}").unwrap(), "yes");
        assert_eq!(x("${nosuch?{yes}:{no}}").unwrap(), "no");
        assert_eq!(x("${empty?{a}:{b}} ${empty:{a}}").unwrap(), "b a");
        assert_eq!(x("${myorigin:v}|${nosuch:v}").unwrap(), "|v");
        assert_eq!(x("[${myorigin?  a  }]").unwrap(), "[  a  ]");
        assert_eq!(x("[${myorigin? {a}  }]").unwrap(), "[a]");
        assert_eq!(x("${myorigin?{a} : {b}}").unwrap(), "a");
        assert_eq!(x("[${empty?{a} : b c }]").unwrap(), "[ b c ]");
        assert_eq!(x("${empty?{a}:{$myhostname}}").unwrap(), "h");
        assert_eq!(x("${myorigin?{x{y}z}}").unwrap(), "x{y}z");
        assert_eq!(x("${myorigin?a}}").unwrap(), "a}");
        assert_eq!(x("${myorigin?{ $myhostname }}").unwrap(), "h");
        assert_eq!(x("$(myhostname?a)").unwrap(), "a");
        assert_eq!(x("${myorigin?{}}|${myorigin?}").unwrap(), "|");
    }

    #[test]
    fn comparisons() {
        assert_eq!(x("${{$myhostname} == {h}?{eq}:{ne}}").unwrap(), "eq");
        assert_eq!(x("${{$myhostname} != {h}?{eq}:{ne}}").unwrap(), "ne");
        assert_eq!(x("${{10} < {9}?{lt}:{ge}}").unwrap(), "ge");
        assert!(x("${{a} < {9}?{lt}}").is_err());
    }

    #[test]
    fn errors_use_postfix_wording() {
        assert_eq!(x("a$").unwrap_err().to_string(), "empty macro name: \"a$\"");
        assert_eq!(
            x("${}").unwrap_err().to_string(),
            "empty macro name: \"${}\""
        );
        assert_eq!(
            x("${myorigin").unwrap_err().to_string(),
            "truncated macro reference: \"${myorigin\""
        );
        assert_eq!(
            x("$(myhostname}").unwrap_err(),
            ExpandError::Truncated("$(myhostname}".into())
        );
        assert_eq!(
            x("${myorigin?{a}").unwrap_err(),
            ExpandError::Truncated("${myorigin?{a}".into())
        );
        assert_eq!(
            x("${myorigin x}").unwrap_err().to_string(),
            "attribute name syntax error at: \"...myorigin>>> x\""
        );
        assert_eq!(
            x("${myorigin?{a}:{b}:{c}}").unwrap_err().to_string(),
            "unexpected input at: \"...b}>>>:{c}\""
        );
        assert_eq!(
            x("${myorigin?{a}x}").unwrap_err().to_string(),
            "\":\" expected at: \"...a}>>>x\""
        );
        assert!(matches!(x("$loop_a"), Err(ExpandError::Nesting(_))));
        assert!(x("${{a} == {a}}").is_err());
    }
}
