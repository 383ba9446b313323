//! HCL value types: variable type constraints (`string`, `list(number)`, `object({…})`) and cty-style conversions.

use std::collections::BTreeMap;

use hcl::edit::expr::Expression;
use hcl::{Number, Value};

/// A type constraint, as written in a `variable` block's `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    Any,
    String,
    Number,
    Bool,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>),
    Object(BTreeMap<String, Ty>),
    Tuple(Vec<Ty>),
}

impl Ty {
    /// Parses a type expression such as `map(list(string))`.
    pub(crate) fn parse(expr: &Expression) -> Result<Ty, String> {
        match expr {
            Expression::Variable(v) => match v.as_str() {
                "any" => Ok(Ty::Any),
                "string" => Ok(Ty::String),
                "number" => Ok(Ty::Number),
                "bool" => Ok(Ty::Bool),
                "list" | "set" | "map" => Ok(Ty::wrap(v.as_str(), Ty::Any)),
                other => Err(format!("unknown type \"{other}\"")),
            },
            Expression::FuncCall(call) => {
                let name = call.name.name.as_str();
                let args: Vec<&Expression> = call.args.iter().collect();
                if args.len() != 1 {
                    return Err(format!("type \"{name}\" takes exactly one argument"));
                }
                match name {
                    "list" | "set" | "map" => Ok(Ty::wrap(name, Ty::parse(args[0])?)),
                    "object" => {
                        let Expression::Object(obj) = args[0] else {
                            return Err("object type needs an object of attribute types: object({ name = string })".into());
                        };
                        let mut fields = BTreeMap::new();
                        for (k, v) in obj.iter() {
                            let key = match k {
                                hcl::edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                                hcl::edit::expr::ObjectKey::Expression(Expression::String(s)) => s.as_str().to_string(),
                                _ => return Err("object type attribute names must be identifiers".into()),
                            };
                            fields.insert(key, Ty::parse(v.expr())?);
                        }
                        Ok(Ty::Object(fields))
                    }
                    "tuple" => {
                        let Expression::Array(arr) = args[0] else {
                            return Err("tuple type needs a list of element types: tuple([string, number])".into());
                        };
                        Ok(Ty::Tuple(arr.iter().map(Ty::parse).collect::<Result<_, _>>()?))
                    }
                    other => Err(format!("unknown type constructor \"{other}\"")),
                }
            }
            _ => Err("a type must be a type keyword (string, number, bool, any) or constructor (list(…), map(…), …)".into()),
        }
    }

    fn wrap(name: &str, inner: Ty) -> Ty {
        match name {
            "list" => Ty::List(Box::new(inner)),
            "set" => Ty::Set(Box::new(inner)),
            _ => Ty::Map(Box::new(inner)),
        }
    }

    /// The type a variable takes from its default when it declares none.
    pub(crate) fn of(v: &Value) -> Ty {
        match v {
            Value::String(_) => Ty::String,
            Value::Number(_) => Ty::Number,
            Value::Bool(_) => Ty::Bool,
            _ => Ty::Any,
        }
    }

    /// Whether a `-var`/environment value is taken as a literal string rather than parsed as HCL
    /// (`None`: the variable declares no type and has no default).
    pub(crate) fn takes_literal_text(ty: Option<&Ty>) -> bool {
        matches!(ty, None | Some(Ty::String | Ty::Number))
    }
}

/// A short name of a value's kind, for error messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Converts a value to a type the way cty does (numbers and bools to strings and back).
pub(crate) fn convert(v: Value, ty: &Ty) -> Result<Value, String> {
    if v.is_null() {
        return Ok(v);
    }
    match ty {
        Ty::Any => Ok(v),
        Ty::String => to_string(&v).map(Value::String).ok_or_else(|| format!("a string is required, got a {}", kind_of(&v))),
        Ty::Number => to_number(&v).map(Value::Number).ok_or_else(|| format!("a number is required, got {}", describe(&v))),
        Ty::Bool => to_bool(&v).map(Value::Bool).ok_or_else(|| format!("a bool is required, got {}", describe(&v))),
        Ty::List(t) | Ty::Set(t) => {
            let Value::Array(items) = v else {
                return Err(format!("a list is required, got a {}", kind_of(&v)));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let c = convert(item, t).map_err(|e| format!("element {i}: {e}"))?;
                if !(matches!(ty, Ty::Set(_)) && out.contains(&c)) {
                    out.push(c);
                }
            }
            Ok(Value::Array(out))
        }
        Ty::Map(t) => {
            let Value::Object(obj) = v else {
                return Err(format!("a map is required, got a {}", kind_of(&v)));
            };
            let mut out = hcl::Map::new();
            for (k, item) in obj {
                let c = convert(item, t).map_err(|e| format!("element \"{k}\": {e}"))?;
                out.insert(k, c);
            }
            Ok(Value::Object(out))
        }
        Ty::Object(fields) => {
            let Value::Object(mut obj) = v else {
                return Err(format!("an object is required, got a {}", kind_of(&v)));
            };
            let mut out = hcl::Map::new();
            for (k, t) in fields {
                let item = obj.swap_remove(k).ok_or_else(|| format!("attribute \"{k}\" is required"))?;
                out.insert(k.clone(), convert(item, t).map_err(|e| format!("attribute \"{k}\": {e}"))?);
            }
            Ok(Value::Object(out))
        }
        Ty::Tuple(types) => {
            let Value::Array(items) = v else {
                return Err(format!("a tuple is required, got a {}", kind_of(&v)));
            };
            if items.len() != types.len() {
                return Err(format!("a tuple of {} elements is required, got {}", types.len(), items.len()));
            }
            let out = items.into_iter().zip(types).map(|(i, t)| convert(i, t)).collect::<Result<_, _>>()?;
            Ok(Value::Array(out))
        }
    }
}

/// A value's text for messages: strings quoted, others by kind.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("a {}", kind_of(other)),
    }
}

pub(crate) fn to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn to_number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(*n),
        Value::String(s) => parse_number(s.trim()),
        _ => None,
    }
}

pub(crate) fn parse_number(s: &str) -> Option<Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Some(Number::from(u));
    }
    // Only plain decimal notation, as cty accepts: no "inf", "nan" or hex.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    s.parse::<f64>().ok().and_then(Number::from_f64)
}

pub(crate) fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Converts an evaluated value to JSON (numbers stay integers when they are).
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Object(o) => serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// Converts JSON (from `jsondecode` or a JSON var file) to an HCL value.
pub(crate) fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                n.as_f64().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Ty {
        Ty::parse(&s.parse::<Expression>().unwrap()).unwrap()
    }

    #[test]
    fn parses_type_expressions() {
        assert_eq!(ty("string"), Ty::String);
        assert_eq!(ty("list(number)"), Ty::List(Box::new(Ty::Number)));
        assert_eq!(ty("map(list(string))"), Ty::Map(Box::new(Ty::List(Box::new(Ty::String)))));
        assert!(matches!(ty("object({ a = string, b = number })"), Ty::Object(f) if f.len() == 2));
        assert!(Ty::parse(&"strin".parse::<Expression>().unwrap()).is_err());
    }

    #[test]
    fn converts_like_cty() {
        assert_eq!(convert(Value::from(10), &Ty::String), Ok(Value::from("10")));
        assert_eq!(convert(Value::from("100"), &Ty::Number), Ok(Value::from(100)));
        assert_eq!(convert(Value::from("true"), &Ty::Bool), Ok(Value::Bool(true)));
        assert!(convert(Value::from("x"), &Ty::Number).is_err());
        assert!(convert(Value::from("x"), &Ty::List(Box::new(Ty::String))).is_err());
    }
}
