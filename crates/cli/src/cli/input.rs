//! Reading manifests: YAML or JSON files (or standard input for `-`), several documents per
//! file, `kind: List` (and `ServiceList`, `NodeList`, ...) flattened into their items.
//!
//! Errors name the file and the document (1-based, as counted by `---` separators, and the
//! item within a List), so a user can find the offending manifest.

use std::fmt;
use std::io::Read;

use k8s_openapi::api::core::v1::{Node, Service};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The path that means standard input.
pub const STDIN: &str = "-";

/// Where a manifest sits in its file: the document (1-based) and, inside a List, the item
/// (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DocumentRef {
    /// 1-based document number in the file.
    pub document: usize,
    /// 1-based item number when the document is a List.
    pub item: Option<usize>,
}

impl fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item {
            Some(item) => write!(f, "document {}, List item {item}", self.document),
            None => write!(f, "document {}", self.document),
        }
    }
}

/// A manifest could not be read or is not what the command needs. Displays as
/// `FILE: document N: what is wrong`.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file (or standard input) could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file, `<stdin>` for standard input.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid YAML or JSON.
    #[error("{file}: {doc}: not valid YAML or JSON: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The document.
        doc: DocumentRef,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A document is not a mapping (a scalar or a sequence at the top level).
    #[error(
        "{file}: {doc}: expected a Kubernetes object (a mapping with apiVersion and kind), found {found}"
    )]
    NotAnObject {
        /// The file.
        file: String,
        /// The document.
        doc: DocumentRef,
        /// What was found: "a string", "a sequence", ...
        found: &'static str,
    },
    /// A document has another `kind` than the command needs.
    #[error("{file}: {doc}: kind is {found}, expected {expected}")]
    WrongKind {
        /// The file.
        file: String,
        /// The document.
        doc: DocumentRef,
        /// The kind the command needs.
        expected: &'static str,
        /// The kind found (`(none)` when missing).
        found: String,
    },
    /// A document has the right kind but does not decode (a field of the wrong type, ...).
    #[error("{file}: {doc}: not a valid {kind}: {message}")]
    Decode {
        /// The file.
        file: String,
        /// The document.
        doc: DocumentRef,
        /// The kind.
        kind: &'static str,
        /// The field path and the problem.
        message: String,
    },
}

impl InputError {
    /// The file the error is about (`<stdin>` for standard input).
    pub fn file(&self) -> &str {
        match self {
            InputError::Read { file, .. }
            | InputError::Syntax { file, .. }
            | InputError::NotAnObject { file, .. }
            | InputError::WrongKind { file, .. }
            | InputError::Decode { file, .. } => file,
        }
    }
}

/// How a path is named in messages.
fn display_name(path: &str) -> String {
    if path == STDIN {
        "<stdin>".to_owned()
    } else {
        path.to_owned()
    }
}

fn read_text(path: &str) -> Result<String, InputError> {
    let file = display_name(path);
    if path == STDIN {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| InputError::Read { file, source })?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(|source| InputError::Read { file, source })
    }
}

/// Expands each path that is a directory into the manifest files (`.yaml`, `.yml`, `.json`)
/// directly inside it, sorted by name, as `kubectl apply -f DIR` does; other paths stay as
/// they are.
///
/// # Errors
/// [`InputError::Read`] when a directory cannot be listed.
pub fn expand_paths(paths: &[String]) -> Result<Vec<String>, InputError> {
    let mut out = Vec::new();
    for path in paths {
        let p = std::path::Path::new(path);
        if path == STDIN || !p.is_dir() {
            out.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(p).map_err(|source| InputError::Read {
            file: path.clone(),
            source,
        })?;
        let mut files: Vec<String> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file())
            .filter(|f| {
                f.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            })
            .map(|f| f.display().to_string())
            .collect();
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

/// Reads every object of a manifest file (`-` = standard input): YAML documents separated by
/// `---`, or a stream of JSON values; empty documents are skipped and Lists are flattened into
/// their items.
///
/// # Errors
/// [`InputError`] when the file cannot be read, is not YAML/JSON, or a document is not an object.
pub fn read_documents(path: &str) -> Result<Vec<Value>, InputError> {
    read_located(path).map(|docs| docs.into_iter().map(|(_, v)| v).collect())
}

/// Like [`read_documents`], with each object's place in the file.
///
/// # Errors
/// As [`read_documents`].
pub fn read_located(path: &str) -> Result<Vec<(DocumentRef, Value)>, InputError> {
    let text = read_text(path)?;
    parse_documents(&text, &display_name(path))
}

/// Splits manifest text into objects; `file` names the source in errors.
///
/// # Errors
/// As [`read_documents`].
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<(DocumentRef, Value)>, InputError> {
    let raw = if looks_like_json(text) {
        json_documents(text, file)?
    } else {
        yaml_documents(text, file)?
    };
    let mut out = Vec::new();
    for (i, value) in raw.into_iter().enumerate() {
        let document = i + 1;
        let doc = DocumentRef {
            document,
            item: None,
        };
        match value {
            Value::Null => {}
            Value::Object(_) if is_list(&value) => {
                let items = value
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (j, item) in items.into_iter().enumerate() {
                    let doc = DocumentRef {
                        document,
                        item: Some(j + 1),
                    };
                    if !item.is_object() {
                        return Err(InputError::NotAnObject {
                            file: file.to_owned(),
                            doc,
                            found: type_name(&item),
                        });
                    }
                    out.push((doc, item));
                }
            }
            Value::Object(_) => out.push((doc, value)),
            other => {
                return Err(InputError::NotAnObject {
                    file: file.to_owned(),
                    doc,
                    found: type_name(&other),
                });
            }
        }
    }
    Ok(out)
}

fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with(['{', '['])
}

fn json_documents(text: &str, file: &str) -> Result<Vec<Value>, InputError> {
    let mut docs = Vec::new();
    for (i, value) in serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .enumerate()
    {
        let value = value.map_err(|e| InputError::Syntax {
            file: file.to_owned(),
            doc: DocumentRef {
                document: i + 1,
                item: None,
            },
            message: e.to_string(),
        })?;
        docs.push(value);
    }
    Ok(docs)
}

fn yaml_documents(text: &str, file: &str) -> Result<Vec<Value>, InputError> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(de).map_err(|e| InputError::Syntax {
            file: file.to_owned(),
            doc: DocumentRef {
                document: i + 1,
                item: None,
            },
            message: e.to_string(),
        })?;
        docs.push(value);
    }
    Ok(docs)
}

/// `kind: List`, or a typed list such as `ServiceList`, with an `items` array.
fn is_list(value: &Value) -> bool {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    kind.ends_with("List") && value.get("items").is_some_and(Value::is_array)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// Decodes located objects of one `kind` into `T`, refusing any other kind.
///
/// # Errors
/// [`InputError::WrongKind`] for an object of another kind, [`InputError::Decode`] (with the
/// field path) for one that does not decode.
pub fn decode_all<T: DeserializeOwned>(
    docs: Vec<(DocumentRef, Value)>,
    file: &str,
    kind: &'static str,
) -> Result<Vec<T>, InputError> {
    docs.into_iter()
        .map(|(doc, value)| {
            let found = value.get("kind").and_then(Value::as_str);
            if found != Some(kind) {
                return Err(InputError::WrongKind {
                    file: file.to_owned(),
                    doc,
                    expected: kind,
                    found: found.map_or_else(|| "(none)".to_owned(), str::to_owned),
                });
            }
            serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let mut message = format!("{path}: {}", e.inner());
                if path.starts_with("metadata.annotations") {
                    message.push_str(
                        "; annotation values must be strings: quote them, e.g. \"true\" or \"10\"",
                    );
                }
                InputError::Decode {
                    file: file.to_owned(),
                    doc,
                    kind,
                    message,
                }
            })
        })
        .collect()
}

/// Reads the Services of a manifest file (`-` = standard input).
///
/// # Errors
/// As [`read_documents`], plus any document that is not a `kind: Service` or does not decode.
/// A file without documents gives an empty list, not an error.
pub fn read_services(path: &str) -> Result<Vec<Service>, InputError> {
    decode_all(read_located(path)?, &display_name(path), "Service")
}

/// Reads the Nodes of a manifest file (`-` = standard input).
///
/// # Errors
/// As [`read_services`], for `kind: Node`.
pub fn read_nodes(path: &str) -> Result<Vec<Node>, InputError> {
    decode_all(read_located(path)?, &display_name(path), "Node")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_skips_empty_documents_and_counts_them() {
        let docs = parse_documents("---\n---\nkind: Service\n---\nkind: Node\n", "f").unwrap();
        let refs: Vec<usize> = docs.iter().map(|(d, _)| d.document).collect();
        assert_eq!(refs, vec![2, 3]);
    }

    #[test]
    fn a_list_is_flattened_into_items() {
        let docs = parse_documents(
            r#"{"kind":"List","apiVersion":"v1","items":[{"kind":"Service"},{"kind":"Service"}]}"#,
            "f",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[1].0,
            DocumentRef {
                document: 1,
                item: Some(2)
            }
        );
        assert_eq!(docs[1].0.to_string(), "document 1, List item 2");
    }

    #[test]
    fn a_json_stream_is_several_documents() {
        let docs = parse_documents("{\"kind\":\"A\"}\n{\"kind\":\"B\"}", "f").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn a_scalar_document_is_not_an_object() {
        let e = parse_documents("kind: Service\n---\njust text\n", "svc.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "svc.yaml: document 2: expected a Kubernetes object (a mapping with apiVersion and \
             kind), found a string"
        );
    }

    #[test]
    fn a_syntax_error_names_file_and_document() {
        let e =
            parse_documents("kind: Service\n---\nmetadata: [unclosed\n", "svc.yaml").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("svc.yaml: document 2: not valid YAML or JSON"),
            "{e}"
        );
    }

    #[test]
    fn another_kind_is_refused_with_its_kind() {
        let docs = parse_documents("kind: Deployment\n", "d.yaml").unwrap();
        let e = decode_all::<Service>(docs, "d.yaml", "Service").unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.yaml: document 1: kind is Deployment, expected Service"
        );
    }

    #[test]
    fn an_unquoted_annotation_value_is_refused_with_its_path_and_a_hint() {
        let docs = parse_documents(
            "kind: Service\napiVersion: v1\nmetadata:\n  name: a\n  annotations:\n    \
             loadbalancer.openstack.org/x-forwarded-for: true\n",
            "a.yaml",
        )
        .unwrap();
        let e = decode_all::<Service>(docs, "a.yaml", "Service")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("metadata.annotations.loadbalancer.openstack.org/x-forwarded-for"),
            "{e}"
        );
        assert!(e.contains("quote them"), "{e}");
    }
}
