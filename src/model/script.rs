//! A small reader for the psql scripts in `sql/`: substitutes psql variables (`:'name'` as a
//! literal, `:"name"` as an identifier) outside quotes and comments, exactly where psql would,
//! and splits the text into statements, recognising `\gexec` (run the query, then run each
//! value it returns). Any other meta-command is an error: the binary must apply what psql
//! applies, no more and no less. Pure: no I/O.

use std::collections::BTreeMap;

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A statement, sent as is.
    Sql(String),
    /// A query whose result cells are statements to run in turn (psql's `\gexec`).
    Gexec(String),
}

impl Step {
    pub fn text(&self) -> &str {
        match self {
            Step::Sql(s) | Step::Gexec(s) => s,
        }
    }
}

/// Quotes an identifier like `quote_ident` / `%I` (always quoted: never wrong).
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a literal like `quote_literal` / `%L` with standard_conforming_strings on. A backslash
/// switches to the `E''` form, as PostgreSQL's own quote_literal does.
pub fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScriptError {
    #[error("{file}: variable :{name} is not set")]
    MissingVariable { file: String, name: String },
    #[error("{file}: unsupported psql meta-command \\{command}")]
    UnsupportedMeta { file: String, command: String },
    #[error("{file}: unterminated quote or comment")]
    Unterminated { file: String },
}

/// Renders `text` with `vars` and splits it into steps.
pub fn parse(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<Step>, ScriptError> {
    let chars: Vec<char> = text.chars().collect();
    let mut steps = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    let mut at_line_start = true;
    let err_unterminated = || ScriptError::Unterminated { file: file.to_string() };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // psql meta-command: a backslash at the start of a line (after optional blanks).
        if c == '\\' && at_line_start {
            let end = chars[i..].iter().position(|&ch| ch == '\n').map_or(chars.len(), |p| i + p);
            let line: String = chars[i + 1..end].iter().collect();
            let command = line.split_whitespace().next().unwrap_or("").to_string();
            if command == "gexec" {
                let q = cur.trim().to_string();
                if !q.is_empty() {
                    steps.push(Step::Gexec(q));
                }
                cur.clear();
                i = end;
                continue;
            }
            return Err(ScriptError::UnsupportedMeta { file: file.to_string(), command });
        }
        if !c.is_whitespace() {
            at_line_start = false;
        }
        match c {
            '\n' => {
                at_line_start = true;
                cur.push(c);
                i += 1;
            }
            '-' if next == Some('-') => {
                // Line comment: dropped.
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => return Err(err_unterminated()),
                    }
                }
                cur.push(' ');
            }
            '\'' | '"' => {
                let start = i;
                i += 1;
                loop {
                    match chars.get(i) {
                        Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                        None => return Err(err_unterminated()),
                    }
                }
                cur.extend(&chars[start..i]);
            }
            '$' if dollar_tag(&chars, i).is_some() => {
                let tag = dollar_tag(&chars, i).unwrap_or_default();
                let tag_chars: Vec<char> = tag.chars().collect();
                let start = i;
                i += tag_chars.len();
                loop {
                    if i >= chars.len() {
                        return Err(err_unterminated());
                    }
                    if chars[i..].starts_with(&tag_chars) {
                        i += tag_chars.len();
                        break;
                    }
                    i += 1;
                }
                cur.extend(&chars[start..i]);
            }
            ':' if next == Some(':') => {
                cur.push_str("::");
                i += 2;
            }
            ':' if matches!(next, Some('\'') | Some('"')) => {
                let quote = next.unwrap_or('\'');
                let name_start = i + 2;
                let name_end = chars[name_start..]
                    .iter()
                    .position(|&ch| !(ch.is_ascii_alphanumeric() || ch == '_'))
                    .map_or(chars.len(), |p| name_start + p);
                if chars.get(name_end) != Some(&quote) || name_end == name_start {
                    cur.push(c);
                    i += 1;
                    continue;
                }
                let name: String = chars[name_start..name_end].iter().collect();
                let value = vars.get(&name).ok_or_else(|| ScriptError::MissingVariable {
                    file: file.to_string(),
                    name: name.clone(),
                })?;
                cur.push_str(&if quote == '\'' {
                    quote_literal(value)
                } else {
                    quote_ident(value)
                });
                i = name_end + 1;
            }
            ';' => {
                cur.push(';');
                let stmt = cur.trim().to_string();
                if stmt != ";" {
                    steps.push(Step::Sql(stmt));
                }
                cur.clear();
                i += 1;
            }
            _ => {
                cur.push(c);
                i += 1;
            }
        }
    }
    if !cur.trim().is_empty() {
        steps.push(Step::Sql(cur.trim().to_string()));
    }
    Ok(steps)
}

/// `$tag$` starting at `i`, if any (tag: letters, digits, underscore; not starting with a digit).
fn dollar_tag(chars: &[char], i: usize) -> Option<String> {
    if i > 0 && (chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_') {
        return None; // part of an identifier like a$b
    }
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
        j += 1;
    }
    if chars.get(j) != Some(&'$') {
        return None;
    }
    if chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        return None; // $1 parameter
    }
    Some(chars[i..=j].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("db", "my-pg-db"), ("role", "o'brien\"x")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn variables_are_quoted_as_identifiers_and_literals() {
        let steps =
            parse("t", "GRANT CONNECT ON DATABASE :\"db\" TO x; SELECT :'role';", &vars()).unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Sql("GRANT CONNECT ON DATABASE \"my-pg-db\" TO x;".into()),
                Step::Sql("SELECT 'o''brien\"x';".into())
            ]
        );
    }

    #[test]
    fn nothing_is_substituted_inside_quotes_dollar_quotes_or_casts() {
        let text = "SELECT ':''db''', $f$ :'db'; $f$, 1::int;";
        let steps = parse("t", text, &vars()).unwrap();
        assert_eq!(steps, vec![Step::Sql(text.into())]);
    }

    #[test]
    fn gexec_turns_the_preceding_query_into_a_gexec_step() {
        let steps =
            parse("t", "SET ROLE x;\nSELECT 'CREATE DATABASE a'\n\\gexec\nRESET ROLE;", &vars())
                .unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Sql("SET ROLE x;".into()),
                Step::Gexec("SELECT 'CREATE DATABASE a'".into()),
                Step::Sql("RESET ROLE;".into())
            ]
        );
    }

    #[test]
    fn other_meta_commands_and_missing_variables_are_errors() {
        assert!(matches!(
            parse("t", "\\connect x\n", &vars()),
            Err(ScriptError::UnsupportedMeta { .. })
        ));
        assert!(matches!(
            parse("t", "SELECT :'nope';", &vars()),
            Err(ScriptError::MissingVariable { .. })
        ));
        assert!(matches!(
            parse("t", "SELECT 'open", &vars()),
            Err(ScriptError::Unterminated { .. })
        ));
    }

    #[test]
    fn literal_with_backslash_uses_escape_syntax() {
        assert_eq!(quote_literal("a\\b'c"), "E'a\\\\b''c'");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
