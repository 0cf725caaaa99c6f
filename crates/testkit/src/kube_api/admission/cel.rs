//! The CEL subset of match conditions: field paths under `object`, `oldObject` and
//! `request`, string/bool/null literals, `==`, `!=`, `has()`, `!`, `&&`, `||` and parentheses.

use serde_json::Value;

pub(super) struct Vars<'a> {
    pub object: &'a Value,
    pub old_object: &'a Value,
    pub request: &'a Value,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Dot,
    LParen,
    RParen,
    Eq,
    Ne,
    And,
    Or,
    Not,
}

fn tokens(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '.' => {
                out.push(Token::Dot);
                i += 1;
            }
            '(' => {
                out.push(Token::LParen);
                i += 1;
            }
            ')' => {
                out.push(Token::RParen);
                i += 1;
            }
            '=' if next == Some('=') => {
                out.push(Token::Eq);
                i += 2;
            }
            '!' if next == Some('=') => {
                out.push(Token::Ne);
                i += 2;
            }
            '!' => {
                out.push(Token::Not);
                i += 1;
            }
            '&' if next == Some('&') => {
                out.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(Token::Or);
                i += 2;
            }
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or_else(|| format!("unterminated string at {i}"))?;
                out.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = chars[i..]
                    .iter()
                    .position(|d| !(d.is_ascii_alphanumeric() || *d == '_'))
                    .unwrap_or(chars.len() - i);
                out.push(Token::Ident(chars[i..i + len].iter().collect()));
                i += len;
            }
            other => return Err(format!("unsupported character {other:?} at {i}")),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    vars: &'a Vars<'a>,
}

/// An operand: a value, or a field that does not exist (an error if compared).
type Operand = Result<Value, String>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Operand, String> {
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            let right = self.and()?;
            left = match (truth(&left), truth(&right)) {
                (Ok(true), _) | (_, Ok(true)) => Ok(Value::Bool(true)),
                (Ok(false), Ok(false)) => Ok(Value::Bool(false)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Operand, String> {
        let mut left = self.unary()?;
        while self.eat(&Token::And) {
            let right = self.unary()?;
            left = match (truth(&left), truth(&right)) {
                (Ok(false), _) | (_, Ok(false)) => Ok(Value::Bool(false)),
                (Ok(true), Ok(true)) => Ok(Value::Bool(true)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Operand, String> {
        if self.eat(&Token::Not) {
            let inner = self.unary()?;
            return Ok(truth(&inner).map(|b| Value::Bool(!b)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Operand, String> {
        let left = self.primary()?;
        let negate = if self.eat(&Token::Eq) {
            false
        } else if self.eat(&Token::Ne) {
            true
        } else {
            return Ok(left);
        };
        let right = self.primary()?;
        Ok(match (left, right) {
            (Ok(l), Ok(r)) => Ok(Value::Bool((l == r) != negate)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        })
    }

    fn primary(&mut self) -> Result<Operand, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::LParen) => {
                self.at += 1;
                let inner = self.or()?;
                if !self.eat(&Token::RParen) {
                    return Err("expected )".into());
                }
                Ok(inner)
            }
            Some(Token::Str(s)) => {
                self.at += 1;
                Ok(Ok(Value::String(s)))
            }
            Some(Token::Ident(id)) if id == "has" => {
                self.at += 1;
                if !self.eat(&Token::LParen) {
                    return Err("expected ( after has".into());
                }
                let found = self.path()?;
                if !self.eat(&Token::RParen) {
                    return Err("expected ) after has(...".into());
                }
                Ok(Ok(Value::Bool(found.is_ok_and(|v| !v.is_null()))))
            }
            Some(Token::Ident(id)) if matches!(id.as_str(), "true" | "false" | "null") => {
                self.at += 1;
                Ok(Ok(match id.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::Null,
                }))
            }
            Some(Token::Ident(_)) => self.path(),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    fn path(&mut self) -> Result<Operand, String> {
        let Some(Token::Ident(root)) = self.tokens.get(self.at).cloned() else {
            return Err("expected a variable".into());
        };
        self.at += 1;
        let mut value = match root.as_str() {
            "object" => self.vars.object.clone(),
            "oldObject" => self.vars.old_object.clone(),
            "request" => self.vars.request.clone(),
            other => return Err(format!("undeclared reference to '{other}'")),
        };
        let mut missing = None;
        while self.eat(&Token::Dot) {
            let Some(Token::Ident(field)) = self.tokens.get(self.at).cloned() else {
                return Err("expected a field name after .".into());
            };
            self.at += 1;
            if missing.is_none() {
                match value.get(&field) {
                    Some(v) => value = v.clone(),
                    None => missing = Some(format!("no such key: {field}")),
                }
            }
        }
        Ok(match missing {
            Some(e) => Err(e),
            None => Ok(value),
        })
    }
}

fn truth(v: &Operand) -> Result<bool, String> {
    match v {
        Ok(Value::Bool(b)) => Ok(*b),
        Ok(other) => Err(format!("no matching overload: {other} is not a bool")),
        Err(e) => Err(e.clone()),
    }
}

/// Evaluates `src`.
pub(super) fn eval(src: &str, vars: &Vars<'_>) -> Result<Value, String> {
    let mut parser = Parser {
        tokens: tokens(src)?,
        at: 0,
        vars,
    };
    let value = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(format!("unexpected input after position {}", parser.at));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(src: &str, object: &Value) -> Result<Value, String> {
        let request = json!({"operation": "CREATE"});
        eval(
            src,
            &Vars {
                object,
                old_object: &Value::Null,
                request: &request,
            },
        )
    }

    #[test]
    fn the_manifest_conditions_evaluate() {
        let lb = json!({"spec": {"type": "LoadBalancer"}, "metadata": {"namespace": "web"}});
        let ip = json!({"spec": {"type": "ClusterIP"}});
        let cond = "object.spec.type == 'LoadBalancer'";
        assert_eq!(run(cond, &lb), Ok(json!(true)));
        assert_eq!(run(cond, &ip), Ok(json!(false)));
        assert_eq!(
            run(
                "has(object.spec.loadBalancerClass) && object.spec.type == \"LoadBalancer\"",
                &lb
            ),
            Ok(json!(false))
        );
        assert_eq!(
            run(
                "!has(object.spec.loadBalancerClass) || object.spec.loadBalancerClass == 'x'",
                &lb
            ),
            Ok(json!(true))
        );
        assert_eq!(
            run(
                "(request.operation != 'DELETE') && object.spec.type != 'ClusterIP'",
                &lb
            ),
            Ok(json!(true))
        );
    }

    #[test]
    fn missing_fields_and_bad_syntax_are_errors() {
        let empty = json!({"spec": {}});
        assert!(run("object.spec.type == 'LoadBalancer'", &empty).is_err());
        // `false && error` is false, as in CEL.
        assert_eq!(
            run("false && object.spec.type == 'x'", &empty),
            Ok(json!(false))
        );
        assert!(run("object.spec.type ==", &empty).is_err());
        assert!(run("size(object.spec) > 1", &empty).is_err());
        assert!(run("params.x == 'y'", &empty).is_err());
    }
}
